"""Rules that set the number of pilots from the waiting work, or scale and bound it per cycle."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from apfctl.config.keys import Key, KeyMap
from apfctl.config.model import QueueConfig
from apfctl.interfaces import FactoryContext
from apfctl.record.message import NUMBER, message
from apfctl_sched.common import Rule, usable


class Ready(Rule):
    """APF's Ready: activated work minus an offset, minus the pilots already pending.

    ``max(0, (ready - offset) - pending)``; the input is ignored. Held pilots are not
    pending here (APF counted them as pending, which silently stopped submission).
    """

    KEYS: ClassVar[KeyMap] = {"sched.ready.offset": Key("int", 0, doc="activated jobs to leave without a pilot")}

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.offset = self.setting("sched.ready.offset")
        self.said = message("Ready", in_=NUMBER, activated=NUMBER, offset=self.offset, pending=NUMBER, ret=NUMBER)

    unusable = message("Ready", comment="Invalid wmsinfo or batchinfo")()

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if not usable(record):
            return 0, self.unusable
        activated = record["wms"]["ready"]
        pending = record["batch"]["pending"]
        out = max(0, (activated - self.offset) - pending)
        return out, self.said(n, activated, pending, out)


class Fillactivated(Rule):
    """APF's Fillactivated, which crashed in APF (NameError): what it evidently computed.

    ``max(0, activated - pending)``, the input ignored: Ready without an offset, with the
    running pilots shown in the message. APF returned ``sched.fillactivated.default`` when
    the status was unknown; apfctl never submits on unknown status, so it gives 0 then and
    the key is accepted only so that APF files load without a warning.
    """

    KEYS: ClassVar[KeyMap] = {"sched.fillactivated.default": Key(
        "int", 0, doc="APF: pilots when status is unknown; apfctl always gives 0 then (never blind)")}

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if not usable(record):
            return 0, _FILLACTIVATED_UNUSABLE(n)
        activated = record["wms"]["ready"]
        batch = record["batch"]
        pending = batch["pending"]
        out = max(0, activated - pending)
        return out, _FILLACTIVATED_SAID(n, activated, pending, batch["running"], out)


_FILLACTIVATED_UNUSABLE = message("Fillactivated", comment="Invalid wmsinfo or batchinfo", in_=NUMBER, ret=0)
_FILLACTIVATED_SAID = message("Fillactivated", in_=NUMBER, activated=NUMBER, pending=NUMBER, running=NUMBER, ret=NUMBER)


class WeightedActivated(Rule):
    """APF's WeightedActivated, which crashed in APF: what it evidently computed.

    ``max(0, int(activated * w_activated) - int(pending * w_pending))``, the input ignored;
    unknown status gives 0.
    """

    KEYS: ClassVar[KeyMap] = {
        "sched.weightedactivated.activated": Key("float", 1.0, minimum=0, doc="weight of activated jobs"),
        "sched.weightedactivated.pending": Key("float", 1.0, minimum=0, doc="weight of pending pilots"),
    }

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.w_activated = self.setting("sched.weightedactivated.activated")
        self.w_pending = self.setting("sched.weightedactivated.pending")

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if not usable(record):
            return 0, _WEIGHTED_ACTIVATED_UNUSABLE(n)
        activated = record["wms"]["ready"]
        pending = record["batch"]["pending"]
        weighted_activated = int(activated * self.w_activated)
        weighted_pending = int(pending * self.w_pending)
        out = max(0, weighted_activated - weighted_pending)
        return out, _WEIGHTED_ACTIVATED_SAID(n, activated, weighted_activated, pending, weighted_pending, out)


_WEIGHTED_ACTIVATED_UNUSABLE = message("WeightedActivated", comment="Invalid wmsinfo or batchinfo", in_=NUMBER, ret=0)
_WEIGHTED_ACTIVATED_SAID = message("WeightedActivated", in_=NUMBER, activated=NUMBER, weightedactivated=NUMBER,
                                   pending=NUMBER, weightedpending=NUMBER, ret=NUMBER)


class Fixed(Rule):
    """APF's Fixed: always ``sched.fixed.pilotspercycle`` pilots (0 when unset or 0)."""

    KEYS: ClassVar[KeyMap] = {"sched.fixed.pilotspercycle": Key("int", None, doc="pilots to submit every cycle")}

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.pilots = self.setting("sched.fixed.pilotspercycle")
        self.said = message("Fixed", in_=NUMBER, ret=self.pilots)

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if not self.pilots:
            return 0, _FIXED_UNSET(n)
        return self.pilots, self.said(n)


_FIXED_UNSET = message("Fixed", comment="nosetup", in_=NUMBER, ret=0)


class Null(Rule):
    """APF's Null: always 0."""

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        return 0, _NULL_SAID(n)


_NULL_SAID = message("Null", in_=NUMBER, out=0)


class Scale(Rule):
    """APF's Scale: ``ceil(n * factor)`` (so -5 x 0.5 gives -2, as in APF)."""

    KEYS: ClassVar[KeyMap] = {"sched.scale.factor": Key("float", 1.0, doc="multiplies the number of pilots")}

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.factor = self.setting("sched.scale.factor")
        self.said = message("Scale", in_=NUMBER, factor=self.factor, ret=NUMBER)

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        out = math.ceil(n * self.factor)
        return out, self.said(n, out)


class _CycleBound(Rule):
    """MaxPerCycle and MinPerCycle: ``bounded(n, limit)`` when the rule's one key is set, else n."""

    KEY: ClassVar[str]
    bounded: ClassVar[Callable[[int, int], int]]   # min or max (builtins: they do not bind as methods)

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.limit = self.setting(self.KEY)
        name = type(self).__name__
        self.said = message(name, in_=NUMBER, **{name.lower(): self.limit}, ret=NUMBER)

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if self.limit is None:
            return n, self.unset(n)
        out = self.bounded(n, self.limit)
        return out, self.said(n, out)

    def unset(self, n: int) -> str:
        raise NotImplementedError


class MaxPerCycle(_CycleBound):
    """APF's MaxPerCycle: ``min(n, maximum)`` when ``sched.maxpercycle.maximum`` is set."""

    KEYS: ClassVar[KeyMap] = {"sched.maxpercycle.maximum": Key("int", None, doc="most pilots submitted in one cycle")}
    KEY = "sched.maxpercycle.maximum"
    bounded = min

    def unset(self, n: int) -> str:
        return _MAX_PER_CYCLE_UNSET(n)


class MinPerCycle(_CycleBound):
    """APF's MinPerCycle: ``max(n, minimum)`` when ``sched.minpercycle.minimum`` is set."""

    KEYS: ClassVar[KeyMap] = {"sched.minpercycle.minimum": Key("int", None, doc="fewest pilots submitted in one cycle")}
    KEY = "sched.minpercycle.minimum"
    bounded = max

    def unset(self, n: int) -> str:
        return _MIN_PER_CYCLE_UNSET   # APF's message names no input here


_MAX_PER_CYCLE_UNSET = message("MaxPerCycle", comment="Not set", in_=NUMBER)
_MIN_PER_CYCLE_UNSET = message("MinPerCycle", comment="Not set")()
