"""A queue's resource types and size, read from its section and checked.

``resourcetypes = SCORE, MCORE`` makes a unified queue (Harvester's ``capability = ucore``)
serving those types; ``resourcetype = MCORE`` is APF's style, one section per pilot type
sharing a ``wmsqueue``, sized by the section's own ``corecount`` and ``maxrss``. A queue with
neither has no resource type: its pilots are untyped, as APF's are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from apfctl.config.keys import Key
from apfctl.config.model import QueueConfig
from apfctl.resourcetypes.definitions import MAX_CORES, MAX_MEMORY_MB, ResourceType, describe
from apfctl.resourcetypes.sizing import PilotSize, QueueSize, pilot_size

UNIFIED = "ucore"

QUEUE_KEYS: dict[str, Key] = {
    "resourcetypes": Key("list", None, doc="resource types of a unified queue (SCORE, MCORE, ...); "
                                           "pilots are sized and counted per type"),
    "resourcetype": Key("str", None, doc="the one resource type of this section's pilots (APF style)"),
    "capability": Key("str", None, doc="ucore for a unified queue (the default when resourcetypes is set)"),
    "corecount": Key("int", None, doc="cores of one job slot of the queue (CRIC corecount)"),
    "maxrss": Key("int", None, doc="memory in MB of one job slot of the queue (CRIC maxrss)"),
}


@dataclass(frozen=True)
class QueueResources:
    """The types a queue serves (in its order), its size, and each type's pilot size."""

    types: tuple[str, ...]
    size: QueueSize
    pilots: Mapping[str, PilotSize]

    @property
    def typed(self) -> bool:
        return bool(self.types)


def _positive(queue: QueueConfig, key: str, maximum: int) -> int | None:
    value = queue.typed(key, QUEUE_KEYS[key])
    if value is not None and not 1 <= value <= maximum:
        raise queue.error(key, f"must be a positive integer up to {maximum}", queue.get(key))
    return value


def fits(rt: ResourceType, size: QueueSize, pilot: PilotSize) -> str | None:
    """Why a pilot of ``rt`` of this size is not of that type, or None when it is."""
    if rt.mincore and pilot.cores < rt.mincore:
        return f"needs at least {rt.mincore} cores, the queue's corecount is {size.corecount}"
    if rt.minrampercore and (pilot.memory is None or pilot.memory / pilot.cores < rt.minrampercore):
        have = "no maxrss" if pilot.memory is None else f"{pilot.memory / pilot.cores:g} MB per core"
        return f"needs at least {rt.minrampercore} MB per core, the queue gives {have}"
    return None


def queue_resources(queue: QueueConfig, types: Mapping[str, ResourceType]) -> QueueResources:
    """The queue's resource configuration; ConfigError naming the queue, key and value when wrong."""
    many = queue.getlist("resourcetypes")
    one = queue.getstr("resourcetype")
    if many and one:
        raise queue.error("resourcetype", "set resourcetypes (a unified queue) or resourcetype (one type), "
                                          "not both", one)
    key = "resourcetypes" if many else "resourcetype"
    names = tuple(many) if many else ((one,) if one else ())
    for name in names:
        if name not in types:
            raise queue.error(key, f"unknown resource type {name!r} (defined: {describe(types)})", queue.get(key))
    if len(set(names)) != len(names):
        raise queue.error(key, "a resource type is listed twice", queue.get(key))
    capability = (queue.getstr("capability") or (UNIFIED if many else "")).lower()
    if one and capability == UNIFIED:
        raise queue.error("capability", "a unified queue lists its types in resourcetypes", queue.get("capability"))
    size = QueueSize(corecount=_positive(queue, "corecount", MAX_CORES) or 1,
                     maxrss=_positive(queue, "maxrss", MAX_MEMORY_MB), unified=capability == UNIFIED)
    pilots = {name: pilot_size(types[name], size) for name in names}
    if size.unified:
        for name in names:
            reason = fits(types[name], size, pilots[name])
            if reason:
                raise queue.error(key, f"resource type {name} {reason}", queue.get(key))
    return QueueResources(types=names, size=size, pilots=pilots)
