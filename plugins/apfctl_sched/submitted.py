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
from apfctl.record.message import NUMBER, TEXT, message
from apfctl_sched.common import Rule, batch_total


class _HistoryBound(Rule):
    """MaxToSubmit and MinToSubmit: n bounded by the pilots sent over the queue's history, when the key is set."""

    KEY: ClassVar[str]

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.limit = self.setting(self.KEY)
        name, label = type(self).__name__, self.KEY.split(".")[1]
        self.said = message(name, in_=NUMBER, submitted=NUMBER, **{label: self.limit}, ret=NUMBER)
        self.no_total = message(name, comment=TEXT, in_=NUMBER, **{label: self.limit}, ret=NUMBER)
        self.unset = message(name, comment="Not set", in_=NUMBER, ret=NUMBER)

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if self.limit is None:
            return n, self.unset(n, n)
        total, why = batch_total(record, "submitted_total")
        out = self.bounded(n, self.limit, total)
        return out, self.said(n, total, out) if total is not None else self.no_total(why, n, out)

    def bounded(self, n: int, limit: int, total: int | None) -> int:
        raise NotImplementedError


class MaxToSubmit(_HistoryBound):
    """At most ``sched.maxtosubmit.maximum`` pilots over the queue's history.

    ``min(n, max(0, maximum - submitted_total))``: pilots already sent cannot be unsent,
    so a negative n (retire) passes unchanged. Unset: n passes. Unknown total: new pilots
    are refused (and so are they for a total that is not a count: negative, fractional).
    """

    KEYS: ClassVar[KeyMap] = {
        "sched.maxtosubmit.maximum": Key("int", None, minimum=0, doc="most pilots ever submitted"),
    }
    KEY = "sched.maxtosubmit.maximum"

    def bounded(self, n: int, limit: int, total: int | None) -> int:
        return min(n, 0) if total is None else min(n, max(0, limit - total))


class MinToSubmit(_HistoryBound):
    """At least ``sched.mintosubmit.minimum`` pilots over the queue's history.

    ``max(n, minimum - submitted_total)`` (a test queue gets its first pilots whatever the
    work). Unset, or an unknown total: n passes (no pilots are forced on unknown data).
    """

    KEYS: ClassVar[KeyMap] = {
        "sched.mintosubmit.minimum": Key("int", None, minimum=0, doc="fewest pilots ever submitted"),
    }
    KEY = "sched.mintosubmit.minimum"

    def bounded(self, n: int, limit: int, total: int | None) -> int:
        return n if total is None else max(n, limit - total)
