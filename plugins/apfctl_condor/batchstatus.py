"""``Condor`` batch status: one queue query and one history query per schedd, all queues at once."""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, ClassVar

from apfctl.config.keys import Key
from apfctl.config.model import QueueConfig
from apfctl.errors import BackendError
from apfctl.interfaces import BatchCounts, BatchStatusPlugin, FactoryContext
from apfctl_condor import cloud
from apfctl_condor import vms as vmstate
from apfctl_condor.pilotqueue import PilotQueue
from apfctl_condor.schedd import Endpoint, call, get_schedd, history_stop
from apfctl_condor.settings import (
    SELECTION,
    SELECTION_KEY,
    endpoint_keys,
    endpoint_problems,
    pilot_constraint,
    quote,
    read_endpoint,
)
from apfctl_condor.states import FACTORY_ATTR, HISTORY_ATTRS, QUEUE_ATTRS, QUEUE_KEY, BadAttribute, aggregate

PREFIX = "batchstatus.condor"


class CondorBatchStatus(BatchStatusPlugin):
    """Pilot states of every queue on one schedd (APF's ``Condor`` batch status plugin).

    Fixes APF: held pilots are counted apart from pending, JobStatus 6 is exiting, finished
    pilots come from the history of the last hour with done/fault from the exit code, and a
    failing schedd fails its queues' status instead of freezing every queue.
    """

    KEYS: ClassVar[dict[str, Key]] = endpoint_keys(PREFIX)
    FACTORY_KEYS: ClassVar[dict[str, Key]] = {SELECTION_KEY: SELECTION}

    @classmethod
    def endpoint(cls, queue: QueueConfig, factory: FactoryContext) -> Hashable:
        return read_endpoint(queue, PREFIX)

    @classmethod
    def check(cls, name: str, queue: QueueConfig, factory: FactoryContext) -> list[str]:
        return endpoint_problems(queue, PREFIX)

    def query(self, queues: Sequence[QueueConfig], since: float) -> Mapping[str, BatchCounts | Exception]:
        endpoint: Endpoint = self.endpoint_key  # type: ignore[assignment]
        selection = self.factory.config.typed(SELECTION_KEY, SELECTION)
        constraint = pilot_constraint(self.factory.factory_id, selection)
        schedd = get_schedd(endpoint)
        jobs = call(endpoint, "query", schedd.query, constraint=constraint, projection=list(QUEUE_ATTRS))
        history = call(endpoint, "history", schedd.history,
                       constraint=f"({constraint}) && EnteredCurrentStatus >= {int(since)}",
                       projection=list(HISTORY_ATTRS), since=history_stop(since))
        try:
            counts: dict[str, BatchCounts | Exception] = dict(aggregate(jobs, history, [q.name for q in queues]))
        except BadAttribute as exc:   # nothing is counted from a schedd whose ads make no sense
            raise BackendError(f"{endpoint}: {exc}") from None
        ec2 = [q for q in queues if cloud.is_ec2(q)]
        if ec2:   # VMs: one more schedd query, and one per pool they join (apfctl_condor.cloud)
            add_vms(counts, [cloud.ec2_queue(q, self.factory) for q in ec2], schedd, endpoint)
        return counts


def add_vms(counts: dict[str, BatchCounts | Exception], queues: Sequence[PilotQueue], schedd: Any,
            endpoint: Endpoint) -> None:
    """EC2 queues: booting VMs are pending, VMs up are running, and each VM is listed (``vms``)."""
    names = " || ".join(f"{QUEUE_KEY} =?= {quote(q.queue.name)}" for q in queues)
    mine = f"{FACTORY_ATTR} =?= {quote(queues[0].factory.factory_id)} && ({names})"
    ads = call(endpoint, "query", schedd.query, constraint=mine, projection=vmstate.JOB_ATTRS)
    for name, answer in cloud.status(queues, ads, time.time()).items():
        batch = counts.get(name)
        if isinstance(answer, Exception) or not isinstance(batch, BatchCounts):
            counts[name] = answer if isinstance(answer, Exception) else batch  # type: ignore[assignment]
            continue
        batch.pending, batch.running = answer["pending"], answer["running"]
        batch.extra.update(retiring=answer["retiring"], vms=answer["vms"])
