"""The ``Local`` batch status plugin: pilot states from the Local backend's state files.

One directory scan per queue, one read per pilot file. A pilot is

* pending: its runner is alive and the payload has not started (waiting for a slot);
* running: the payload started and has not ended;
* exiting: the payload ended, the runner is still finishing (recording, freeing its slot);
* finished: ended and its runner gone: ``removed`` if the factory retired it, ``done`` on exit
  code 0, ``fault`` otherwise, including a pilot whose runner vanished without recording an
  end ("lost"; the pid is checked with its start time, so a reused pid is not mistaken
  for the runner). A lost pilot is recorded as ended when first seen, so it counts once.

Files of pilots that ended more than a day ago are removed (their logs stay). Pilots with a
``resource_type`` in their state are also counted per type (``BatchCounts.types``).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path

from apfctl.config.model import QueueConfig
from apfctl.errors import BackendError
from apfctl.interfaces import BatchCounts, BatchStatusPlugin, FactoryContext, Finished
from apfctl.record.states import PilotState, count
from apfctl_local import pilotstate
from apfctl_local.pilotstate import PilotState as PilotFile

KEEP_ENDED_SECONDS = 86400.0


def outcome(state: PilotFile) -> str:
    """How an ended pilot finished, in the words of docs/architecture.md §1.5."""
    if state.get("removed"):
        return "removed"
    if state.get("lost") or state.get("exit_code") != 0:
        return "fault"
    return "done"


LOST = "lost"     # the runner died without recording an end: recorded now, then counted as a fault
ENDED = "ended"   # done or fault, by its exit code (``outcome``), once it is in the window asked for

# A Local pilot's file as a pilot state (apfctl/record/states.py), one row per
# (payload ended, runner alive, payload started).
STATES: dict[tuple[bool, bool, bool], PilotState | str] = {
    (False, True, False): PilotState.PENDING,   # waiting for a slot
    (False, True, True): PilotState.RUNNING,
    (True, True, False): PilotState.EXITING,    # ended; the runner is still recording it, freeing its slot
    (True, True, True): PilotState.EXITING,
    (False, False, False): LOST,
    (False, False, True): LOST,
    (True, False, False): ENDED,
    (True, False, True): ENDED,
}


class LocalBatchStatus(BatchStatusPlugin):
    """Counts the Local pilots of many queues (every queue of a state folder shares one instance)."""

    @classmethod
    def endpoint(cls, queue: QueueConfig, factory: FactoryContext) -> Hashable:
        return str(factory.state_dir)

    def query(self, queues: Sequence[QueueConfig], since: float) -> Mapping[str, BatchCounts | Exception]:
        now = time.time()
        results: dict[str, BatchCounts | Exception] = {}
        for queue in queues:
            folder = pilotstate.queue_dir(self.factory.state_dir, queue.name)
            try:
                results[queue.name] = self._count(folder, since, now)
            except OSError as exc:
                results[queue.name] = BackendError(f"Local: cannot read the pilots of {queue.name} in {folder}: {exc}")
        return results

    def _count(self, folder: Path, since: float, now: float) -> BatchCounts:
        counts = BatchCounts()
        lost: list[str] = []
        for path, state in pilotstate.scan(folder):
            ended = state.get("ended")
            where = STATES[ended is not None, pilotstate.runner_alive(state), state.get("started") is not None]
            if where is LOST:
                lost.append(path)
            elif where is not ENDED:
                count(counts, where, state.get("resource_type"))
            elif ended < now - KEEP_ENDED_SECONDS:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
            elif ended >= since:
                counts.finished.append(self._finished(state))
        for state in self._record_lost(folder, lost, now):
            counts.finished.append(self._finished(state))
        return counts

    @staticmethod
    def _finished(state: PilotFile) -> Finished:
        started = state.get("started")
        walltime = max(0.0, state["ended"] - started) if started is not None else 0.0
        return Finished(end=state["ended"], walltime=walltime, outcome=outcome(state))  # type: ignore[arg-type]

    @staticmethod
    def _record_lost(folder: Path, paths: list[str], now: float) -> list[PilotFile]:
        """Mark pilots whose runner died unrecorded as ended (re-checked under the folder lock)."""
        if not paths:
            return []
        marked = []
        with pilotstate.folder_lock(folder):
            for path in paths:
                state = pilotstate.read_state(path)
                if state is None or state.get("ended") is not None or pilotstate.runner_alive(state):
                    continue  # it recorded its end (or its file was just written) meanwhile
                state.update(ended=now, lost=True)
                pilotstate.write_state(path, state)
                _log_if_possible(state, f"lost: runner pid {state.get('pid')} is gone without recording an end")
                marked.append(state)
        return marked


def _log_if_possible(state: PilotFile, text: str) -> None:
    """Add a line to the pilot's event log when it still exists (logs may have been cleaned)."""
    log = state.get("log")
    if log and os.path.exists(os.path.dirname(log)):
        pilotstate.log_event(log, text)
