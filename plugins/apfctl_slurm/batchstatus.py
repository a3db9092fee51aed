"""The ``Slurm`` batch status plugin: every queue of a cluster from one ``squeue`` call.

Queues share an instance when they address the same cluster through the same commands and
read history the same way (:meth:`SlurmBatchStatus.endpoint`). ``query`` makes one ``squeue``
call (the factory user's jobs, array tasks one per line, ended ones included) and one history
read, and sorts the pilots into queues by the stamps in their job names, keeping only this
factory's. Pilots that ended come from ``squeue`` (within MinJobAge) merged with ``sacct`` or
the job-completion log (``batchstatus.slurm.history``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from apfctl.config.keys import Key
from apfctl.config.model import QueueConfig
from apfctl.interfaces import BatchCounts, BatchStatusPlugin, FactoryContext, Finished, Outcome
from apfctl.record.states import ENDED, PilotState, count
from apfctl_slurm import commands as slurm_commands
from apfctl_slurm import history, journal
from apfctl_slurm.commands import SlurmCommands
from apfctl_slurm.jobs import Job, squeue

DEFAULT_JOBCOMP = "/var/log/slurm/jobcomp.log"

KEYS: dict[str, Key] = {
    **slurm_commands.KEYS,
    "batchstatus.slurm.history": Key(
        "str", "auto", choices=history.MODES,
        doc="where pilots that ended come from: sacct, jobcomp (the completion log), squeue (MinJobAge "
            "only), or auto (sacct, else the completion log if readable, else squeue)"),
    "batchstatus.slurm.jobcomp": Key("path", DEFAULT_JOBCOMP,
                                     doc="the job-completion log (JobCompLoc of jobcomp/filetxt)"),
}


@dataclass(frozen=True)
class Endpoint:
    commands: SlurmCommands
    history: str
    jobcomp: str

    @classmethod
    def from_queue(cls, queue: QueueConfig) -> Endpoint:
        return cls(SlurmCommands.from_queue(queue),
                   queue.typed("batchstatus.slurm.history", KEYS["batchstatus.slurm.history"]).lower(),
                   queue.typed("batchstatus.slurm.jobcomp", KEYS["batchstatus.slurm.jobcomp"]))

    def ended_jobs(self, since: float) -> list[Job]:
        return history.ended_jobs(self.commands, self.history, Path(self.jobcomp), since)


def _outcome(job: Job, retired: set[str], retired_arrays: set[str]) -> Outcome:
    """done, fault, or removed: cancelled by the factory itself (its journal has the id).

    When the last pending tasks of an array are cancelled, Slurm ends the array's own record
    under the bare array id (``1234``, no task index); it is the factory's if the journal has
    any task of that array.
    """
    if job.category == "done":
        return "done"
    mine = job.id in retired or ("_" not in job.id and job.id in retired_arrays)
    return "removed" if mine and job.state.startswith("CANCELLED") else "fault"


class SlurmBatchStatus(BatchStatusPlugin):
    """Pilot states of every queue on one Slurm cluster."""

    KEYS = KEYS

    @classmethod
    def check(cls, name: str, queue: QueueConfig, factory: FactoryContext) -> list[str]:
        return slurm_commands.check_paths(queue)

    @classmethod
    def endpoint(cls, queue: QueueConfig, factory: FactoryContext) -> Hashable:
        return Endpoint.from_queue(queue)

    def __init__(self, endpoint: Hashable, factory: FactoryContext) -> None:
        super().__init__(endpoint, factory)
        assert isinstance(endpoint, Endpoint)
        self.where = endpoint

    def query(self, queues: Sequence[QueueConfig], since: float) -> Mapping[str, BatchCounts | Exception]:
        jobs = squeue(self.where.commands)
        ended = self.where.ended_jobs(since)
        retired = journal.retired_ids(journal.journal_path(self.factory.state_dir, self.where.commands.cluster))
        retired_arrays = {job_id.partition("_")[0] for job_id in retired}
        factory_id = self.factory.factory_id
        counts = {queue.name: BatchCounts() for queue in queues}
        finished: dict[str, dict[str, Job]] = {name: {} for name in counts}
        holds: dict[str, Counter[str]] = {name: Counter() for name in counts}
        for job in ended:
            if job.tag.factory == factory_id and job.tag.queue in counts:
                finished[job.tag.queue][job.id] = job
        for job in jobs:
            if job.tag.factory != factory_id or job.tag.queue not in counts:
                continue
            batch = counts[job.tag.queue]
            category = job.category
            if category in ENDED:
                finished[job.tag.queue][job.id] = job
                continue
            count(batch, category, job.tag.resource_type)
            if category is PilotState.HELD:
                holds[job.tag.queue][job.reason if job.reason not in ("", "None") else job.state] += 1
        for name, batch in counts.items():
            batch.finished = [Finished(job.end, job.walltime, _outcome(job, retired, retired_arrays))
                              for job in finished[name].values() if job.end is not None and job.end >= since]
            batch.extra["held_reasons"] = [{"code": None, "subcode": None, "count": count, "example": reason}
                                           for reason, count in holds[name].most_common()]
        return counts
