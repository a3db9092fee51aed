"""Fixtures for the Slurm tests.

Tests marked ``slurm`` run against the project's local cluster (scripts/slurm-local.sh):
as root it is started if it is not up; otherwise they are skipped with a message saying how
to run them, except under CI (``CI`` set), where a missing or failing Slurm is a failure.

The one pilot that must hit its time limit needs 60-90 s (Slurm's smallest limit is a
minute, checked every 30 s), so it is submitted when the first test of this folder starts
and looked at by the last one (test_zz_timelimit.py), while the others run.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from slurm_helpers import Site, require_slurm, start_slurm


@pytest.fixture(scope="session")
def slurm_problem() -> str | None:
    """Why the local cluster is unusable (after starting it, as root), or None; asked once."""
    return start_slurm()


@pytest.fixture(autouse=True)
def _needs_slurm(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("slurm") is not None:
        require_slurm(request.getfixturevalue("slurm_problem"))


@pytest.fixture
def site(tmp_path: Path, slurm_problem: str | None) -> Iterator[Site]:
    """A factory of its own; its pilots still queued are cancelled when the test ends."""
    made = Site(tmp_path)
    yield made
    if slurm_problem is None:
        made.cancel_all()


@pytest.fixture(scope="session", autouse=True)
def timelimit_pilot(tmp_path_factory: pytest.TempPathFactory,
                    slurm_problem: str | None) -> Iterator[tuple[Site, str] | None]:
    """One pilot with a one-minute time limit that sleeps longer, submitted early (None when
    the cluster is unusable: the test that looks at it then skips or fails like the others)."""
    if slurm_problem is not None:
        yield None
        return
    from apfctl.stages.submit import Submitter

    site = Site(tmp_path_factory.mktemp("timelimit"))
    site.write({"SL_TIMELIMIT": {"executable.arguments": "600 0", "batchsubmit.slurm.time": "1"}})
    result = Submitter(site.loaded(), None).plugin("SL_TIMELIMIT").submit(1, "20260101T000000Z-0001")
    yield site, result.ids[0]
    site.cancel_all()
