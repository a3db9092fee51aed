"""``Condor`` WMS status: the jobs waiting in an HTCondor pool as a queue's work (APF's overlay mode).

One queue submits jobs to a pool; another queue reads that pool's idle jobs as its ready
work and submits the resources (VMs, glideins) that run them. Jobs are grouped by the
attribute ``wmsstatus.condor.queueskey`` (default ``MATCH_APF_QUEUE``) and matched to the
queue's ``wmsqueue``; ``wmsqueue = ANY`` counts every job of the pool (APF's ``ANY``).
This factory's own pilots (stamped ``ApfctlFactory``) are never work: in cloud mode the
VMs' pilots often share the pool with the user jobs, and counting them grew 3 jobs into
21 VMs in 3 cycles.

With ``wmsstatus.condor.machinead`` (a file holding the machine ClassAd of the queue's
VMs), idle jobs whose ``Requirements`` that machine can never satisfy are counted apart
(``unmatchable``) and are not ready work: no VM the queue starts would run them.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, ClassVar

from apfctl.config.keys import Key
from apfctl.config.model import QueueConfig
from apfctl.errors import BackendError, ConfigError
from apfctl.interfaces import FactoryContext, WMSCounts, WMSStatusPlugin
from apfctl_condor import states
from apfctl_condor.schedd import Endpoint, call, get_schedd
from apfctl_condor.settings import endpoint_keys, endpoint_problems, quote, read_endpoint
from apfctl_condor.states import FACTORY_ATTR

PREFIX = "wmsstatus.condor"
QUEUESKEY = f"{PREFIX}.queueskey"
MACHINEAD = f"{PREFIX}.machinead"
MACHINEAD_LIMIT = 64 * 1024
ANY = "ANY"
_ATTRIBUTE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# JobStatus -> WMS field: idle is ready work, held is work that cannot run now.
_FIELDS = {0: "ready", 1: "ready", 2: "running", 6: "running", 5: "notready"}
FIELDS = ("ready", "notready", "running", "unmatchable")


class CondorWMSStatus(WMSStatusPlugin):
    """Idle (ready), running and held (notready) jobs of one pool, per queue."""

    KEYS: ClassVar[dict[str, Key]] = {**endpoint_keys(PREFIX),
            QUEUESKEY: Key("str", "MATCH_APF_QUEUE", doc="job attribute whose value names the queue"),
            MACHINEAD: Key("path", None, doc="file with the machine ClassAd of the queue's VMs: idle jobs it "
                                              "cannot match are counted as unmatchable, not ready")}

    @classmethod
    def endpoint(cls, queue: QueueConfig, factory: FactoryContext) -> Hashable:
        attribute = queue.typed(QUEUESKEY, cls.KEYS[QUEUESKEY])
        if attribute.upper() == ANY:   # APF's default meant "no grouping"
            attribute = "MATCH_APF_QUEUE"
        if not _ATTRIBUTE.match(attribute):
            raise queue.error(QUEUESKEY, "not a ClassAd attribute name", attribute)
        machine = queue.typed(MACHINEAD, cls.KEYS[MACHINEAD])
        return read_endpoint(queue, PREFIX), attribute, str(machine) if machine else None

    @classmethod
    def check(cls, name: str, queue: QueueConfig, factory: FactoryContext) -> list[str]:
        problems = endpoint_problems(queue, PREFIX)
        attribute = queue.getstr(QUEUESKEY)
        if attribute is not None and not _ATTRIBUTE.match(attribute):
            problems.append(f"{QUEUESKEY}: not a ClassAd attribute name")
        try:
            machine = queue.typed(MACHINEAD, cls.KEYS[MACHINEAD])
            if machine is not None:
                machine_ad(str(machine))
        except (ConfigError, ValueError) as exc:
            problems.append(f"{MACHINEAD}: {getattr(exc, 'message', exc)}")
        return problems

    def query(self, queues: Sequence[QueueConfig]) -> Mapping[str, WMSCounts | Exception]:
        endpoint: Endpoint
        endpoint, attribute, machine_file = self.endpoint_key  # type: ignore[misc]
        try:
            machine = machine_ad(machine_file) if machine_file else None
        except ValueError as exc:
            raise BackendError(f"{MACHINEAD}: {exc}") from None
        schedd = get_schedd(endpoint)
        jobs = call(endpoint, "query", schedd.query,
                    constraint=f"(JobStatus =?= 0 || JobStatus =?= 1 || JobStatus =?= 2 || JobStatus =?= 5 "
                               f"|| JobStatus =?= 6) && {FACTORY_ATTR} =!= {quote(self.factory.factory_id)}",
                    projection=[] if machine is not None else [attribute, "JobStatus"])   # Requirements need all
        per_key: dict[Any, dict[str, int]] = {}
        total = dict.fromkeys(FIELDS, 0)
        for ad in jobs:
            try:
                field = _FIELDS.get(states.attribute(ad, "JobStatus", "int"))  # type: ignore[arg-type]
            except states.BadAttribute as exc:
                raise BackendError(f"{endpoint}: {exc}") from None
            if field is None:
                continue
            if field == "ready" and machine is not None and not machine.matches(ad):
                field = "unmatchable"
            total[field] += 1
            key = ad.get(attribute)
            if not isinstance(key, str):   # another user's job labelled otherwise: work of no queue but ANY
                continue
            counts = per_key.get(key)
            if counts is None:
                counts = per_key[key] = dict.fromkeys(FIELDS, 0)
            counts[field] += 1
        answers: dict[str, WMSCounts | Exception] = {}
        for queue in queues:
            found = total if queue.wmsqueue == ANY else per_key.get(queue.wmsqueue, {})
            answers[queue.name] = WMSCounts(queue=queue.wmsqueue, ready=found.get("ready", 0),
                                            notready=found.get("notready", 0), running=found.get("running", 0),
                                            done=0, failed=0, status=None)
            if machine is not None:
                answers[queue.name]["unmatchable"] = found.get("unmatchable", 0)
        return answers


def machine_ad(path: str) -> Any:
    """The machine ClassAd in ``path`` (new or old syntax); ValueError saying what is wrong."""
    import classad2

    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(MACHINEAD_LIMIT + 1)
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(text) > MACHINEAD_LIMIT:
        raise ValueError(f"{path} is larger than {MACHINEAD_LIMIT} bytes")
    try:
        ads = list(classad2.parseAds(text))
    except Exception as exc:  # classad2 raises ValueError or its own errors
        raise ValueError(f"{path} is not a ClassAd: {exc}") from None
    if len(ads) != 1:
        raise ValueError(f"{path} holds {len(ads)} ClassAds, not one")
    return ads[0]
