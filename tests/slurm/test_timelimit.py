"""The pilot over its time limit (submitted at collection; see conftest): a fault, in any test order."""

from __future__ import annotations

import pytest
from apfctl_slurm.batchstatus import Endpoint

from tests.slurm.slurm_helpers import Site, records, wait_for

pytestmark = pytest.mark.slurm


def test_a_pilot_over_its_time_limit_is_a_fault(timelimit_pilot: tuple[Site, str, float]) -> None:
    site, pilot, submitted = timelimit_pilot
    history = Endpoint.from_queue(site.loaded().queue("SL_TIMELIMIT"))

    def final_state() -> str | None:
        """From the history (sacct or the completion log: an hour), else squeue (MinJobAge)."""
        ended = {job.id: job.state for job in history.ended_jobs(submitted - 60)}
        state = ended.get(pilot) or site.states("SL_TIMELIMIT").get(pilot)
        return state if state not in (None, "PENDING", "CONFIGURING", "RUNNING", "COMPLETING") else None

    state = wait_for(final_state, timeout=150, what=f"pilot {pilot} to hit its one-minute time limit")
    assert state == "TIMEOUT"
    batch = records(site.apfctl("status", "--queue", "SL_TIMELIMIT"))["SL_TIMELIMIT"]["batch"]
    assert (batch["ok"], batch["running"], batch["done_1h"], batch["fault_1h"]) == (True, 0, 0, 1)
