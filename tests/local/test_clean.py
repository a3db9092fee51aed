"""``apfctl clean`` on the Local backend: pilots pending too long are removed as the factory's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apfctl_local import pilotstate
from apfctl_local.status import LocalBatchStatus
from apfctl_local.submit import LocalSubmit

from apfctl.config.loader import load
from apfctl.config.model import QueueConfig
from apfctl.interfaces import BatchCounts, FactoryContext
from apfctl.ledger import Ledger


def _counts(factory: FactoryContext, queue: QueueConfig) -> tuple[int, int, list[str]]:
    result = LocalBatchStatus(LocalBatchStatus.endpoint(queue, factory), factory).query([queue], 0.0)[queue.name]
    assert isinstance(result, BatchCounts), result
    return result.pending, result.running + result.exiting, sorted(f.outcome for f in result.finished)


def _backdate(state_dir: Path, queue: str, pilot_id: str, seconds: float) -> None:
    """Make a pilot look submitted ``seconds`` ago (as the submitter would have written it then)."""
    folder = pilotstate.queue_dir(state_dir, queue)
    path = pilotstate.state_path(folder, pilot_id)
    with pilotstate.folder_lock(folder):
        state = pilotstate.read_state(path)
        assert state is not None
        state["submitted"] -= seconds
        pilotstate.write_state(path, state)


def _started(control: Path, ids: list[str]) -> list[str]:
    return [pilot_id for pilot_id in ids if (control / f"{pilot_id}.env").exists()]


def test_clean_removes_only_pilots_pending_longer_than_the_stale_age(
    factory: FactoryContext, make_queue: Callable[..., QueueConfig], payload: Path, control: Path,
    release: Callable[[str, int], None], wait: Callable[..., Any],
) -> None:
    queue = make_queue("SITE_A", executable=str(payload), executable__arguments=str(control),
                       batchsubmit__local__slots="1", batchsubmit__local__clean__stale__idle="3600")
    submitter = LocalSubmit("Local", queue, factory)
    ids = submitter.submit(3, "C1").ids
    (running,) = wait(lambda: _started(control, ids), what="one pilot to start")
    old, young = [pilot_id for pilot_id in ids if pilot_id != running]
    _backdate(factory.state_dir, "SITE_A", old, 7200)
    _backdate(factory.state_dir, "SITE_A", running, 7200)    # old, but running: not stale
    _backdate(factory.state_dir, "SITE_A", young, 600)       # pending, but not for long enough

    dry = submitter.clean(dry_run=True)
    assert dry == [{"queue": "SITE_A", "action": "remove", "what": "remove_stale", "ids": [old],
                    "reason": "pending longer than 3600 s", "dry_run": True}]
    assert _counts(factory, queue) == (2, 1, [])              # the dry run changed nothing

    (done,) = submitter.clean()
    assert done["ids"] == [old] and done["succeeded"] == 1 and done["dry_run"] is False
    wait(lambda: _counts(factory, queue) == (1, 1, ["removed"]), what="the stale pilot to end as removed")
    assert submitter.clean() == []                            # nothing stale is left
    assert old not in _started(control, ids)
    events = Path(pilotstate.read_state(pilotstate.state_path(
        pilotstate.queue_dir(factory.state_dir, "SITE_A"), old))["log"]).read_text()   # type: ignore[index]
    assert "removed by apfctl clean: pending longer than 3600 s" in events
    release(running, 0)


def test_a_stale_age_of_zero_never_removes(
    factory: FactoryContext, make_queue: Callable[..., QueueConfig], payload: Path, control: Path,
    wait: Callable[..., Any],
) -> None:
    queue = make_queue("SITE_A", executable=str(payload), executable__arguments=str(control),
                       batchsubmit__local__slots="1", batchsubmit__local__clean__stale__idle="0")
    submitter = LocalSubmit("Local", queue, factory)
    ids = submitter.submit(2, "C1").ids
    wait(lambda: _started(control, ids), what="one pilot to start")
    for pilot_id in ids:
        _backdate(factory.state_dir, "SITE_A", pilot_id, 10 * 86400)
    assert submitter.clean() == []
    assert LocalSubmit("Local", make_queue("EMPTY", executable=str(payload)), factory).clean() == []


# A third-party batch submit plugin without clean-up, installed as a distribution would be.
NOCLEAN = '''
from apfctl.interfaces import BatchSubmitPlugin, SubmitResult


class NoClean(BatchSubmitPlugin):
    KEYS = {}

    def find_submitted(self, cycle):
        return []

    def submit(self, n, cycle, dry_run=False):
        return SubmitResult()

    def retire(self, n, dry_run=False):
        return SubmitResult()
'''


def _install_noclean(folder: Path) -> Path:
    folder.mkdir()
    (folder / "apfctl_test_noclean.py").write_text(NOCLEAN)
    dist = folder / "apfctl_test_noclean-1.0.dist-info"
    dist.mkdir()
    (dist / "entry_points.txt").write_text("[apfctl.batchsubmit]\nNoClean = apfctl_test_noclean:NoClean\n")
    return folder


def test_apfctl_clean_cleans_local_queues_and_says_once_per_backend_which_have_no_clean_up(
    tmp_path: Path, payload: Path, control: Path, wait: Callable[..., Any],
) -> None:
    config = tmp_path / "apfctl.conf"
    (tmp_path / "queues.conf").write_text(
        "[DEFAULT]\nenabled = True\nwmsstatusplugin = None\nbatchstatusplugin = Local\nschedplugin = Fixed\n"
        f"executable = {payload}\nexecutable.arguments = {control}\n\n"
        "[LOCAL_Q]\nbatchsubmitplugin = Local\nbatchsubmit.local.slots = 1\n"
        "batchsubmit.local.clean.stale.idle = 60\n\n"
        "[OTHER_1]\nbatchsubmitplugin = NoClean\n\n[OTHER_2]\nbatchsubmitplugin = NoClean\n")
    config.write_text(f"[Factory]\nfactoryId = clean-test\nbaseLogDir = {tmp_path / 'logs'}\n"
                      "queueConf = queues.conf\n")
    state = Path(os.environ["APFCTL_STATE_DIR"])
    loaded = load(str(config), str(state))
    ids = LocalSubmit("Local", loaded.queue("LOCAL_Q"), loaded.context).submit(2, "C1").ids
    (running,) = wait(lambda: _started(control, ids), what="one pilot to start")
    (stale,) = [pilot_id for pilot_id in ids if pilot_id != running]
    _backdate(state, "LOCAL_Q", stale, 120)
    env = {**os.environ, "PYTHONPATH": str(_install_noclean(tmp_path / "site"))}

    def apfctl_clean(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "apfctl", "clean", "--config", str(config), "--no-logs",
                               *args], capture_output=True, text=True, env=env, timeout=60)

    dry = apfctl_clean("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert [(a["queue"], a["ids"], a["dry_run"]) for a in map(json.loads, dry.stdout.splitlines())] == [
        ("LOCAL_Q", [stale], True)]
    said = [line for line in dry.stderr.splitlines() if "no pilot clean-up" in line]
    assert said == ["apfctl clean: NoClean has no pilot clean-up; skipped queue(s) OTHER_1, OTHER_2"]

    real = apfctl_clean()
    assert real.returncode == 0, real.stderr
    (action,) = map(json.loads, real.stdout.splitlines())
    assert (action["queue"], action["what"], action["ids"], action["succeeded"]) == ("LOCAL_Q", "remove_stale",
                                                                                   [stale], 1)
    with Ledger.for_factory(loaded) as ledger:
        assert [(a["queue"], a["detail"]["ids"]) for a in ledger.actions("clean")] == [("LOCAL_Q", [stale])]
    wait(lambda: _counts(loaded.context, loaded.queue("LOCAL_Q")) == (0, 1, ["removed"]),
         what="the stale pilot to end as removed")
