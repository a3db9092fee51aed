"""The real Slurm plugins, and ``apfctl``, against the test kit's fake Slurm commands (no cluster).

Not marked ``slurm``: these run everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apfctl_slurm.batchstatus import SlurmBatchStatus
from apfctl_slurm.submit import SlurmSubmit
from apfctl_slurm.testing import FakeSlurm

from apfctl.interfaces import BatchCounts
from tests.slurm.slurm_helpers import Site, records


@pytest.fixture
def fake(tmp_path: Path) -> FakeSlurm:
    return FakeSlurm(tmp_path / "slurm")


def _site(tmp_path: Path, fake: FakeSlurm, history: str = "auto", **values: str) -> Site:
    folder = tmp_path / "site"
    folder.mkdir(parents=True)
    site = Site(folder)
    site.write({"SL_KIT": {**fake.queue_keys(history), **values}})
    return site


def _submit(site: Site, n: int, cycle: str = "20261125T060000Z-0001") -> tuple[SlurmSubmit, list[str]]:
    loaded = site.loaded()
    plugin = SlurmSubmit("Slurm", loaded.queue("SL_KIT"), loaded.context)
    return plugin, plugin.submit(n, cycle).ids


def _status(site: Site) -> BatchCounts:
    loaded = site.loaded()
    queue = loaded.queue("SL_KIT")
    plugin = SlurmBatchStatus(SlurmBatchStatus.endpoint(queue, loaded.context), loaded.context)
    counts = plugin.query([queue], 0.0)["SL_KIT"]
    assert isinstance(counts, BatchCounts), counts
    return counts


def _summary(counts: BatchCounts) -> tuple[int, int, int, list[str]]:
    return counts.pending, counts.held, counts.running, sorted(f.outcome for f in counts.finished)


def test_pilots_move_through_every_state(tmp_path: Path, fake: FakeSlurm) -> None:
    site = _site(tmp_path, fake)
    plugin, ids = _submit(site, 6)
    assert ids == [f"1000_{task}" for task in range(6)]
    assert plugin.find_submitted("20261125T060000Z-0001") == ids
    assert "--parsable" in fake.calls("sbatch")[0]
    assert _summary(_status(site)) == (6, 0, 0, [])

    fake.start(ids[0], ids[1], ids[2], ids[3])
    fake.complete(ids[1])
    fake.fail(ids[2])
    fake.timeout(ids[3])
    fake.hold(ids[4])
    counts = _status(site)
    assert _summary(counts) == (1, 1, 1, ["done", "fault", "fault"])
    assert counts.extra["held_reasons"] == [{"code": None, "subcode": None, "count": 1, "example": "JobHeldUser"}]


@pytest.mark.parametrize("history", ["sacct", "jobcomp"])
def test_ended_pilots_come_from_the_history_after_minjobage(tmp_path: Path, history: str) -> None:
    fake = FakeSlurm(tmp_path / "slurm", accounting=history == "sacct")
    site = _site(tmp_path, fake, history=history)
    _, ids = _submit(site, 3)
    fake.start(*ids)
    fake.complete(ids[0])
    fake.fail(ids[1], exit_code=3)
    fake.backdate(900, ids[0], ids[1])           # squeue has forgotten them; the history has not
    squeue_only = _site(tmp_path / "other", fake, history="squeue")
    squeue_only.factory_id = site.factory_id
    squeue_only.write({"SL_KIT": fake.queue_keys("squeue")})
    assert _summary(_status(squeue_only)) == (0, 0, 1, [])
    assert _summary(_status(site)) == (0, 0, 1, ["done", "fault"])
    if history == "jobcomp":
        assert fake.jobcomp.read_text().count("JobState=COMPLETED") == 1
        assert fake.calls("sacct") == []


def test_auto_history_without_accounting_reads_the_completion_log(tmp_path: Path) -> None:
    fake = FakeSlurm(tmp_path / "slurm", accounting=False)
    site = _site(tmp_path, fake)
    _, ids = _submit(site, 1)
    fake.start(*ids)
    fake.complete(*ids)
    fake.backdate(900)
    assert _summary(_status(site)) == (0, 0, 0, ["done"])
    assert fake.calls("sacct"), "auto asks sacct first"


def test_retirement_is_counted_as_the_factorys_own_removals(tmp_path: Path, fake: FakeSlurm) -> None:
    site = _site(tmp_path, fake)
    plugin, ids = _submit(site, 4)
    fake.start(ids[0])
    fake.hold(ids[1])
    assert plugin.retire(5).ids == [ids[1], ids[3], ids[2]]    # held first, then pending newest first
    assert fake.states()[ids[0]] == "RUNNING"                   # peaceful: the running one is spared
    # tasks cancelled while pending vanish from Slurm's records: the array's own record ends instead
    assert _summary(_status(site)) == (0, 0, 1, ["removed"])
    assert "JobId=1000 " in fake.jobcomp.read_text() and f"ArrayTaskId={ids[3][-1]}" not in fake.jobcomp.read_text()
    fake.complete(ids[0])
    fake.cancel(ids[0])                                         # too late: scancel says so, nothing changes
    assert fake.states()[ids[0]] == "COMPLETED"
    assert _summary(_status(site)) == (0, 0, 0, ["done", "removed"])
    fake.backdate(900)                                          # only the history has them now
    assert _summary(_status(site)) == (0, 0, 0, ["done", "removed"])


def test_a_pilot_cancelled_by_someone_else_is_a_fault(tmp_path: Path, fake: FakeSlurm) -> None:
    site = _site(tmp_path, fake)
    _, ids = _submit(site, 2)
    fake.start(ids[0])
    fake.cancel(ids[0])
    assert _summary(_status(site)) == (1, 0, 0, ["fault"])


def test_a_remote_cluster_is_addressed_with_M(tmp_path: Path, fake: FakeSlurm) -> None:
    site = _site(tmp_path, fake, **{"slurm.cluster": "faraway"})
    _, ids = _submit(site, 2)
    assert ids == ["1000_0", "1000_1"]                          # "1000;faraway" from sbatch --parsable
    assert _summary(_status(site)) == (2, 0, 0, [])             # after squeue's "CLUSTER: faraway" line
    assert all(call[:2] == ["-M", "faraway"] for call in fake.calls())


def test_apfctl_cycle_submits_to_the_kit_and_status_sees_the_pilots(tmp_path: Path, fake: FakeSlurm) -> None:
    site = _site(tmp_path, fake, **{"sched.fixed.pilotspercycle": "3"})
    result = site.apfctl("cycle", "--queue", "SL_KIT")
    assert result.returncode == 0, result.stderr
    submission = records(result)["SL_KIT"]["submission"]
    assert (submission["submitted"], submission["ids"], submission["error"]) == (3, ["1000_0", "1000_1",
                                                                                      "1000_2"], None)
    fake.start("1000_0")
    fake.fail("1000_1")
    before = len(fake.calls("squeue"))
    batch = records(site.apfctl("status", "--queue", "SL_KIT"))["SL_KIT"]["batch"]
    assert (batch["ok"], batch["pending"], batch["running"], batch["fault_1h"]) == (True, 1, 1, 1)
    assert len(fake.calls("squeue")) == before + 1               # one squeue per status


def test_apfctl_cycle_reports_slurms_own_errors(tmp_path: Path, fake: FakeSlurm) -> None:
    site = _site(tmp_path, fake, **{"batchsubmit.slurm.partition": "nosuch"})
    bad = records(site.apfctl("cycle", "--queue", "SL_KIT"))["SL_KIT"]["submission"]
    assert "invalid partition specified: nosuch" in bad["error"]
    assert "batchsubmit.slurm.partition = 'nosuch'" in bad["error"]

    fake.set_down()
    batch = records(site.apfctl("status", "--queue", "SL_KIT"))["SL_KIT"]["batch"]
    assert batch["ok"] is False and "Unable to contact slurm controller" in batch["error"]


def test_apfctl_clean_cancels_held_and_stale_pilots(tmp_path: Path, fake: FakeSlurm) -> None:
    site = _site(tmp_path, fake, **{"batchsubmit.slurm.clean.stale.idle": "3600"})
    _, ids = _submit(site, 3)
    fake.hold(ids[0])
    fake.backdate(7200, ids[1])
    result = site.apfctl("clean", "--no-logs")
    assert result.returncode == 0, result.stderr
    actions = {action["what"]: action["ids"] for action in map(json.loads, result.stdout.splitlines())}
    assert actions == {"remove_held": [ids[0]], "remove_stale": [ids[1]]}
    assert fake.states() == {ids[0]: "CANCELLED", ids[1]: "CANCELLED", ids[2]: "PENDING"}
