"""``Condor`` batch status: one queue query and one history query per schedd, all queues at once."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import ClassVar

from apfctl.config.keys import Key
from apfctl.config.model import QueueConfig
from apfctl.errors import BackendError
from apfctl.interfaces import BatchCounts, BatchStatusPlugin, FactoryContext
from apfctl_condor.schedd import Endpoint, call, get_schedd, history_stop
from apfctl_condor.settings import (
    SELECTION,
    SELECTION_KEY,
    endpoint_keys,
    endpoint_problems,
    pilot_constraint,
    read_endpoint,
)
from apfctl_condor.states import HISTORY_ATTRS, QUEUE_ATTRS, BadAttribute, aggregate

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
            return aggregate(jobs, history, [q.name for q in queues])
        except BadAttribute as exc:   # nothing is counted from a schedd whose ads make no sense
            raise BackendError(f"{endpoint}: {exc}") from None
