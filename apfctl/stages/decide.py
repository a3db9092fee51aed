"""The decide stage: each queue's chain of rules, from n = 0, on its status record.

Never blind: a record whose ``wms`` or ``batch`` section is missing or not ok gets 0
pilots, with the reason as the first step of the trace. A rule that raises gives 0 pilots
too (its error in the trace) rather than a guess, and so does a chain whose result is
outside the record's range for pilots (``record.kinds.PILOTS``). A queue that serves
resource types is decided per type (:mod:`apfctl.stages.pertype`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from apfctl import plugins
from apfctl.config.loader import Loaded
from apfctl.errors import ConfigError
from apfctl.interfaces import SchedRule
from apfctl.record import Record, Step, build, status_failure
from apfctl.record.kinds import PILOTS
from apfctl.record.message import NUMBER, TEXT, message
from apfctl.resourcetypes.check import queue_settings
from apfctl.resourcetypes.limits import Limits
from apfctl.resourcetypes.queueconf import QueueResources
from apfctl.stages.pertype import decide_types, zero_types

log = logging.getLogger("apfctl.decide")

_OUT_OF_RANGE = message("Decide", comment=f"pilots outside {PILOTS.describe()}", in_=NUMBER, ret=0)


class Decider:
    """Decides records under one configuration; rules are built once per queue."""

    def __init__(self, loaded: Loaded) -> None:
        self.loaded = loaded
        self._chains: dict[str, list[tuple[str, SchedRule]]] = {}
        self._resources: dict[str, tuple[QueueResources, Limits] | None] = {}

    def resources(self, queue_name: str) -> tuple[QueueResources, Limits] | None:
        """The queue's resource types, size and limits; None for a queue without types."""
        if queue_name not in self._resources:
            found = queue_settings(self.loaded.queue(queue_name), self.loaded.factory)
            self._resources[queue_name] = found if found[0].typed else None
        return self._resources[queue_name]

    def chain(self, queue_name: str) -> list[tuple[str, SchedRule]]:
        chain = self._chains.get(queue_name)
        if chain is None:
            queue = self.loaded.queue(queue_name)
            chain = [(plugins.canonical("sched", name), plugins.find("sched", name)(queue, self.loaded.context))
                     for name in queue.getlist("schedplugin")]
            self._chains[queue_name] = chain
        return chain

    def decide(self, record: Record) -> Record:
        """Add ``decision`` to the record (and return it)."""
        try:
            chain = self.chain(record["queue"])
            typed = self.resources(record["queue"])
        except ConfigError as exc:  # a rule that cannot be built for this queue: 0, said why
            record["decision"] = build.refused(f"configuration error ({exc})", error=True)
            return record
        reason = status_failure(record)
        if typed is not None:
            if reason is not None:
                return zero_types(record, typed[0], reason)
            return decide_types(record, typed[0], typed[1], lambda view: self.run(chain, view))
        if reason is not None:
            record["decision"] = build.refused(reason)
            return record
        n, trace = self.run(chain, record)
        record["decision"] = build.decision(n, trace)
        return record

    def run(self, chain: list[tuple[str, SchedRule]], record: Mapping[str, Any]) -> tuple[int, list[Step]]:
        """The chain from n = 0: the number and the trace. A rule that raises, or a result out of range, gives 0."""
        n = 0
        trace: list[Step] = []
        append = trace.append
        step = build.step
        name = ""
        try:
            for name, rule in chain:
                out, msg = rule(n, record)
                append(step(name, n, out, msg))
                n = out
        except Exception as exc:  # a broken rule must not turn into pilots
            log.debug("rule %s failed", name, exc_info=True)
            msg = message(name, comment=TEXT, in_=NUMBER, ret=0)(f"rule failed ({str(exc) or type(exc).__name__})", n)
            append(step(name, n, 0, msg, error=True))
            n = 0
        if not PILOTS.low <= n <= PILOTS.high:
            append(step("Decide", n, 0, _OUT_OF_RANGE(n), error=True))
            n = 0
        return n, trace
