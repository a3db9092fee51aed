"""The Local batch submit and status plugins against real detached processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from apfctl_local import pilotstate
from apfctl_local.status import LocalBatchStatus
from apfctl_local.submit import LocalSubmit

from apfctl import plugins
from apfctl.config.model import QueueConfig
from apfctl.errors import ConfigError
from apfctl.interfaces import BatchCounts, FactoryContext


def query(factory: FactoryContext, queue: QueueConfig, since: float = 0.0) -> BatchCounts:
    status = LocalBatchStatus(LocalBatchStatus.endpoint(queue, factory), factory)
    result = status.query([queue], since)[queue.name]
    assert isinstance(result, BatchCounts), result
    return result


def summary(counts: BatchCounts) -> tuple[int, int, list[str]]:
    """(pending, running, sorted outcomes of finished pilots); exiting is transient, so it is
    counted with running here (a pilot whose payload ended and whose runner is still recording)."""
    return counts.pending, counts.running + counts.exiting, sorted(f.outcome for f in counts.finished)


def started(control: Path, ids: list[str]) -> list[str]:
    """The pilots whose payload has run (it writes its environment first)."""
    return [pilot_id for pilot_id in ids if (control / f"{pilot_id}.env").exists()]


def state_of(factory: FactoryContext, queue: str, pilot_id: str) -> dict[str, Any]:
    state = pilotstate.read_state(pilotstate.state_path(pilotstate.queue_dir(factory.state_dir, queue), pilot_id))
    assert state is not None
    return state


@pytest.fixture
def local_queue(make_queue: Callable[..., QueueConfig], payload: Path, control: Path) -> Callable[..., QueueConfig]:
    def make(name: str = "SITE_A", slots: int = 2, **values: str) -> QueueConfig:
        defaults = {"executable": str(payload), "executable__arguments": str(control),
                    "batchsubmit__local__slots": str(slots)}
        return make_queue(name, **{**defaults, **values})

    return make


def test_the_entry_points_name_these_classes() -> None:
    assert plugins.find("batchsubmit", "local") is LocalSubmit
    assert plugins.find("batchstatus", "LOCAL") is LocalBatchStatus


def test_pilots_wait_for_slots_run_and_finish_done_or_fault(
    factory: FactoryContext, local_queue: Callable[..., QueueConfig], control: Path,
    release: Callable[[str, int], None], wait: Callable[..., Any],
) -> None:
    queue = local_queue(slots=2, batchsubmit__local__environ="EXTRA=yes", monitorsection="apfmon")
    submitter = LocalSubmit("Local", queue, factory)
    since = time.time()

    result = submitter.submit(3, "C1")

    assert result.ids == ["C1.SITE_A.0", "C1.SITE_A.1", "C1.SITE_A.2"]
    assert submitter.find_submitted("C1") == result.ids
    assert submitter.find_submitted("C2") == []
    wait(lambda: len(started(control, result.ids)) == 2, what="two pilots to start")
    assert summary(query(factory, queue)) == (1, 2, [])  # the third waits for a slot

    first, second = started(control, result.ids)
    env = dict(line.split("=", 1) for line in (control / f"{first}.env").read_text().splitlines())
    assert env == {"APFCID": first, "APFFID": "test-factory", "PANDA_JSID": "test-factory",
                   "FACTORYQUEUE": "SITE_A", "APFCTL_CYCLE": "C1", "EXTRA": "yes"}
    assert state_of(factory, "SITE_A", first)["env"]["APFMON"] == "http://apfmon.example/api"

    release(first, 0)
    wait(lambda: summary(query(factory, queue)) == (0, 2, ["done"]), what="the waiting pilot to take the slot")
    (third,) = set(result.ids) - {first, second}
    release(second, 3)
    release(third, 0)
    counts = wait(lambda: (c := query(factory, queue, since)) and summary(c) == (0, 0, ["done", "done", "fault"])
                  and c, what="every pilot to finish")

    assert all(f.end >= since and f.walltime > 0 for f in counts.finished)
    assert query(factory, queue, since=time.time() + 1).finished == []
    log_dir, _ = factory.queue_log_dir("SITE_A")
    assert f"payload {second} says hello" in (log_dir / f"{second}.out").read_text()
    assert f"payload {second} complains" in (log_dir / f"{second}.err").read_text()
    events = (log_dir / f"{second}.log").read_text()
    assert "submitted queue=SITE_A cycle=C1" in events and "ended exit_code=3" in events
    assert state_of(factory, "SITE_A", second)["exit_code"] == 3


def test_dry_run_describes_and_starts_nothing(
    factory: FactoryContext, local_queue: Callable[..., QueueConfig], payload: Path, control: Path,
) -> None:
    queue = local_queue(slots=5)
    result = LocalSubmit("Local", queue, factory).submit(2, "C1", dry_run=True)

    assert result.ids == []
    assert result.description is not None
    assert f"{payload} {control}" in result.description
    assert "5 slot(s)" in result.description and "C1.SITE_A.1" in result.description
    assert not pilotstate.queue_dir(factory.state_dir, "SITE_A").exists()
    assert LocalSubmit("Local", queue, factory).find_submitted("C1") == []


def test_a_second_submit_of_a_cycle_numbers_on(
    factory: FactoryContext, local_queue: Callable[..., QueueConfig], release: Callable[[str, int], None],
) -> None:
    submitter = LocalSubmit("Local", local_queue(), factory)
    first = submitter.submit(1, "C1").ids
    second = submitter.submit(1, "C1").ids
    assert first == ["C1.SITE_A.0"] and second == ["C1.SITE_A.1"]
    assert submitter.find_submitted("C1") == first + second
    for pilot_id in first + second:
        release(pilot_id, 0)


def _pending_and_running(factory: FactoryContext, queue: str) -> tuple[list[str], list[str]]:
    folder = pilotstate.queue_dir(factory.state_dir, queue)
    states = sorted((s for _, s in pilotstate.scan(folder) if s.get("ended") is None), key=lambda s: s["seq"])
    return ([s["id"] for s in states if s.get("started") is None], [s["id"] for s in states if s.get("started")])


def test_retire_takes_pending_pilots_first_and_spares_running_ones_when_peaceful(
    factory: FactoryContext, local_queue: Callable[..., QueueConfig], control: Path,
    release: Callable[[str, int], None], wait: Callable[..., Any],
) -> None:
    queue = local_queue(slots=1)
    submitter = LocalSubmit("Local", queue, factory)
    ids = submitter.submit(3, "C1").ids
    wait(lambda: len(started(control, ids)) == 1, what="one pilot to start")
    pending, (running,) = _pending_and_running(factory, "SITE_A")

    dry = submitter.retire(1, dry_run=True)
    assert dry.ids == [] and pending[-1] in (dry.description or "")
    assert submitter.retire(1).ids == [pending[-1]]           # newest first by default
    assert submitter.retire(5).ids == [pending[0]]            # peaceful: never the running one
    wait(lambda: summary(query(factory, queue)) == (0, 1, ["removed", "removed"]), what="retired pilots to end")

    assert started(control, ids) == [running]                 # the retired ones never ran
    release(running, 0)
    wait(lambda: summary(query(factory, queue)) == (0, 0, ["done", "removed", "removed"]), what="the pilot to end")


@pytest.mark.parametrize("killorder", ["newest", "oldest"])
def test_retire_removes_running_pilots_in_killorder_unless_peaceful(
    factory: FactoryContext, local_queue: Callable[..., QueueConfig], control: Path,
    release: Callable[[str, int], None], wait: Callable[..., Any], killorder: str,
) -> None:
    queue = local_queue(slots=2, batchsubmit__local__overlay__peaceful="False",
                        batchsubmit__local__overlay__killorder=killorder)
    submitter = LocalSubmit("Local", queue, factory)
    ids = submitter.submit(3, "C1").ids
    wait(lambda: len(started(control, ids)) == 2, what="two pilots to start")
    (pending,), running = _pending_and_running(factory, "SITE_A")
    victim, survivor = running if killorder == "oldest" else running[::-1]

    assert submitter.retire(2).ids == [pending, victim]
    wait(lambda: summary(query(factory, queue)) == (0, 1, ["removed", "removed"]), what="retired pilots to end")

    killed = state_of(factory, "SITE_A", victim)
    assert killed["removed"] and killed["signal"] == signal.SIGTERM and killed["exit_code"] == 128 + signal.SIGTERM
    assert state_of(factory, "SITE_A", survivor)["ended"] is None
    release(survivor, 0)


def test_a_payload_that_ignores_sigterm_is_killed_after_the_grace_period(
    factory: FactoryContext, make_queue: Callable[..., QueueConfig], stubborn: Path, control: Path,
    wait: Callable[..., Any],
) -> None:
    queue = make_queue("SITE_S", executable=str(stubborn), executable__arguments=str(control),
                       batchsubmit__local__overlay__peaceful="False", batchsubmit__local__killgrace="1")
    submitter = LocalSubmit("Local", queue, factory)
    (pilot,) = submitter.submit(1, "C1").ids
    wait(lambda: started(control, [pilot]), what="the pilot to start")

    assert submitter.retire(1).ids == [pilot]
    wait(lambda: summary(query(factory, queue)) == (0, 0, ["removed"]), what="the stubborn pilot to be killed")
    assert state_of(factory, "SITE_S", pilot)["signal"] == signal.SIGKILL


def test_a_pilot_whose_runner_died_unrecorded_is_a_lost_fault_counted_once(
    factory: FactoryContext, local_queue: Callable[..., QueueConfig], control: Path, wait: Callable[..., Any],
) -> None:
    queue = local_queue()
    (pilot,) = LocalSubmit("Local", queue, factory).submit(1, "C1").ids
    wait(lambda: started(control, [pilot]), what="the pilot to start")

    os.killpg(state_of(factory, "SITE_A", pilot)["pid"], signal.SIGKILL)

    wait(lambda: summary(query(factory, queue)) == (0, 0, ["fault"]), what="the lost pilot to count as fault")
    lost = state_of(factory, "SITE_A", pilot)
    assert lost["lost"] is True and lost["exit_code"] is None
    assert summary(query(factory, queue)) == (0, 0, ["fault"])
    log_dir, _ = factory.queue_log_dir("SITE_A")
    assert "lost: runner pid" in (log_dir / f"{pilot}.log").read_text()


def test_an_executable_that_cannot_run_ends_as_fault(
    factory: FactoryContext, make_queue: Callable[..., QueueConfig], tmp_path: Path, wait: Callable[..., Any],
) -> None:
    not_executable = tmp_path / "pilot.txt"
    not_executable.write_text("not a program\n")
    queue = make_queue("SITE_X", executable=str(not_executable))
    assert LocalSubmit.check("Local", queue, factory) == [f"executable: {not_executable} is not an executable file"]

    (pilot,) = LocalSubmit("Local", queue, factory).submit(1, "C1").ids

    wait(lambda: summary(query(factory, queue)) == (0, 0, ["fault"]), what="the pilot to fail")
    failed = state_of(factory, "SITE_X", pilot)
    assert failed["exit_code"] == 126 and "Permission denied" in failed["error"]


def _write(factory: FactoryContext, queue: str, pilot_id: str, **fields: Any) -> Path:
    folder = pilotstate.queue_dir(factory.state_dir, queue)
    folder.mkdir(parents=True, exist_ok=True)
    path = pilotstate.state_path(folder, pilot_id)
    state = {"id": pilot_id, "seq": 0, "cycle": "C0", "submitted": time.time() - 100, "log": "/nonexistent/x.log",
             "started": None, "ended": None, "exit_code": None, "removed": None}
    pilotstate.write_state(path, {**state, **fields})
    return path


def test_states_follow_the_runner_and_its_recorded_start_time(
    factory: FactoryContext, make_queue: Callable[..., QueueConfig],
) -> None:
    """This test process stands in for a live runner; a wrong start time is a reused pid."""
    me = {"pid": os.getpid(), "pid_start": pilotstate.proc_start_time(os.getpid())}
    now = time.time()
    _write(factory, "Q", "waiting", **me)
    _write(factory, "Q", "working", started=now - 10, **me)
    _write(factory, "Q", "finishing", started=now - 10, ended=now - 1, exit_code=0, **me)
    _write(factory, "Q", "reused", started=now - 10, pid=os.getpid(), pid_start=-1)
    _write(factory, "Q", "ok", pid=-1, started=now - 60, ended=now - 30, exit_code=0)
    _write(factory, "Q", "bad", pid=-1, started=now - 60, ended=now - 30, exit_code=2)
    _write(factory, "Q", "retired", pid=-1, ended=now - 30, exit_code=None, removed=now - 31)
    old = _write(factory, "Q", "old", pid=-1, started=now - 90000, ended=now - 86500, exit_code=0)

    counts = query(factory, make_queue("Q"), since=now - 40)

    assert (counts.pending, counts.running, counts.exiting) == (1, 1, 1)
    assert sorted(f.outcome for f in counts.finished) == ["done", "fault", "fault", "removed"]
    assert {f.walltime for f in counts.finished if f.outcome == "done"} == {30.0}
    assert not old.exists()                                   # ended more than a day ago: pruned
    # the reused pid was recorded as lost (ended now) by the first query; the others ended before
    assert [f.outcome for f in query(factory, make_queue("Q"), since=now - 20).finished] == ["fault"]


def test_a_queue_without_pilots_counts_zero(factory: FactoryContext, make_queue: Callable[..., QueueConfig]) -> None:
    assert summary(query(factory, make_queue("NEVER_USED"))) == (0, 0, [])


@pytest.mark.parametrize(("key", "value", "message"), [
    ("batchsubmit__local__slots", "many", "expected an integer"),
    ("batchsubmit__local__slots", "0", "must be at least 1"),
    ("batchsubmit__local__overlay__killorder", "random", "must be one of newest, oldest"),
    ("batchsubmit__local__overlay__peaceful", "perhaps", "True or False"),
    ("batchsubmit__local__environ", "NOEQUALS", "is not VAR=value"),
    ("batchsubmit__local__environ", "A='open", "No closing quotation"),
    ("executable__arguments", "'unclosed", "No closing quotation"),
])
def test_bad_values_are_config_errors_naming_the_key(
    factory: FactoryContext, local_queue: Callable[..., QueueConfig], key: str, value: str, message: str,
) -> None:
    queue = local_queue(**{key: value})
    with pytest.raises(ConfigError) as caught:
        LocalSubmit("Local", queue, factory)
    assert key.replace("__", ".") in str(caught.value) and message in str(caught.value)


def test_keys_follow_the_configured_plugin_name(
    factory: FactoryContext, make_queue: Callable[..., QueueConfig], payload: Path,
) -> None:
    queue = make_queue("Q", executable=str(payload), batchsubmit__mylocal__slots="7")
    assert LocalSubmit("MyLocal", queue, factory).slots == 7
    assert LocalSubmit("Local", queue, factory).slots == 4


def test_check_reports_a_missing_executable(factory: FactoryContext, make_queue: Callable[..., QueueConfig]) -> None:
    assert LocalSubmit.check("Local", make_queue("Q", executable="no-such-pilot-anywhere"), factory) == [
        "executable: no-such-pilot-anywhere is not found on PATH"]
    assert LocalSubmit.check("Local", make_queue("Q", executable="sh"), factory) == []


def test_the_runner_needs_its_state_file() -> None:
    done = subprocess.run([sys.executable, "-m", "apfctl_local.runner"], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "usage" in done.stderr
