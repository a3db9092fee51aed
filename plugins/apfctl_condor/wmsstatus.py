"""``Condor`` WMS status: the jobs waiting in an HTCondor pool as a queue's work (APF's overlay mode).

One queue submits jobs to a pool; another queue reads that pool's idle jobs as its ready
work and submits the resources (VMs, glideins) that run them. Jobs are grouped by the
attribute ``wmsstatus.condor.queueskey`` (default ``MATCH_APF_QUEUE``) and matched to the
queue's ``wmsqueue``; ``wmsqueue = ANY`` counts every job of the pool (APF's ``ANY``).
This factory's own pilots (stamped ``ApfctlFactory``) are never work: in cloud mode the
VMs' pilots often share the pool with the user jobs, and counting them grew 3 jobs into
21 VMs in 3 cycles.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, ClassVar

from apfctl.config.keys import Key
from apfctl.config.model import QueueConfig
from apfctl.errors import BackendError
from apfctl.interfaces import FactoryContext, WMSCounts, WMSStatusPlugin
from apfctl_condor import states
from apfctl_condor.schedd import Endpoint, call, get_schedd
from apfctl_condor.settings import endpoint_keys, endpoint_problems, quote, read_endpoint
from apfctl_condor.states import FACTORY_ATTR

PREFIX = "wmsstatus.condor"
QUEUESKEY = f"{PREFIX}.queueskey"
ANY = "ANY"
_ATTRIBUTE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# JobStatus -> WMS field: idle is ready work, held is work that cannot run now.
_FIELDS = {0: "ready", 1: "ready", 2: "running", 6: "running", 5: "notready"}


class CondorWMSStatus(WMSStatusPlugin):
    """Idle (ready), running and held (notready) jobs of one pool, per queue."""

    KEYS: ClassVar[dict[str, Key]] = {**endpoint_keys(PREFIX),
            QUEUESKEY: Key("str", "MATCH_APF_QUEUE", doc="job attribute whose value names the queue")}

    @classmethod
    def endpoint(cls, queue: QueueConfig, factory: FactoryContext) -> Hashable:
        attribute = queue.typed(QUEUESKEY, cls.KEYS[QUEUESKEY])
        if attribute.upper() == ANY:   # APF's default meant "no grouping"
            attribute = "MATCH_APF_QUEUE"
        if not _ATTRIBUTE.match(attribute):
            raise queue.error(QUEUESKEY, "not a ClassAd attribute name", attribute)
        return read_endpoint(queue, PREFIX), attribute

    @classmethod
    def check(cls, name: str, queue: QueueConfig, factory: FactoryContext) -> list[str]:
        problems = endpoint_problems(queue, PREFIX)
        attribute = queue.getstr(QUEUESKEY)
        if attribute is not None and not _ATTRIBUTE.match(attribute):
            problems.append(f"{QUEUESKEY}: not a ClassAd attribute name")
        return problems

    def query(self, queues: Sequence[QueueConfig]) -> Mapping[str, WMSCounts | Exception]:
        endpoint: Endpoint
        endpoint, attribute = self.endpoint_key  # type: ignore[misc]
        schedd = get_schedd(endpoint)
        jobs = call(endpoint, "query", schedd.query,
                    constraint=f"(JobStatus =?= 0 || JobStatus =?= 1 || JobStatus =?= 2 || JobStatus =?= 5 "
                               f"|| JobStatus =?= 6) && {FACTORY_ATTR} =!= {quote(self.factory.factory_id)}",
                    projection=[attribute, "JobStatus"])
        per_key: dict[Any, dict[str, int]] = {}
        total = dict.fromkeys(("ready", "notready", "running"), 0)
        for ad in jobs:
            try:
                field = _FIELDS.get(states.attribute(ad, "JobStatus", "int"))  # type: ignore[arg-type]
            except states.BadAttribute as exc:
                raise BackendError(f"{endpoint}: {exc}") from None
            if field is None:
                continue
            total[field] += 1
            key = ad.get(attribute)
            if not isinstance(key, str):   # another user's job labelled otherwise: work of no queue but ANY
                continue
            counts = per_key.get(key)
            if counts is None:
                counts = per_key[key] = dict.fromkeys(("ready", "notready", "running"), 0)
            counts[field] += 1
        answers: dict[str, WMSCounts | Exception] = {}
        for queue in queues:
            found = total if queue.wmsqueue == ANY else per_key.get(queue.wmsqueue, {})
            answers[queue.name] = WMSCounts(queue=queue.wmsqueue, ready=found.get("ready", 0),
                                            notready=found.get("notready", 0), running=found.get("running", 0),
                                            done=0, failed=0, status=None)
        return answers
