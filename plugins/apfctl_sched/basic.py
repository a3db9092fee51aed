"""Rules that set or bound the number of pilots from the WMS and the cycle alone."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from apfctl.config.keys import Key
from apfctl.interfaces import FactoryContext, SchedRule
from apfctl.config.model import QueueConfig


def wms_usable(record: Mapping[str, Any]) -> bool:
    wms = record.get("wms")
    return bool(wms) and wms.get("ok") is True and wms.get("plugin") is not None


def batch_usable(record: Mapping[str, Any]) -> bool:
    batch = record.get("batch")
    return bool(batch) and batch.get("ok") is True


class Ready(SchedRule):
    """APF's Ready: activated work minus an offset, minus the pilots already pending.

    Ignores its input. ``max(0, (ready - offset) - pending)``.
    """

    KEYS = {"sched.ready.offset": Key("int", 0, doc="activated jobs to leave without a pilot")}

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.offset = queue.typed("sched.ready.offset", self.KEYS["sched.ready.offset"])

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if not (wms_usable(record) and batch_usable(record)):
            return 0, "Ready:comment=Invalid wmsinfo or batchinfo"
        activated = record["wms"]["ready"]
        pending = record["batch"]["pending"]
        out = max(0, (activated - self.offset) - pending)
        return out, f"Ready:in={n},activated={activated},offset={self.offset},pending={pending},ret={out}"


class Fixed(SchedRule):
    """APF's Fixed: always ``sched.fixed.pilotspercycle`` pilots (0 when unset)."""

    KEYS = {"sched.fixed.pilotspercycle": Key("int", None, doc="pilots to submit every cycle")}

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.pilots = queue.typed("sched.fixed.pilotspercycle", self.KEYS["sched.fixed.pilotspercycle"])

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if not self.pilots:
            return 0, f"Fixed:comment=nosetup,in={n},ret=0"
        return self.pilots, f"Fixed:in={n},ret={self.pilots}"


class MaxPerCycle(SchedRule):
    """APF's MaxPerCycle: ``min(n, maximum)`` when ``sched.maxpercycle.maximum`` is set."""

    KEYS = {"sched.maxpercycle.maximum": Key("int", None, doc="most pilots submitted in one cycle")}

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.maximum = queue.typed("sched.maxpercycle.maximum", self.KEYS["sched.maxpercycle.maximum"])

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if self.maximum is None:
            return n, f"MaxPerCycle:comment=Not set,in={n}"
        out = min(n, self.maximum)
        return out, f"MaxPerCycle:in={n},maxpercycle={self.maximum},ret={out}"


class MinPerCycle(SchedRule):
    """APF's MinPerCycle: ``max(n, minimum)`` when ``sched.minpercycle.minimum`` is set."""

    KEYS = {"sched.minpercycle.minimum": Key("int", None, doc="fewest pilots submitted in one cycle")}

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.minimum = queue.typed("sched.minpercycle.minimum", self.KEYS["sched.minpercycle.minimum"])

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if self.minimum is None:
            return n, "MinPerCycle:comment=Not set"
        out = max(n, self.minimum)
        return out, f"MinPerCycle:in={n},minpercycle={self.minimum},ret={out}"


def ceil_scale(n: int, factor: float) -> int:
    """APF's Scale arithmetic: ``ceil(n * factor)`` (so -5 x 0.5 gives -2)."""
    return int(math.ceil(n * factor))
