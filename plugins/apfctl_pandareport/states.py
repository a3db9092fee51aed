"""Each pilot's state in PanDA's worker words, read from where the backend keeps it.

PanDA's worker statuses: ``submitted``, ``running``, ``finished``, ``failed``, ``cancelled``
(removed by the factory), ``missed`` (lost: it ended without a trace). A reader takes a
queue and the batch ids of its open workers and answers batch id -> (status, start, end)
for those it knows; an id it does not answer stays as last seen. Readers exist for Local
(its pilot state files, no query) and Slurm (one ``squeue`` per cluster and publish, plus
the history for pilots that left it); HTCondor workers are reported at submission and in the
statistics only (see docs/panda.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from apfctl.config.model import QueueConfig
from apfctl.interfaces import FactoryContext

State = tuple[str, float | None, float | None]
# (queue, factory, open batch ids, oldest submit time, a cache shared by one publish) -> states
Reader = Callable[[QueueConfig, FactoryContext, Sequence[str], float, dict[Any, Any]], dict[str, State]]
SLURM_STATUS = {"pending": "submitted", "held": "submitted", "running": "running", "exiting": "running",
                "done": "finished", "fault": "failed"}


def local_states(queue: QueueConfig, factory: FactoryContext, batch_ids: Sequence[str], since: float,
                 cache: dict[Any, Any]) -> dict[str, State]:
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


def slurm_states(queue: QueueConfig, factory: FactoryContext, batch_ids: Sequence[str], since: float,
                 cache: dict[Any, Any]) -> dict[str, State]:
    """Slurm pilots from ``squeue`` (one call per cluster) and, for those it no longer lists, the history."""
    from apfctl_slurm import journal
    from apfctl_slurm.batchstatus import Endpoint
    from apfctl_slurm.jobs import squeue

    where = Endpoint.from_queue(queue)
    if ("squeue", where) not in cache:
        cache[("squeue", where)] = {job.id: job for job in squeue(where.commands)}
    jobs = cache[("squeue", where)]
    missing = [batch_id for batch_id in batch_ids if batch_id not in jobs]
    if missing:
        key = ("history", where, since)
        if key not in cache:
            cache[key] = {job.id: job for job in where.ended_jobs(since - 60)}
        jobs = {**cache[key], **jobs}
    retired = journal.retired_ids(journal.journal_path(factory.state_dir, where.commands.cluster))
    states: dict[str, State] = {}
    for batch_id in batch_ids:
        job = jobs.get(batch_id)
        if job is None:
            continue
        status = SLURM_STATUS[job.category]
        if status == "failed" and batch_id in retired and job.state.startswith("CANCELLED"):
            status = "cancelled"
        states[batch_id] = (status, job.start, job.end if status in ("finished", "failed", "cancelled") else None)
    return states


READERS: dict[str, Reader] = {"Local": local_states, "Slurm": slurm_states}


def reader_for(queue: QueueConfig) -> Reader | None:
    """The reader of the queue's batch status plugin, if there is one."""
    return READERS.get(queue.getstr("batchstatusplugin") or "")
