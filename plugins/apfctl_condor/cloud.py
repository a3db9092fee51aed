"""The life of an EC2 queue's VMs: their state, draining their startds, removing their grid jobs.

A VM is its grid job on the factory's schedd plus the startd that booted on it and joined
the pool ``vm.collector`` names (the pool whose idle jobs the queue reads as its work). The
two are linked by the instance id: HTCondor sets ``EC2InstanceName`` on the grid job, the VM
image advertises the same id in its startd's (and master's) ad, attribute
``vm.instance_attribute`` (``EC2InstanceID`` by default). See docs/cloud.md.

Retirement (a negative decision) never kills what runs, unless the queue says so:

1. VMs whose startd is gone (left after draining, died, never joined within
   ``vm.boot_timeout``) have their grid job removed: EC2 terminates the instance;
2. grid jobs still waiting for an instance are removed (nothing runs there yet);
3. idle VMs are drained: the VM's master is told ``DaemonsOffPeaceful`` (``condor_off
   -peaceful``), through ``htcondor2.send_command``; the grid job gets ``ApfctlRetiring``;
4. busy VMs are drained too only when ``peaceful = False``; their jobs still run to the end,
   unless ``vm.drain_grace`` is set: a VM draining longer than that then loses its grid job.

VMs already draining count against the number to retire, so a retirement is not repeated.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apfctl.config.keys import Key
from apfctl.config.model import QueueConfig
from apfctl.errors import BackendError
from apfctl.interfaces import SubmitResult
from apfctl_condor import vms as vmstate
from apfctl_condor.pilotqueue import PilotQueue
from apfctl_condor.schedd import act_reason, call
from apfctl_condor.settings import is_hostname, quote
from apfctl_condor.states import PENDING, REMOVE_REASON_PREFIX, BadAttribute, total_success

log = logging.getLogger("apfctl.condor")

VM_KEYS: dict[str, Key] = {
    "vm.collector": Key("str", None, doc="host:port of the collector of the pool the VMs join "
                                         "(default: the local pool's)"),
    "vm.instance_attribute": Key("str", "EC2InstanceID", doc="attribute a VM's startd advertises its instance id in"),
    "vm.boot_timeout": Key("float", 900.0, minimum=1, doc="seconds a VM may take to join the pool; then it is removed"),
    "vm.drain_grace": Key("float", 0.0, minimum=0,
                          doc="peaceful = False only: seconds a draining busy VM may take, then its grid job is "
                              "removed (0: never)"),
}
PROBE_TIMEOUT = 10.0   # seconds for the EC2 endpoint check before a submission
STARTD_PROJECTION = ["Name", "Machine", "State", "Activity", "MyAddress", "MyType"]


@dataclass(frozen=True)
class VMSettings:
    """An EC2 queue's ``vm.*`` keys, checked."""

    collector: str | None
    attribute: str
    boot_timeout: float
    drain_grace: float


def settings(queue: PilotQueue) -> VMSettings:
    """The queue's VM settings; ConfigError naming the key for a malformed one."""
    collector = queue.value("vm.collector")
    if collector is not None:
        host, _, port = collector.rpartition(":")
        if not (host and is_hostname(host) and port.isdigit() and 0 < int(port) < 65536):
            raise queue.fail(queue.key("vm.collector"), "not host:port", collector)
    attribute = queue.value("vm.instance_attribute")
    if not vmstate.ATTRIBUTE_NAME.match(attribute):
        raise queue.fail(queue.key("vm.instance_attribute"), "not a ClassAd attribute name", attribute)
    return VMSettings(collector, attribute, queue.value("vm.boot_timeout"), queue.value("vm.drain_grace"))


def is_ec2(queue: QueueConfig) -> bool:
    return (queue.getstr("batchsubmitplugin") or "").strip().lower() == "condorec2"


def ec2_queue(queue: QueueConfig, factory: Any) -> PilotQueue:
    """A queue's keys as ``CondorEC2`` reads them (for the batch status, which has no plugin)."""
    from apfctl_condor.ec2 import CondorEC2

    return PilotQueue("CondorEC2", CondorEC2.PARENTS, CondorEC2._all_own, queue, factory)


# --- the outside: EC2 endpoint, collector, master ------------------------------------------
def probe_endpoint(queue: str, url: str, timeout: float = PROBE_TIMEOUT) -> None:
    """BackendError when the EC2 endpoint cannot be reached or answers a server error.

    The grid jobs themselves only learn of a dead endpoint by being held much later; this
    bounded check makes a cycle submit 0 VMs with the reason instead.
    """
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="GET"), timeout=timeout):
            return
    except urllib.error.HTTPError as exc:
        if exc.code < 500:   # EC2 answers a bare GET with a client error: it is there
            return
        reason = f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError) as exc:
        reason = str(getattr(exc, "reason", exc))
    raise BackendError(f"queue {queue}: EC2 endpoint {url} does not answer ({reason}); no VMs submitted")


def collector(location: str | None) -> Any:
    import htcondor2

    return htcondor2.Collector(location) if location else htcondor2.Collector()


def startd_ads(location: str | None, attribute: str) -> list[Any]:
    """Every slot ad of the pool that advertises an instance id; one collector query."""
    import htcondor2

    where = f"collector {location or '(local)'}"
    return call(where, "startd query", collector(location).query, htcondor2.AdType.Startd,  # type: ignore[arg-type]
                constraint=f"{attribute} =!= undefined", projection=[*STARTD_PROJECTION, attribute])


def drain(location: str | None, attribute: str, instances: Sequence[str]) -> list[str]:
    """Tell the masters of the VMs ``instances`` to shut their daemons down peacefully.

    The master, not the startd, is told (as ``condor_off -peaceful`` does), so that it does
    not start the startd again: the VM's master must advertise the instance id too
    (``MASTER_ATTRS``). Returns the instances that were told; a VM with no master ad yet, or
    whose master could not be told, is logged and left for the next retirement.
    """
    import htcondor2

    if not instances:
        return []
    wanted = " || ".join(f"{attribute} =?= {quote(i)}" for i in instances)
    pool = collector(location)
    where = f"collector {location or '(local)'}"
    ads = {ad.get(attribute): ad for ad in call(where, "master query", pool.query,  # type: ignore[arg-type]
                                                 htcondor2.AdType.Master, constraint=wanted,
                                                 projection=["Name", "MyAddress", "MyType", attribute])}
    told = []
    for instance in instances:
        ad = ads.get(instance)
        if ad is None:
            log.warning("VM %s: no master advertising it in %s (yet); not drained", instance, where)
            continue
        try:
            htcondor2.send_command(ad, htcondor2.DaemonCommands.DaemonsOffPeaceful)
        except Exception as exc:  # HTCondorException: that VM stays, the others are drained
            log.warning("VM %s: peaceful shutdown of %s failed: %s", instance, ad.get("Name"), exc)
            continue
        told.append(instance)
    return told


# --- what the schedd and the pool say ------------------------------------------------------
def vm_jobs(queue: PilotQueue) -> list[Any]:
    return list(call(queue.endpoint, "query", queue.schedd().query, constraint=queue.mine(),
                     projection=vmstate.JOB_ATTRS))


def current(queue: PilotQueue, conf: VMSettings, now: float) -> tuple[list[Any], list[vmstate.VM]]:
    """The queue's VM grid job ads and its VMs (one schedd and one collector query)."""
    jobs = vm_jobs(queue)
    startds = startd_ads(conf.collector, conf.attribute)
    try:
        return jobs, vmstate.vm_states(jobs, startds, conf.attribute, conf.boot_timeout, now)
    except BadAttribute as exc:
        raise BackendError(f"{queue.endpoint}: {exc}") from None


def status(queues: Sequence[PilotQueue], job_ads: Iterable[Any], now: float) -> dict[str, dict[str, Any] | Exception]:
    """Per EC2 queue: ``{pending, running, retiring, vms}`` for its batch section, or the error.

    ``job_ads`` are the VM grid jobs of all these queues (one schedd query); one collector
    query per pool the VMs join. A pool that does not answer fails its queues only.
    """
    from apfctl_condor.states import QUEUE_KEY

    by_queue: dict[str, list[Any]] = {}
    for ad in job_ads:
        by_queue.setdefault(ad.get(QUEUE_KEY), []).append(ad)
    pools: dict[tuple[str | None, str], list[Any] | Exception] = {}
    answers: dict[str, dict[str, Any] | Exception] = {}
    for queue in queues:
        name = queue.queue.name
        try:
            conf = settings(queue)
            pool_key = (conf.collector, conf.attribute)
            if pool_key not in pools:
                try:
                    pools[pool_key] = startd_ads(conf.collector, conf.attribute)
                except BackendError as exc:
                    pools[pool_key] = exc
            startds = pools[pool_key]
            if isinstance(startds, Exception):
                raise startds
            vms = vmstate.vm_states(by_queue.get(name, []), startds, conf.attribute, conf.boot_timeout, now)
        except BadAttribute as exc:
            answers[name] = BackendError(f"{queue.endpoint}: {exc}")
            continue
        except Exception as exc:  # ConfigError, BackendError: this queue's status fails alone
            answers[name] = exc
            continue
        answers[name] = {**vmstate.batch_view(vms),
                         "vms": {**vmstate.counts(vms), "list": [vm.as_dict() for vm in vms]}}
    return answers


# --- retirement and clean-up ---------------------------------------------------------------
def remove(queue: PilotQueue, ids: list[str], reason: str) -> int:
    import htcondor2

    if not ids:
        return 0
    answer = call(queue.endpoint, "remove", queue.schedd().act, htcondor2.JobAction.Remove, ids, act_reason(reason))
    return total_success(answer, len(ids))


def plan_retire(vms: Sequence[vmstate.VM], jobs: Mapping[str, Any], n: int, peaceful: bool, killorder: str,
                drain_grace: float, now: float) -> dict[str, list[vmstate.VM]]:
    """Pure: which VMs lose their grid job (``remove``) and which get drained (``drain``)."""
    remove_now = [vm for vm in vms if vm.state == "gone"]
    if not peaceful and drain_grace > 0:
        remove_now += [vm for vm in vms if vm.state == "draining" and vm.retiring_since is not None
                       and now - vm.retiring_since > drain_grace]
    wanted = n - sum(1 for vm in vms if vm.state in ("draining", "gone"))
    newest_first = killorder == "newest"
    order = sorted(vms, key=lambda vm: vm.since, reverse=newest_first)
    waiting = [vm for vm in order if vm.state == "booting" and jobs[vm.job].get("JobStatus") == PENDING]
    chosen_remove = waiting[:max(0, wanted)]
    wanted -= len(chosen_remove)
    candidates = [vm for vm in order if vm.state == "idle"]
    if not peaceful:
        candidates += [vm for vm in order if vm.state == "busy"]
    return {"remove": remove_now + chosen_remove, "drain": candidates[:max(0, wanted)]}


def retire(queue: PilotQueue, n: int, dry_run: bool = False) -> SubmitResult:
    """Retire up to ``n`` VMs gracefully (see the module text); the ids are the VMs' grid jobs."""
    conf = settings(queue)
    now = time.time()
    jobs, vms = current(queue, conf, now)
    by_id = {f"{ad.get('ClusterId')}.{ad.get('ProcId')}": ad for ad in jobs}
    plan = plan_retire(vms, by_id, n, queue.peaceful(), queue.killorder(), conf.drain_grace, now)
    removing = [vm.job for vm in plan["remove"]]
    draining = [vm for vm in plan["drain"] if vm.instance]
    if dry_run:
        words = [f"remove {' '.join(removing)}"] if removing else []
        words += [f"drain {' '.join(vm.instance or '' for vm in draining)}"] if draining else []
        return SubmitResult(ids=removing + [vm.job for vm in draining], description="; ".join(words) or None)
    done = remove(queue, removing, f"{REMOVE_REASON_PREFIX} retire: queue {queue.queue.name}: VM retired")
    told = set(drain(conf.collector, conf.attribute, [vm.instance for vm in draining if vm.instance]))
    drained = [vm.job for vm in draining if vm.instance in told]
    if drained:
        call(queue.endpoint, "edit", queue.schedd().edit, drained, vmstate.RETIRING_ATTR, str(int(now)))
    return SubmitResult(ids=removing[:done] + drained)


def clean(queue: PilotQueue, dry_run: bool) -> list[dict[str, Any]]:
    """``apfctl clean``: the grid jobs of VMs whose startd is gone are removed (instances terminated)."""
    conf = settings(queue)
    _, vms = current(queue, conf, time.time())
    gone = [vm for vm in vms if vm.state == "gone"]
    if not gone:
        return []
    reason = f"{REMOVE_REASON_PREFIX} clean: queue {queue.queue.name}: VM's startd gone"
    entry: dict[str, Any] = {"queue": queue.queue.name, "action": "remove", "what": "vm_gone",
                             "ids": [vm.job for vm in gone], "reason": reason, "dry_run": dry_run,
                             "why": {vm.job: vm.why for vm in gone}}
    if not dry_run:
        entry["succeeded"] = remove(queue, entry["ids"], reason)
    return [entry]
