"""Each pilot's state in PanDA's worker words, read from where the backend keeps it.

PanDA's worker statuses: ``submitted``, ``running``, ``finished``, ``failed``, ``cancelled``
(removed by the factory), ``missed`` (lost: it ended without a trace). A reader takes a
queue and the batch ids of its open workers and answers batch id -> (status, start, end)
for those it knows; an id it does not answer stays as last seen. Readers exist for Local
(its pilot state files, no query), Slurm (one ``squeue`` per cluster and publish, plus the
history for pilots that left it) and HTCondor (one queue query per schedd and publish, plus
the history).
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


CONDOR_ATTRS = ["ClusterId", "ProcId", "JobStatus", "ExitCode", "RemoveReason", "JobCurrentStartDate",
                "JobStartDate", "CompletionDate", "EnteredCurrentStatus"]


def _condor_state(ad: Any) -> State:
    from apfctl_condor import states as condor

    status = ad.get("JobStatus")
    start = ad.get("JobCurrentStartDate") or ad.get("JobStartDate")
    end = ad.get("CompletionDate") or ad.get("EnteredCurrentStatus")
    start = float(start) if isinstance(start, (int, float)) and start > 0 else None
    end = float(end) if isinstance(end, (int, float)) and end > 0 else None
    if status == condor.REMOVED:
        return ("cancelled" if condor.outcome(ad) == "removed" else "failed"), start, end
    if status == condor.COMPLETED:
        return ("finished" if ad.get("ExitCode") == 0 else "failed"), start, end
    if status in (condor.RUNNING, condor.EXITING):
        return "running", start, None
    return "submitted", None, None           # idle, unexpanded, held


def condor_states(queue: QueueConfig, factory: FactoryContext, batch_ids: Sequence[str], since: float,
                  cache: dict[Any, Any]) -> dict[str, State]:
    """HTCondor pilots from one queue query per schedd and, for those that left the queue, the history."""
    from apfctl_condor.batchstatus import PREFIX
    from apfctl_condor.schedd import call, get_schedd, history_stop
    from apfctl_condor.settings import SELECTION, SELECTION_KEY, pilot_constraint, read_endpoint
    from apfctl_condor.states import job_id

    endpoint = read_endpoint(queue, PREFIX)
    constraint = pilot_constraint(factory.factory_id, factory.config.typed(SELECTION_KEY, SELECTION))
    if ("queue", endpoint) not in cache:
        ads = call(endpoint, "query", get_schedd(endpoint).query, constraint=constraint, projection=CONDOR_ATTRS)
        cache[("queue", endpoint)] = {job_id(ad): ad for ad in ads}
    ads = cache[("queue", endpoint)]
    if any(batch_id not in ads for batch_id in batch_ids):
        key = ("history", endpoint, since)
        if key not in cache:
            found = call(endpoint, "history", get_schedd(endpoint).history,
                         constraint=f"({constraint}) && EnteredCurrentStatus >= {int(since) - 60}",
                         projection=CONDOR_ATTRS, since=history_stop(since - 60))
            cache[key] = {job_id(ad): ad for ad in found}
        ads = {**cache[key], **ads}
    return {batch_id: _condor_state(ads[batch_id]) for batch_id in batch_ids if batch_id in ads}


READERS: dict[str, Reader] = {"Local": local_states, "Slurm": slurm_states, "Condor": condor_states}


def reader_for(queue: QueueConfig) -> Reader | None:
    """The reader of the queue's batch status plugin, if there is one."""
    return READERS.get(queue.getstr("batchstatusplugin") or "")
