"""Resource types, size and Harvester limits of a CRIC queue, as keys of its generated sections.

* ``corecount`` and ``maxrss`` (checked in range by :mod:`apfctl_panda.cric_doc`);
* a unified queue (``capability = ucore``): ``resourcetypes``, every defined type whose
  pilot on this queue is of that type (an MCORE pilot needs 2 cores, a HIMEM one more than
  2000 MB per core); any other queue: ``resourcetype``, the first type its corecount and
  maxrss match (Harvester's ``get_rtype_for_queue``), or none;
* ``params``: Harvester's limit names, sanitised as Harvester does (a value of the wrong
  type is ignored with a warning naming the queue, key and value; a negative one is 0).
"""

from __future__ import annotations

from collections.abc import Mapping

from apfctl.resourcetypes.definitions import ResourceType
from apfctl.resourcetypes.limits import NAMES, sanitise
from apfctl.resourcetypes.queueconf import UNIFIED, fits
from apfctl.resourcetypes.sizing import QueueSize, pilot_size
from apfctl_panda.cric_doc import PandaQueue


def matches(rt: ResourceType, cores: int, memory: int | None) -> bool:
    """Harvester's ``ResourceType.match``: within each bound that is set, memory per core."""
    if not cores or not memory:
        return False
    per_core = memory / cores
    return not ((rt.maxcore and cores > rt.maxcore) or (rt.mincore and cores < rt.mincore)
                or (rt.maxrampercore and per_core > rt.maxrampercore)
                or (rt.minrampercore and per_core < rt.minrampercore))


def resource_values(pq: PandaQueue, types: Mapping[str, ResourceType], warnings: list[str]) -> dict[str, str]:
    values = {"corecount": str(pq.corecount)}
    if pq.maxrss:
        values["maxrss"] = str(pq.maxrss)
    unified = pq.capability == UNIFIED
    size = QueueSize(pq.corecount, pq.maxrss, unified)
    if unified:
        served = [name for name, rt in types.items() if fits(rt, size, pilot_size(rt, size)) is None]
        values["capability"] = UNIFIED
        if served:
            values["resourcetypes"] = ", ".join(served)
        else:
            warnings.append(f"CRIC queue {pq.name} is unified but no resource type fits corecount {pq.corecount} "
                            f"and maxrss {pq.maxrss}: its pilots are untyped")
    else:
        matched = [name for name, rt in types.items() if matches(rt, pq.corecount, pq.maxrss)]
        if matched:
            values["resourcetype"] = matched[0]
    if pq.params:
        limits = sanitise(pq.params, f"CRIC queue {pq.name} params", warnings)
        for name, value in limits.as_dict().items():
            if name in NAMES and name in pq.params and _accepted(pq.params[name], value):
                values[name] = str(value)
    return values


def _accepted(raw: object, value: object) -> bool:
    """The sanitised value came from this raw value (not a default kept because it was ignored)."""
    if isinstance(value, bool):
        return isinstance(raw, bool)
    if isinstance(value, float):
        return isinstance(raw, (int, float)) and not isinstance(raw, bool) and float(raw) == value
    return isinstance(raw, (int, float)) and not isinstance(raw, bool)
