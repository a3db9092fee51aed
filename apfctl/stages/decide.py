"""The decide stage: each queue's chain of rules, from n = 0, on its status record.

Never blind: a record whose ``wms`` or ``batch`` section is missing or not ok gets 0
pilots, with the reason as the first step of the trace. A rule that raises gives 0 pilots
too (its error in the trace) rather than a guess.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from apfctl import plugins
from apfctl.config.loader import Loaded
from apfctl.errors import ConfigError
from apfctl.interfaces import SchedRule
from apfctl.record import Record

log = logging.getLogger("apfctl.decide")

_UNSAFE = re.compile(r"[,;=:\n]+")


def _clean(text: str) -> str:
    """A value that cannot break APF's ``Name:key=value,...;...`` message format."""
    return _UNSAFE.sub(" ", text).strip()[:200]


def blocked_reason(record: Mapping[str, Any]) -> str | None:
    """Why the record's status cannot be trusted, or None."""
    for name in ("wms", "batch"):
        section = record.get(name)
        if not section:
            return f"{name} status missing"
        if section.get("ok") is not True:
            return f"{name} status failed ({_clean(str(section.get('error') or 'no reason given'))})"
    return None


class Decider:
    """Decides records under one configuration; rules are built once per queue."""

    def __init__(self, loaded: Loaded) -> None:
        self.loaded = loaded
        self._chains: dict[str, list[tuple[str, SchedRule]]] = {}
        self.failures = 0   # records whose chain broke (a rule raised)

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
            self.failures += 1
            return _zero(record, f"configuration error ({_clean(str(exc))})", error=True)
        reason = blocked_reason(record)
        if reason is not None:
            return _zero(record, reason)
        n = 0
        trace: list[dict[str, Any]] = []
        append = trace.append
        name = ""
        try:
            for name, rule in chain:
                out, msg = rule(n, record)
                append({"rule": name, "in": n, "out": out, "msg": msg})
                n = out
            if type(n) is not int:   # once per chain, off the per-rule path: a fraction is no pilot count
                raise TypeError(f"the chain gave {n!r} pilots, not a whole number")
        except Exception as exc:  # a broken rule must not turn into pilots
            log.debug("rule %s failed", name, exc_info=True)
            msg = f"{name}:comment=rule failed ({_clean(str(exc) or type(exc).__name__)}),in={n},ret=0"
            append({"rule": name, "in": n, "out": 0, "msg": msg, "error": True})
            self.failures += 1
            n = 0
        record["decision"] = {"pilots": n, "msg": ";".join([step["msg"] for step in trace if step["msg"]]),
                              "trace": trace}
        return record


def _zero(record: Record, reason: str, *, error: bool = False) -> Record:
    """No pilots, with the reason as the chain's only step."""
    msg = f"Status:comment={reason},ret=0"
    step: dict[str, Any] = {"rule": "Status", "in": 0, "out": 0, "msg": msg}
    if error:
        step["error"] = True
    record["decision"] = {"pilots": 0, "msg": msg, "trace": [step]}
    return record


def failed(record: Mapping[str, Any]) -> bool:
    """Whether a decided record's chain broke (exit code 1)."""
    return any(step.get("error") for step in record.get("decision", {}).get("trace", ()))
