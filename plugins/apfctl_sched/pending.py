"""Rules that bound or target pilots by what already waits or runs in the batch system.

"pending" is the batch section's ``pending`` (held pilots are apart, see docs/architecture.md §1.5) and
"running" its ``running`` (pilots that are ``exiting`` are about to leave and count as
neither, where APF counted them as running).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from apfctl.config.keys import Key, KeyMap
from apfctl.config.model import QueueConfig
from apfctl.interfaces import FactoryContext
from apfctl.record.message import NUMBER, TEXT, message
from apfctl_sched.common import Rule, batch_total, batch_usable


class MaxPending(Rule):
    """APF's MaxPending: no more than ``maximum`` pilots pending after this cycle.

    ``min(n, maximum - pending)``. With nothing pending there is no limit (APF's
    behaviour). ``allow_negative`` (default True) lets the result go below zero, which
    retires the pilots pending above the maximum; False stops at 0.
    """

    KEYS: ClassVar[KeyMap] = {
        "sched.maxpending.maximum": Key("int", None, doc="most pilots pending at once"),
        "sched.maxpending.allow_negative": Key("bool", True, doc="retire pending pilots above the maximum"),
    }

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.maximum = self.setting("sched.maxpending.maximum")
        self.allow_negative = self.setting("sched.maxpending.allow_negative")
        self.said = message("MaxPending", in_=NUMBER, pending=NUMBER, maxpending=self.maximum, ret=NUMBER)

    unusable = message("MaxPending", comment="No queueinfo.")()

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if not batch_usable(record):
            return n, self.unusable
        pending = record["batch"]["pending"]
        if pending == 0 or self.maximum is None:
            out = n
        else:
            room = self.maximum - pending
            if not self.allow_negative and room < 0:
                room = 0
            out = min(n, room)
        return out, self.said(n, pending, out)


class MinPending(Rule):
    """APF's MinPending: at least ``minimum`` pilots pending after this cycle.

    ``max(n, minimum - pending)`` when set, else n. APF read the batch status without a
    check; with no usable batch section n passes unchanged (never more pilots on unknown
    status).
    """

    KEYS: ClassVar[KeyMap] = {"sched.minpending.minimum": Key("int", None, doc="fewest pilots pending at once")}

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.minimum = self.setting("sched.minpending.minimum")
        self.said = message("MinPending", in_=NUMBER, minpending=self.minimum, pending=NUMBER, ret=NUMBER)

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if not batch_usable(record):
            return n, _MIN_PENDING_UNUSABLE(n, n)
        pending = record["batch"]["pending"]
        if self.minimum is None:
            return n, _MIN_PENDING_UNSET(n, pending, n)
        out = max(n, self.minimum - pending)
        return out, self.said(n, pending, out)


_MIN_PENDING_UNUSABLE = message("MinPending", comment="No queueinfo.", in_=NUMBER, ret=NUMBER)
_MIN_PENDING_UNSET = message("MinPending", comment="not set", in_=NUMBER, pending=NUMBER, ret=NUMBER)


class MaxToRun(Rule):
    """APF's MaxToRun: at most ``maximum`` pilots pending plus running.

    ``min(n, maximum - (pending + running))``, which may be negative (retire). Unknown
    batch status gives 0. When the key is unset n passes with no message, as in APF (the
    trace still shows the step, with an empty ``msg``).
    """

    KEYS: ClassVar[KeyMap] = {"sched.maxtorun.maximum": Key("int", None, doc="most pilots pending plus running")}

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.maximum = self.setting("sched.maxtorun.maximum")
        self.said = message("MaxToRun", in_=NUMBER, maxtorun=self.maximum, pending=NUMBER, running=NUMBER, ret=NUMBER)

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if not batch_usable(record):
            return 0, _MAX_TO_RUN_UNUSABLE(n)
        if self.maximum is None:
            return n, ""
        batch = record["batch"]
        pending = batch["pending"]
        running = batch["running"]
        out = min(n, self.maximum - (pending + running))
        return out, self.said(n, pending, running, out)


_MAX_TO_RUN_UNUSABLE = message("MaxToRun", comment="No batchinfo", in_=NUMBER)


class MaxPerFactory(Rule):
    """APF's MaxPerFactory: at most ``[Factory] maxperfactory.maximum`` pilots over the factory.

    ``total`` is pending + running summed over the queues of this invocation that share
    the batch backend (``batch.factory_total``, filled by the status stage). If
    ``total > maximum``: 0; elif ``n + total > maximum``: ``maximum - total``; else n.
    Without the key APF compared ``int > None`` (always true in Python 2) and so always
    gave 0; the evident intent is no limit, so n passes. A record without
    ``factory_total``, or with one that is not a count, cannot be checked: new pilots are
    refused (retirement passes).
    """

    FACTORY_KEYS: ClassVar[KeyMap] = {"maxperfactory.maximum": Key("int", None, minimum=0,
                                                 doc="most pilots pending plus running over the factory")}

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.maximum = factory.config.typed("maxperfactory.maximum", self.FACTORY_KEYS["maxperfactory.maximum"])
        self.said = message("MaxPerFactory", in_=NUMBER, total=NUMBER, maxperfactory=self.maximum, ret=NUMBER)
        self.no_total = message("MaxPerFactory", comment=TEXT, in_=NUMBER, maxperfactory=self.maximum,
                                ret=NUMBER)

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if self.maximum is None:
            return n, _MAX_PER_FACTORY_UNSET(n, n)
        total, why = batch_total(record, "factory_total")
        if total is None:
            out = min(n, 0)
            return out, self.no_total(why, n, out)
        out = n
        if total > self.maximum:
            out = 0
        elif n + total > self.maximum:
            out = self.maximum - total
        return out, self.said(n, total, out)


_MAX_PER_FACTORY_UNSET = message("MaxPerFactory", comment="Not set", in_=NUMBER, ret=NUMBER)


class KeepNRunning(Rule):
    """APF's KeepNRunning: a target of pilots pending plus running, whatever the work.

    ``keep_running - (running + pending)``, or ``n - (running + pending)`` when the key is
    unset (the input then is the target). May be negative: retire the excess.
    ``retiring`` is shown when the backend reports it (APF's EC2 state), else 0.
    """

    KEYS: ClassVar[KeyMap] = {
        "sched.keepnrunning.keep_running": Key("int", None, doc="pilots to keep pending plus running"),
    }

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.keep = self.setting("sched.keepnrunning.keep_running")
        self.said = message("KeepNRunning", in_=NUMBER, keep=self.keep, running=NUMBER, pending=NUMBER,
                            retiring=NUMBER, ret=NUMBER)

    unusable = message("KeepNRunning", comment="Invalid queueinfo")()

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if not batch_usable(record):
            return 0, self.unusable
        batch = record["batch"]
        pending = max(0, batch["pending"])
        running = max(0, batch["running"])
        retiring = max(0, batch.get("retiring", 0))
        target = n if self.keep is None else self.keep
        out = target - (running + pending)
        return out, self.said(n, running, pending, retiring, out)


class KeepNQueueLife(Rule):
    """APF's KeepNQueueLife, which crashed in APF (a module moved away): what it meant.

    Keeps ``njobs`` pilots in the batch queue, whatever their state:
    ``njobs - in_queue`` with ``in_queue = pending + held + running + exiting``, or
    ``n - in_queue`` when ``njobs`` is unset. May be negative (retire). APF's message said
    ``KeepNRunning:``; apfctl names the rule that wrote it.
    """

    KEYS: ClassVar[KeyMap] = {"sched.keepnqueuelife.njobs": Key("int", None, doc="pilots to keep in the batch queue")}

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.njobs = self.setting("sched.keepnqueuelife.njobs")
        self.said = message("KeepNQueueLife", in_=NUMBER, keep=self.njobs, jobsinqueue=NUMBER, ret=NUMBER)

    unusable = message("KeepNQueueLife", comment="Invalid queueinfo")()

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        if not batch_usable(record):
            return 0, self.unusable
        batch = record["batch"]
        in_queue = batch["pending"] + batch["held"] + batch["running"] + batch["exiting"]
        out = (n if self.njobs is None else self.njobs) - in_queue
        return out, self.said(n, in_queue, out)
