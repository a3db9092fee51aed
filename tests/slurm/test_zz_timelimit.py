"""The pilot over its time limit (submitted when this folder's first test started; see conftest)."""

from __future__ import annotations

import pytest
from slurm_helpers import Site, records, wait_for

pytestmark = pytest.mark.slurm


def test_a_pilot_over_its_time_limit_is_a_fault(timelimit_pilot: tuple[Site, str]) -> None:
    site, pilot = timelimit_pilot
    wait_for(lambda: site.states("SL_TIMELIMIT").get(pilot) == "TIMEOUT", timeout=150,
             what=f"pilot {pilot} to hit its one-minute time limit")
    batch = records(site.apfctl("status", "--queue", "SL_TIMELIMIT"))["SL_TIMELIMIT"]["batch"]
    assert (batch["ok"], batch["running"], batch["done_1h"], batch["fault_1h"]) == (True, 0, 0, 1)
