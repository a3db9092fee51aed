"""New pilots per resource type under Harvester's limits, and the queue-wide proportional trim.

Facts from HSF/harvester ``harvesterbody/worker_adjuster.py`` ``define_num_workers`` (pull
mode, ``mapType = NoJob``: the pilots fetch their jobs):

* per type, nothing when its queued pilots reach the per-type queued limit, when its queued
  and running pilots reach ``maxWorkers``, or when the queue's queued cores or memory reach
  their limits; otherwise the queued target is ``min(limit, max(floor(activated x factor), 1))``
  (0 instead of 1 with ``noPilotsWhenNoActiveJobs`` and no activated job) and the new pilots
  are ``target - queued``, capped by the ``maxWorkers`` headroom, by the cores and memory
  headroom divided by the pilot's size, and by ``maxNewWorkersPerCycle``;
* then, over the types of a unified queue, the sum is capped by the queue's queued limit
  and ``maxWorkers`` headroom and by ``maxNewWorkersPerCycle``, each type getting
  ``floor(n x cap / sum)`` and the remainder going one by one to the largest remainders.

Where this differs from Harvester (docs/resource-types.md): the headroom of cores and
memory is divided rounding down, and the queue-wide trim also keeps the sum of cores and
memory within their headroom, so that no limit is ever exceeded; 0 or unset
``maxWorkers``/``maxNewWorkersPerCycle`` is no limit in the trim as in the per-type step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apfctl.resourcetypes.limits import Evaluated, Limits, Running
from apfctl.resourcetypes.queueconf import QueueResources
from apfctl.resourcetypes.sizing import PilotSize

BATCH_TYPE_COUNTS = ("pending", "held", "running", "exiting")


@dataclass(frozen=True)
class TypeState:
    """One resource type of a queue this cycle: its pilots, its waiting jobs and its pilot size."""

    queued: int        # submitted and pending pilots of this type
    running: int
    activated: int     # jobs of this type waiting for a pilot (PanDA activated)
    size: PilotSize


@dataclass(frozen=True)
class QueueState:
    """The whole queue this cycle: every pilot, typed or not, and the queued cores and memory."""

    queued: int
    running: int
    queued_cores: int
    queued_memory: int


def untyped(batch: Mapping[str, Any]) -> dict[str, int]:
    """Pilots of a record's batch section that carry no type: the totals minus the typed counts."""
    loose = {key: int(batch.get(key) or 0) for key in BATCH_TYPE_COUNTS}
    for counts in (batch.get("types") or {}).values():
        for key in BATCH_TYPE_COUNTS:
            loose[key] -= counts.get(key, 0)
    return {key: max(value, 0) for key, value in loose.items()}


def from_batch(batch: Mapping[str, Any], resources: QueueResources,
               loose: Mapping[str, int] | None = None) -> tuple[QueueState, Running]:
    """The whole queue's queued and running pilots, cores and memory, from a record's batch section.

    Typed pilots count with their type's size, untyped ones with the queue's own size.
    """
    loose = untyped(batch) if loose is None else loose
    types = batch.get("types") or {}
    own = resources.size
    own_memory = own.maxrss or 0
    queued_cores, queued_memory = loose["pending"] * own.corecount, loose["pending"] * own_memory
    running_cores, running_memory = loose["running"] * own.corecount, loose["running"] * own_memory
    for rt, size in resources.pilots.items():
        counts = types.get(rt)
        if counts:
            pending, running = counts.get("pending", 0), counts.get("running", 0)
            queued_cores += pending * size.cores
            queued_memory += pending * (size.memory or 0)
            running_cores += running * size.cores
            running_memory += running * (size.memory or 0)
    state = QueueState(queued=int(batch.get("pending") or 0), running=int(batch.get("running") or 0),
                       queued_cores=queued_cores, queued_memory=queued_memory)
    return state, Running(state.running, running_cores, running_memory)


def queued_target(limits: Limits, activated: int, limit: int | None) -> int:
    """Pull mode: ``min(limit, max(floor(activated x factor), 1))``, or 0 with noPilotsWhenNoActiveJobs."""
    scaled = activated * limits.activateWorkerFactor
    floor = 0 if limits.noPilotsWhenNoActiveJobs else 1
    wanted = max(int(scaled), 1) if scaled > 0 else floor
    return wanted if limit is None else min(wanted, limit)


def type_new_pilots(limits: Limits, ev: Evaluated, state: TypeState, queue: QueueState) -> tuple[int, str]:
    """New pilots of one type, and why (Harvester's words for the step that set the number)."""
    if ev.queued_per_type is not None and state.queued >= ev.queued_per_type:
        return 0, f"queued {state.queued} at the limit nQueueLimitWorker {ev.queued_per_type}"
    if ev.max_workers is not None and state.queued + state.running >= ev.max_workers:
        return 0, f"queued and running {state.queued + state.running} at the limit maxWorkers {ev.max_workers}"
    if ev.cores is not None and queue.queued_cores >= ev.cores:
        return 0, f"queued cores {queue.queued_cores} at the limit nQueueLimitWorkerCores {ev.cores}"
    if ev.memory is not None and queue.queued_memory >= ev.memory:
        return 0, f"queued memory {queue.queued_memory} at the limit nQueueLimitWorkerMemory {ev.memory}"
    target = queued_target(limits, state.activated, ev.queued_per_type)
    n = max(target - state.queued, 0)
    why = f"target {target} less queued {state.queued}"
    caps = []
    if ev.max_workers is not None:
        caps.append((max(ev.max_workers - state.queued - state.running, 0), "maxWorkers"))
    if ev.cores is not None:
        caps.append((max(ev.cores - queue.queued_cores, 0) // state.size.cores, "nQueueLimitWorkerCores"))
    if ev.memory is not None and state.size.memory:
        caps.append((max(ev.memory - queue.queued_memory, 0) // state.size.memory, "nQueueLimitWorkerMemory"))
    if limits.maxNewWorkersPerCycle:
        caps.append((limits.maxNewWorkersPerCycle, "maxNewWorkersPerCycle"))
    for cap, name in caps:
        if cap < n:
            n, why = cap, f"capped by {name} to {cap}"
    return n, why


def queue_cap(limits: Limits, ev: Evaluated, queue: QueueState) -> int | None:
    """The most new pilots the whole queue may get this cycle (None: no limit)."""
    caps = []
    if ev.queued is not None:
        caps.append(max(ev.queued - queue.queued, 0))
    if ev.max_workers is not None:
        caps.append(max(ev.max_workers - queue.queued - queue.running, 0))
    if limits.maxNewWorkersPerCycle:
        caps.append(limits.maxNewWorkersPerCycle)
    return min(caps) if caps else None


def trim(wanted: Mapping[str, int], cap: int | None, weights: Mapping[str, int] | None = None) -> dict[str, int]:
    """Scale ``wanted`` down so that ``sum(n x weight) <= cap``, proportionally (Harvester's UCORE trim).

    Each type first gets ``floor(n x cap / total)``; what is left goes one pilot at a time to
    the types with pilots wanted, largest remainder first, then the smaller request, then
    the order given, while it fits. With unit weights this is Harvester's trim exactly. A
    type of weight 0 (a pilot of unknown memory) does not count against ``cap`` and is kept.
    """
    if cap is None:
        return dict(wanted)
    if weights is None:
        total = sum(wanted.values())
    else:
        total = 0
        for name, n in wanted.items():
            total += n * weights[name]
    if total <= cap:
        return dict(wanted)
    weight = dict(weights) if weights is not None else dict.fromkeys(wanted, 1)
    out = dict(wanted)
    counted = [name for name in wanted if weight[name] > 0]
    if cap <= 0:
        out.update(dict.fromkeys(counted, 0))
        return out
    remainders: dict[str, int] = {}
    for name in counted:
        out[name], remainders[name] = divmod(wanted[name] * cap, total)
    left = cap - sum(out[name] * weight[name] for name in counted)
    position = {name: i for i, name in enumerate(wanted)}
    for name in sorted(counted, key=lambda t: (wanted[t] <= 0, -remainders[t], wanted[t], position[t])):
        if out[name] < wanted[name] and weight[name] <= left:
            out[name] += 1
            left -= weight[name]
    return out


def queue_new_pilots(limits: Limits, ev: Evaluated, wanted: Mapping[str, int], sizes: Mapping[str, PilotSize],
                     queue: QueueState) -> dict[str, int]:
    """The per-type numbers after the queue-wide limits: pilots, then cores, then memory.

    Queued cores or memory at their limit stop every type, as Harvester's per-type check does.
    """
    if (ev.cores is not None and queue.queued_cores >= ev.cores) or (
            ev.memory is not None and queue.queued_memory >= ev.memory):
        return dict.fromkeys(wanted, 0)
    out = trim(wanted, queue_cap(limits, ev, queue))
    if ev.cores is not None:
        out = trim(out, ev.cores - queue.queued_cores, {t: sizes[t].cores for t in out})
    if ev.memory is not None:
        out = trim(out, ev.memory - queue.queued_memory, {t: sizes[t].memory or 0 for t in out})
    return out
