"""The decide stage: each queue's chain of rules, from n = 0, on its status record.

Never blind: a record whose ``wms`` or ``batch`` section is missing or not ok gets 0
pilots, with the reason as the first step of the trace. A rule that raises gives 0 pilots
too (its error in the trace) rather than a guess, and so does a chain whose result is
outside the record's range for pilots (``record.kinds.PILOTS``).
"""

from __future__ import annotations

import logging

from apfctl import plugins
from apfctl.config.loader import Loaded
from apfctl.errors import ConfigError
from apfctl.interfaces import SchedRule
from apfctl.record import Record, Step, build, status_failure
from apfctl.record.kinds import PILOTS
from apfctl.record.message import NUMBER, TEXT, message

log = logging.getLogger("apfctl.decide")

_OUT_OF_RANGE = message("Decide", comment=f"pilots outside {PILOTS.describe()}", in_=NUMBER, ret=0)


class Decider:
    """Decides records under one configuration; rules are built once per queue."""

    def __init__(self, loaded: Loaded) -> None:
        self.loaded = loaded
        self._chains: dict[str, list[tuple[str, SchedRule]]] = {}

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
        except ConfigError as exc:  # a rule that cannot be built for this queue: 0, said why
            record["decision"] = build.refused(f"configuration error ({exc})", error=True)
            return record
        reason = status_failure(record)
        if reason is not None:
            record["decision"] = build.refused(reason)
            return record
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
            if type(n) is not int:   # once per chain, off the per-rule path: a fraction is no pilot count
                raise TypeError(f"the chain gave {n!r} pilots, not a whole number")
        except Exception as exc:  # a broken rule must not turn into pilots
            log.debug("rule %s failed", name, exc_info=True)
            msg = message(name, comment=TEXT, in_=NUMBER, ret=0)(f"rule failed ({str(exc) or type(exc).__name__})", n)
            append(step(name, n, 0, msg, error=True))
            n = 0
        if not PILOTS.low <= n <= PILOTS.high:
            append(step("Decide", n, 0, _OUT_OF_RANGE(n), error=True))
            n = 0
        record["decision"] = build.decision(n, trace)
        return record
