"""The size of one pilot of a resource type, as Harvester's ``ResourceTypeMapper`` computes it.

On a unified queue: ``cores = min(maxcore, corecount)`` (``corecount`` when the type has no
``maxcore``) and ``memory = ceil(min(maxrampercore * cores, maxrss / corecount * cores))``
(the second term alone when the type has no ``maxrampercore``, the first alone when the
queue has no ``maxrss``). On any other queue: the queue's own ``corecount`` and ``maxrss``.

Harvester returns ``(maxrss, corecount)`` for a non-unified queue into variables named
``(cores, memory)``, so its pilots there ask for maxrss cores; this module does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from apfctl.resourcetypes.definitions import ResourceType


@dataclass(frozen=True)
class QueueSize:
    """What a queue offers one job: cores, memory in MB (None: unknown), and whether it is unified."""

    corecount: int = 1
    maxrss: int | None = None
    unified: bool = False


@dataclass(frozen=True)
class PilotSize:
    """What one pilot asks the batch system for; memory None: no memory request."""

    cores: int
    memory: int | None


def pilot_size(rt: ResourceType | None, queue: QueueSize) -> PilotSize:
    """The size of a pilot of type ``rt`` (None: an untyped pilot) on ``queue``."""
    if rt is None or not queue.unified:
        return PilotSize(queue.corecount, queue.maxrss)
    cores = min(rt.maxcore, queue.corecount) if rt.maxcore else queue.corecount
    bounds = []
    if rt.maxrampercore:
        bounds.append(rt.maxrampercore * cores)
    if queue.maxrss:
        bounds.append(queue.maxrss / queue.corecount * cores)
    return PilotSize(cores, math.ceil(min(bounds)) if bounds else None)
