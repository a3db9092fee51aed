"""Each pilot's state in PanDA's worker words, read from where the backend keeps it.

PanDA's worker statuses: ``submitted``, ``running``, ``finished``, ``failed``, ``cancelled``
(removed by the factory), ``missed`` (lost: it ended without a trace). A reader takes a
queue and the batch ids of its open workers and answers batch id -> (status, start, end)
for those it knows; an id it does not answer stays as last seen. Readers exist for the
backends whose per-pilot states can be read without another batch-system query (Local);
other backends' workers are reported at submission and by the statistics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from apfctl.config.model import QueueConfig
from apfctl.interfaces import FactoryContext

State = tuple[str, float | None, float | None]
Reader = Callable[[QueueConfig, FactoryContext, Sequence[str]], dict[str, State]]


def local_states(queue: QueueConfig, factory: FactoryContext, batch_ids: Sequence[str]) -> dict[str, State]:
    """Local pilots from their state files (apfctl_local.pilotstate)."""
    from apfctl_local import pilotstate

    wanted = set(batch_ids)
    folder: Path = pilotstate.queue_dir(factory.state_dir, queue.name)
    states: dict[str, State] = {}
    for _, state in pilotstate.scan(folder):
        pilot_id = state.get("id")
        if pilot_id not in wanted:
            continue
        started, ended = state.get("started"), state.get("ended")
        if state.get("removed"):
            status = "cancelled"
            removed = state.get("removed")
            if ended is None and isinstance(removed, (int, float)) and not isinstance(removed, bool):
                ended = float(removed)
        elif ended is not None:
            status = "missed" if state.get("lost") else "finished" if state.get("exit_code") == 0 else "failed"
        elif started is not None:
            status = "running"
        else:
            status = "submitted"
        states[str(pilot_id)] = (status, started, ended)
    return states


READERS: dict[str, Reader] = {"Local": local_states}


def reader_for(queue: QueueConfig) -> Reader | None:
    """The reader of the queue's batch status plugin, if there is one."""
    return READERS.get(queue.getstr("batchstatusplugin") or "")
