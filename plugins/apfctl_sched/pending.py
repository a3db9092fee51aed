"""Rules that bound pilots by what already waits or runs in the batch system."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apfctl.config.keys import Key
from apfctl.config.model import QueueConfig
from apfctl.interfaces import FactoryContext, SchedRule
from apfctl_sched.basic import batch_usable


class MaxPending(SchedRule):
    """APF's MaxPending: no more than ``maximum`` pilots pending after this cycle.

    With nothing pending there is no limit (APF's behaviour). ``allow_negative`` (default
    True) lets the result go below zero, which retires the excess pending pilots.
    """

    KEYS = {
        "sched.maxpending.maximum": Key("int", None, doc="most pilots pending at once"),
        "sched.maxpending.allow_negative": Key("bool", True, doc="retire pending pilots above the maximum"),
    }

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.maximum = queue.typed("sched.maxpending.maximum", self.KEYS["sched.maxpending.maximum"])
        self.allow_negative = queue.typed(
            "sched.maxpending.allow_negative", self.KEYS["sched.maxpending.allow_negative"])

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if not batch_usable(record):
            return n, "MaxPending:comment=No queueinfo."
        pending = record["batch"]["pending"]
        if pending == 0 or self.maximum is None:
            out = n
        else:
            room = self.maximum - pending
            if not self.allow_negative and room < 0:
                room = 0
            out = min(n, room)
        return out, f"MaxPending:in={n},pending={pending},maxpending={self.maximum},ret={out}"
