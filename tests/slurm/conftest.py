"""Fixtures for the Slurm tests.

Tests marked ``slurm`` run against the project's local cluster (scripts/slurm-local.sh):
as root it is started if it is not up; otherwise they are skipped with a message saying how
to run them, except under CI (``CI`` set), where a missing or failing Slurm is a failure.

The pilot that must hit its time limit needs 60-90 s (Slurm's smallest limit is a minute,
enforced every 30 s). So it is submitted as soon as collection shows that its test will run,
and its test (test_timelimit.py) is moved to the end of the run, so that the minute passes
while the other tests run. That is for speed only: the test passes wherever it runs (it
waits for the pilot's end, and reads it from the cluster's history, which keeps it longer
than squeue's MinJobAge).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.slurm.slurm_helpers import Site, require_slurm, start_slurm

TIMELIMIT_TEST = "test_a_pilot_over_its_time_limit_is_a_fault"


@dataclass
class _Session:
    asked: bool = False
    problem: str | None = None
    timelimit: tuple[Site, str, float] | None = None   # the site, the pilot, when it was submitted


_session = _Session()


def _problem() -> str | None:
    """Why the local cluster is unusable (after starting it, as root), or None; asked once."""
    if not _session.asked:
        _session.problem, _session.asked = start_slurm(), True
    return _session.problem


def _submit_timelimit_pilot() -> tuple[Site, str, float]:
    from apfctl.stages.submit import Submitter

    site = Site(Path(tempfile.mkdtemp(prefix="apfctl-slurm-timelimit-")))
    site.write({"SL_TIMELIMIT": {"executable.arguments": "600 0", "batchsubmit.slurm.time": "1"}})
    submitted = time.time()
    result = Submitter(site.loaded(), None).plugin("SL_TIMELIMIT").submit(1, "20260101T000000Z-0001")
    _session.timelimit = (site, result.ids[0], submitted)
    return _session.timelimit


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The time-limit test last, so that its pilot's minute passes while the others run."""
    items.sort(key=lambda item: item.name == TIMELIMIT_TEST)   # stable: the rest keep their order


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    if any(item.name == TIMELIMIT_TEST for item in session.items) and _problem() is None:
        _submit_timelimit_pilot()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _session.timelimit is not None:
        site, _, _ = _session.timelimit
        _session.timelimit = None
        site.cancel_all()
        shutil.rmtree(site.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def slurm_problem() -> str | None:
    return _problem()


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


@pytest.fixture(scope="session")
def timelimit_pilot(slurm_problem: str | None) -> tuple[Site, str, float]:
    """The pilot with a one-minute time limit that sleeps ten: submitted at collection."""
    require_slurm(slurm_problem)
    return _session.timelimit or _submit_timelimit_pilot()
