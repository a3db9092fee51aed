"""Harvester's pull-mode worker count as a rule (docs/resource-types.md).

``Harvester`` gives, for the queue (or, on a unified queue, for the resource type whose
chain runs), the new pilots PanDA Harvester's ``worker_adjuster`` would give: nothing
while the site is offline, in standby or in maintenance, or when a limit is reached;
otherwise ``min(limit, max(floor(activated x activateWorkerFactor), 1)) - queued``,
capped by the ``maxWorkers``, cores and memory headroom and by ``maxNewWorkersPerCycle``.
The limits are the queue's Harvester keys (or its CRIC ``params``). The input is ignored,
as APF's Ready ignores it: the rule sets the number, later rules may lower it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apfctl.config.model import QueueConfig
from apfctl.interfaces import FactoryContext
from apfctl.record.message import NUMBER, TEXT, message
from apfctl.resourcetypes.check import queue_settings
from apfctl.resourcetypes.limits import evaluate
from apfctl.resourcetypes.newpilots import TypeState, from_batch, type_new_pilots
from apfctl.resourcetypes.sizing import pilot_size
from apfctl_sched.common import Rule, batch_usable, wms_usable

NO_SUBMISSION_STATUS = frozenset({"offline", "standby", "maintenance"})   # worker_adjuster's
_INVALID = message("Harvester", comment="Invalid wmsinfo or batchinfo", in_=NUMBER, ret=0)
_STATUS = message("Harvester", comment=TEXT, in_=NUMBER, ret=0)
_COUNTED = message("Harvester", comment=TEXT, in_=NUMBER, activated=NUMBER, queued=NUMBER, running=NUMBER,
                   ret=NUMBER)


class Harvester(Rule):
    """PanDA Harvester's number of new workers, per resource type, under its queue limits."""

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.resources, self.limits = queue_settings(queue, factory.config)
        self.own_size = pilot_size(None, self.resources.size)
        self.n_types = max(len(self.resources.types), 1)

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if not (wms_usable(record) and batch_usable(record)):
            return 0, _INVALID(n)
        wms, batch = record["wms"], record["batch"]
        status = wms.get("status")
        if status in NO_SUBMISSION_STATUS:
            return 0, _STATUS(f"queue status {status}", n)
        size = self.resources.pilots.get(record.get("resource_type") or "", self.own_size)
        state = TypeState(queued=batch["pending"], running=batch["running"], activated=wms["ready"], size=size)
        queue, running = from_batch(record.get("queue_batch") or batch, self.resources)
        evaluated = evaluate(self.limits, running, self.n_types)
        out, why = type_new_pilots(self.limits, evaluated, state, queue)
        return out, _COUNTED(why, n, state.activated, state.queued, state.running, out)
