"""Deciding a unified queue per resource type (docs/resource-types.md).

The queue's ``schedplugin`` chain runs once per type, each time on a view of the record in
which ``wms`` and ``batch`` hold that type's counts (APF's rules unchanged, each type with
its own trace and APF message). Then the queue-wide Harvester limits trim the per-type
numbers proportionally. The decision gives the total in ``pilots``, every type in
``types`` (pilots, msg and the pilot size), and the steps of all types in ``trace``, each
marked with its ``type`` (a type's trace is its steps, in order).

Pilots without a type (APF's, or from before a queue served types) are counted in every
type's view: they may be of any type, so none is submitted on the assumption that they
are not there. A typed queue whose WMS status has no per-type counts gets 0 pilots (with
``wmsstatusplugin = None`` every type sees no waiting work, as the queue does). A rule that
needs the whole queue (Harvester's) finds its batch section as ``queue_batch`` in the view.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from apfctl.record import Record, build
from apfctl.record.message import NUMBER, TEXT, message
from apfctl.resourcetypes.limits import Limits, evaluate
from apfctl.resourcetypes.newpilots import BATCH_TYPE_COUNTS, from_batch, queue_new_pilots, untyped
from apfctl.resourcetypes.queueconf import QueueResources

NO_WORK = {"ready": 0, "notready": 0, "running": 0, "done": 0, "failed": 0}   # wmsstatusplugin = None
NO_PILOTS: dict[str, int] = {}
_LIMITS = message("Limits", comment=TEXT, in_=NUMBER, ret=NUMBER)
Chain = Callable[[Mapping[str, Any]], tuple[int, list[dict[str, Any]]]]


def decide_types(record: Record, resources: QueueResources, limits: Limits, chain: Chain) -> Record:
    """Add the per-type ``decision`` to a record whose status is usable; ``chain(view)`` runs the rules."""
    wms = record["wms"]
    wms_types = wms.get("types") if wms.get("plugin") is not None else dict.fromkeys(resources.types, NO_WORK)
    missing = [rt for rt in resources.types if rt not in wms_types] if type(wms_types) is dict else resources.types
    if missing:
        return zero_types(record, resources, f"wms status has no counts for resource type {missing[0]}")
    batch = record["batch"]
    batch_types = batch.get("types") or {}
    loose = untyped(batch)
    wanted: dict[str, int] = {}
    traces: dict[str, list[dict[str, Any]]] = {}
    # One view, its counts replaced type by type: rules are pure functions of what they are given.
    wms_view, batch_view = dict(wms), dict(batch)
    view = dict(record)
    view["wms"], view["batch"], view["queue_batch"] = wms_view, batch_view, batch
    for rt in resources.types:
        wms_view.update(wms_types[rt])
        typed = batch_types.get(rt) or NO_PILOTS
        for key in BATCH_TYPE_COUNTS:
            batch_view[key] = typed.get(key, 0) + loose[key]
        view["resource_type"] = rt
        wanted[rt], traces[rt] = chain(view)
    if not limits.limited:   # no Harvester limit on this queue: nothing to trim
        record["decision"] = _decision(resources, wanted, traces)
        return record
    queue, running = from_batch(batch, resources, loose)
    evaluated = evaluate(limits, running, len(resources.types))
    positive = {rt: max(n, 0) for rt, n in wanted.items()}
    trimmed = queue_new_pilots(limits, evaluated, positive, resources.pilots, queue)
    for rt, n in wanted.items():
        if n > 0 and trimmed[rt] != n:
            why = f"queue-wide limits of {len(resources.types)} types"
            traces[rt].append(build.step("Limits", n, trimmed[rt], _LIMITS(why, n, trimmed[rt])))
            wanted[rt] = trimmed[rt]
    record["decision"] = _decision(resources, wanted, traces)
    return record


def _decision(resources: QueueResources, pilots: Mapping[str, int],
              traces: Mapping[str, Sequence[dict[str, Any]]]) -> dict[str, Any]:
    """The total, each type's pilots, message and size, and one trace whose steps name their type."""
    types: dict[str, Any] = {}
    messages: list[str] = []
    flat: list[dict[str, Any]] = []
    for rt in resources.types:
        own = [step["msg"] for step in traces[rt] if step["msg"]]
        for step in traces[rt]:
            step["type"] = rt
            flat.append(step)
        size = resources.pilots[rt]
        types[rt] = {"pilots": pilots[rt], "msg": ";".join(own), "cores": size.cores, "memory": size.memory}
        messages.extend([f"{rt}.{msg}" for msg in own])
    return {"pilots": sum(pilots.values()), "msg": ";".join(messages), "trace": flat, "types": types}


def zero_types(record: Record, resources: QueueResources, reason: str, *, error: bool = False) -> Record:
    """No pilots of any type, with the reason as each type's only step."""
    refused = build.refused(reason, error=error)["trace"][0]
    record["decision"] = _decision(resources, dict.fromkeys(resources.types, 0),
                                   {rt: [dict(refused)] for rt in resources.types})
    return record
