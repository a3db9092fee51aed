"""Rules on the pilots a queue has been sent over its whole history (APF's empty stubs).

APF's MaxToSubmit said "keep the number of jobs submitted during the whole history of the
APFQueue below some limit" and was never written; MinToSubmit was an empty counterpart.
The count comes from the ledger, reported by the status stage as ``batch.submitted_total``
(every pilot this factory submitted for the queue over the ledger's retention).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from apfctl.config.keys import Key, KeyMap
from apfctl.config.model import QueueConfig
from apfctl.interfaces import FactoryContext
from apfctl_sched.common import Rule, batch_total


class MaxToSubmit(Rule):
    """At most ``sched.maxtosubmit.maximum`` pilots over the queue's history.

    ``min(n, max(0, maximum - submitted_total))``: pilots already sent cannot be unsent,
    so a negative n (retire) passes unchanged. Unset: n passes. Unknown total: new pilots
    are refused (and so are they for a total that is not a count: negative, fractional).
    """

    KEYS: ClassVar[KeyMap] = {
        "sched.maxtosubmit.maximum": Key("int", None, minimum=0, doc="most pilots ever submitted"),
    }

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.maximum = self.setting("sched.maxtosubmit.maximum")

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if self.maximum is None:
            return n, f"MaxToSubmit:comment=Not set,in={n},ret={n}"
        total, why = batch_total(record, "submitted_total")
        if total is None:
            out = min(n, 0)
            return out, f"MaxToSubmit:comment={why},in={n},maxtosubmit={self.maximum},ret={out}"
        out = min(n, max(0, self.maximum - total))
        return out, f"MaxToSubmit:in={n},submitted={total},maxtosubmit={self.maximum},ret={out}"


class MinToSubmit(Rule):
    """At least ``sched.mintosubmit.minimum`` pilots over the queue's history.

    ``max(n, minimum - submitted_total)`` (a test queue gets its first pilots whatever the
    work). Unset, or an unknown total: n passes (no pilots are forced on unknown data).
    """

    KEYS: ClassVar[KeyMap] = {
        "sched.mintosubmit.minimum": Key("int", None, minimum=0, doc="fewest pilots ever submitted"),
    }

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.minimum = self.setting("sched.mintosubmit.minimum")

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if self.minimum is None:
            return n, f"MinToSubmit:comment=Not set,in={n},ret={n}"
        total, why = batch_total(record, "submitted_total")
        if total is None:
            return n, f"MinToSubmit:comment={why},in={n},mintosubmit={self.minimum},ret={n}"
        out = max(n, self.minimum - total)
        return out, f"MinToSubmit:in={n},submitted={total},mintosubmit={self.minimum},ret={out}"
