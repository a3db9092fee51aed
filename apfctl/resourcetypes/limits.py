"""Harvester's queue limits: their names, sanitising, and evaluation against running pilots.

Facts from HSF/harvester: ``harvestercore/queue_config_mapper.py`` (the names in
``queue_limit_attrs`` and the sanity rules) and ``harvestercore/db_proxy.py``
``get_worker_limits`` (the dynamic limits from running workers).

Sanitising (values from CRIC ``params`` or queue keys): a value that is not an integer is
unset, a negative one is 0; ``nQueueLimitWorker`` and ``nQueueLimitWorkerMax`` become
``min(nQueueLimitWorker, nQueueLimitWorkerMax, maxWorkers)``; ``nQueueLimitWorkerMin`` is
capped by both; each ``...Min`` of cores and memory by its limit. ``maxWorkers`` unset or 0
is no maximum (Harvester's checks read ``maxWorkers > 0``); unlike Harvester, 0 does not
also cap ``nQueueLimitWorker`` to 0.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from apfctl.config.keys import Key
from apfctl.config.model import QueueConfig

# Harvester's worker limit names (queue_limit_attrs, the worker part): apfctl submits pilots,
# not jobs, so the nQueueLimitJob* family has no meaning here.
INT_LIMITS = (
    "maxWorkers", "maxNewWorkersPerCycle",
    "nQueueLimitWorker", "nQueueLimitWorkerMax", "nQueueLimitWorkerRatio", "nQueueLimitWorkerMin",
    "nQueueLimitWorkerCores", "nQueueLimitWorkerCoresRatio", "nQueueLimitWorkerCoresMin",
    "nQueueLimitWorkerMemory", "nQueueLimitWorkerMemoryRatio", "nQueueLimitWorkerMemoryMin",
)
FLAGS = ("noPilotsWhenNoActiveJobs", "activateWorkerFactor")
NAMES = INT_LIMITS + FLAGS
MAX_LIMIT = 10**9
MAX_FACTOR = 1000.0
MEMORY_MIN_PER_WORKER = 1000   # MB: get_worker_limits' floor of queued memory per nQueueLimitWorkerMin
CORES_MIN_PER_WORKER = 1


@dataclass(frozen=True)
class Limits:
    """One queue's sanitised limits; None is unset."""

    maxWorkers: int | None = None   # Harvester's names, camelCase as in its queue config
    maxNewWorkersPerCycle: int | None = None
    nQueueLimitWorker: int | None = None
    nQueueLimitWorkerMax: int | None = None
    nQueueLimitWorkerRatio: int | None = None
    nQueueLimitWorkerMin: int | None = None
    nQueueLimitWorkerCores: int | None = None
    nQueueLimitWorkerCoresRatio: int | None = None
    nQueueLimitWorkerCoresMin: int | None = None
    nQueueLimitWorkerMemory: int | None = None
    nQueueLimitWorkerMemoryRatio: int | None = None
    nQueueLimitWorkerMemoryMin: int | None = None
    noPilotsWhenNoActiveJobs: bool = False
    activateWorkerFactor: float = 1.0

    @functools.cached_property
    def limited(self) -> bool:
        """Some limit is set (0 or unset maxWorkers and maxNewWorkersPerCycle are none)."""
        return any(getattr(self, name) is not None for name in INT_LIMITS
                   if name not in ("maxWorkers", "maxNewWorkersPerCycle")) or bool(
            self.maxWorkers or self.maxNewWorkersPerCycle)

    @property
    def max_workers(self) -> int | None:
        """maxWorkers when it limits (> 0)."""
        return self.maxWorkers if self.maxWorkers else None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


def _integer(value: Any) -> int | None:
    """Harvester's test is ``isinstance(val, int)``; a bool is not a limit, an int-valued float is."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) else None


def _min(*values: int | None) -> int | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def sanitise(raw: Mapping[str, Any], where: str, warnings: list[str]) -> Limits:
    """Limits from ``raw`` (name -> value), as Harvester sanitises them; a warning per ignored value.

    Names not in :data:`NAMES` are not looked at (CRIC ``params`` hold many other settings).
    """
    values: dict[str, Any] = {}
    for name in INT_LIMITS:
        if name not in raw or raw[name] is None:
            continue
        number = _integer(raw[name])
        if number is None:
            warnings.append(f"{where}: {name} = {_shown(raw[name])} is not an integer; ignored")
            continue
        if number > MAX_LIMIT:
            warnings.append(f"{where}: {name} = {number} is above {MAX_LIMIT}; ignored")
            continue
        values[name] = max(number, 0)
    flag = raw.get("noPilotsWhenNoActiveJobs")
    if flag is not None:
        if isinstance(flag, bool):
            values["noPilotsWhenNoActiveJobs"] = flag
        else:
            warnings.append(f"{where}: noPilotsWhenNoActiveJobs = {_shown(flag)} is not true or false; ignored")
    factor = raw.get("activateWorkerFactor")
    if factor is not None:
        if isinstance(factor, (int, float)) and not isinstance(factor, bool) and 0 < factor <= MAX_FACTOR:
            values["activateWorkerFactor"] = float(factor)
        else:
            warnings.append(f"{where}: activateWorkerFactor = {_shown(factor)} is not a number in (0, "
                            f"{MAX_FACTOR:g}]; ignored")
    _cap(values)
    return Limits(**values)


def _cap(values: dict[str, Any]) -> None:
    """Harvester's caps between related limits (queue_config_mapper, after the type checks)."""
    cap = values.get("maxWorkers") or None
    limit, most = values.get("nQueueLimitWorker"), values.get("nQueueLimitWorkerMax")
    if limit is not None and most is not None:
        values["nQueueLimitWorker"] = values["nQueueLimitWorkerMax"] = _min(limit, most, cap)
    elif limit is not None:
        values["nQueueLimitWorker"] = _min(limit, cap)
    elif most is not None:
        values["nQueueLimitWorker"] = values["nQueueLimitWorkerMax"] = _min(most, cap)
    least, limit = values.get("nQueueLimitWorkerMin"), values.get("nQueueLimitWorker")
    if least is not None and limit is not None:
        values["nQueueLimitWorkerMin"] = _min(least, limit, cap)
    for kind in ("Cores", "Memory"):
        least, limit = values.get(f"nQueueLimitWorker{kind}Min"), values.get(f"nQueueLimitWorker{kind}")
        if least is not None and limit is not None:
            values[f"nQueueLimitWorker{kind}Min"] = min(least, limit)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class Running:
    """What runs on the queue now, summed over its resource types."""

    pilots: int = 0
    cores: int = 0
    memory: int = 0


@dataclass(frozen=True)
class Evaluated:
    """The limits in force this cycle (get_worker_limits); None is no limit.

    ``queued`` bounds the queued pilots of the whole queue, ``queued_per_type`` those of one
    type, ``cores``/``memory`` the queued cores and MB of the whole queue.
    """

    max_workers: int | None
    queued: int | None
    queued_per_type: int | None
    cores: int | None
    memory: int | None


def _ratio_limit(limit: int | None, by_ratio: int, floor: int | None) -> int:
    """``min(limit, by_ratio)``, but never below ``floor``: get_worker_limits' ratio rule."""
    if floor is not None and by_ratio < floor:
        return floor if limit is None else min(limit, floor)
    return by_ratio if limit is None else min(limit, by_ratio)


def evaluate(limits: Limits, running: Running, n_types: int = 1) -> Evaluated:
    """The limits of this cycle from the static ones and what is running.

    ``queued = nQueueLimitWorker`` (else ``maxWorkers``); with a ratio,
    ``min(queued, floor(running * ratio / 100))`` but not below ``nQueueLimitWorkerMin``.
    Per type: the queue's limit, or ``ceil(Min / n_types)`` when the Min floor applies.
    Cores and memory alike from running cores and memory, their Min raised to
    ``nQueueLimitWorkerMin`` x 1 core or x 1000 MB.
    """
    queued = limits.nQueueLimitWorker if limits.nQueueLimitWorker is not None else limits.max_workers
    per_type = queued
    least = limits.nQueueLimitWorkerMin
    if limits.nQueueLimitWorkerRatio is not None:
        by_ratio = running.pilots * limits.nQueueLimitWorkerRatio // 100
        queued = _ratio_limit(queued, by_ratio, least)
        if least is not None and by_ratio < least:
            share = math.ceil(least / max(n_types, 1))
            per_type = share if per_type is None else min(per_type, share)
        else:
            per_type = queued
    cores = _resource_limit(limits.nQueueLimitWorkerCores, limits.nQueueLimitWorkerCoresRatio,
                            limits.nQueueLimitWorkerCoresMin, least, CORES_MIN_PER_WORKER, running.cores)
    memory = _resource_limit(limits.nQueueLimitWorkerMemory, limits.nQueueLimitWorkerMemoryRatio,
                             limits.nQueueLimitWorkerMemoryMin, least, MEMORY_MIN_PER_WORKER, running.memory)
    return Evaluated(max_workers=limits.max_workers, queued=queued, queued_per_type=per_type,
                     cores=cores, memory=memory)


def _resource_limit(limit: int | None, ratio: int | None, least: int | None, least_workers: int | None,
                    per_worker: int, running: int) -> int | None:
    if ratio is None:
        return limit
    floor = least
    if least_workers is not None:
        floor = max(least_workers * per_worker, floor if floor is not None else 0)
    return _ratio_limit(limit, running * ratio // 100, floor)


def _limit_key(name: str) -> Key:
    unit = " (MB)" if "Memory" in name and "Ratio" not in name else ""
    percent = " (percent of running)" if name.endswith("Ratio") else ""
    return Key("int", None, minimum=0, doc=f"Harvester's {name}{unit}{percent}")


QUEUE_KEYS: dict[str, Key] = {
    **{name: _limit_key(name) for name in INT_LIMITS},
    "noPilotsWhenNoActiveJobs": Key("bool", None, doc="Harvester's: no pilot while no job of the type is activated"),
    "activateWorkerFactor": Key("float", None, doc="Harvester's: queued pilots per activated job (default 1)"),
}


def from_queue(queue: QueueConfig) -> Limits:
    """The queue's limits from its keys (typed and range-checked by the key declarations)."""
    raw = {name: queue.typed(name, spec) for name, spec in QUEUE_KEYS.items() if name in queue}
    factor = raw.get("activateWorkerFactor")
    if factor is not None and not 0 < factor <= MAX_FACTOR:
        raise queue.error("activateWorkerFactor", f"must be above 0 and at most {MAX_FACTOR:g}",
                          queue.get("activateWorkerFactor"))
    for name in INT_LIMITS:
        if raw.get(name) is not None and raw[name] > MAX_LIMIT:
            raise queue.error(name, f"must be at most {MAX_LIMIT}", queue.get(name))
    warnings: list[str] = []
    return sanitise(raw, f"[{queue.name}]", warnings)
