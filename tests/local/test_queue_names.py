"""Local pilots of queues whose names differ only in characters a file name cannot hold."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from apfctl_local import pilotstate
from apfctl_local.status import LocalBatchStatus
from apfctl_local.submit import LocalSubmit

from apfctl.config.model import QueueConfig
from apfctl.interfaces import BatchCounts, FactoryContext

NAMES = ("Q A", "Q_A", "Q/A")


def test_each_queue_keeps_its_own_pilots_logs_and_state(
    factory: FactoryContext, make_queue: Callable[..., QueueConfig], payload: Path, control: Path,
    release: Callable[[str, int], None], wait: Callable[..., Any],
) -> None:
    queues = {name: make_queue(name, executable=str(payload), executable__arguments=str(control),
                             batchsubmit__local__slots="3")
              for name in NAMES}
    submitted = {name: LocalSubmit("Local", queue, factory).submit(count, "C1").ids
                 for count, (name, queue) in enumerate(queues.items(), start=1)}
    try:
        assert [len(ids) for ids in submitted.values()] == [1, 2, 3]
        for name, queue in queues.items():
            assert LocalSubmit("Local", queue, factory).find_submitted("C1") == submitted[name]
        folders = {pilotstate.queue_dir(factory.state_dir, name) for name in NAMES}
        assert len(folders) == 3 and all(folder.parent == factory.state_dir / "local" for folder in folders)
        log_dirs = {factory.queue_log_dir(name)[0] for name in NAMES}
        assert len(log_dirs) == 3

        every = [pilot for ids in submitted.values() for pilot in ids]
        wait(lambda: all((control / f"{pilot}.env").exists() for pilot in every), what="every pilot to start")
        status = LocalBatchStatus(None, factory)
        counts = status.query(list(queues.values()), 0.0)
        for name, ids in submitted.items():
            result = counts[name]
            assert isinstance(result, BatchCounts), result
            assert result.running + result.exiting + result.pending == len(ids), name
            log_dir = factory.queue_log_dir(name)[0]
            for pilot in ids:
                assert f"payload {pilot} says hello" in wait(lambda p=pilot, d=log_dir: (d / f"{p}.out").exists()
                                                             and (d / f"{p}.out").read_text(), what="output")
    finally:
        for pilot in (pilot for ids in submitted.values() for pilot in ids):
            release(pilot, 0)
