"""One queue over time, from its ledger records: what the web page's queue view draws.

Pure functions of records (no I/O): per cycle, the pilots submitted and the batch counts;
the held reasons of the last cycle that had held pilots; the last decisions with their
traces; the last errors. A cycle is stored once per stage (status, decide, submit); the
last record of a cycle is the most complete, so it is the one used.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from apfctl.dashboard.view import record_errors, record_time, submitted

#: the per-cycle numbers, and where they come from in the record
SERIES: dict[str, tuple[str, str]] = {
    "submitted": ("submission", "submitted"),
    "pending": ("batch", "pending"),
    "held": ("batch", "held"),
    "running": ("batch", "running"),
    "done": ("batch", "done_1h"),
    "fault": ("batch", "fault_1h"),
    "decided": ("decision", "pilots"),
}
DECISIONS = 10      # last decisions shown with their traces
ERRORS = 20         # last errors shown


def _iso(when: _dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(record: Mapping[str, Any], section: str, key: str) -> int | None:
    part = record.get(section)
    if not isinstance(part, Mapping) or (section == "batch" and not part.get("ok")):
        return None
    value = part.get(key)
    return value if type(value) is int else None


def cycles_of(records: Iterable[Mapping[str, Any]]) -> list[tuple[_dt.datetime, Mapping[str, Any]]]:
    """The last record of each cycle with a known time, oldest first."""
    last: dict[str, Mapping[str, Any]] = {}
    for record in records:
        cycle = record.get("cycle")
        if isinstance(cycle, str):
            last[cycle] = record
    timed = [(when, record) for record in last.values() if (when := record_time(record)) is not None]
    timed.sort(key=lambda pair: pair[0])
    return timed


def held_reasons(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The batch section's held reasons as (reason text, count), largest first."""
    batch = record.get("batch")
    items = batch.get("held_reasons") if isinstance(batch, Mapping) else None
    reasons = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping) or type(item.get("count")) is not int:
            continue
        code = item.get("code")
        label = f"code {code}" + (f"/{item['subcode']}" if item.get("subcode") is not None else "") \
            if code is not None else "unknown"
        reasons.append({"reason": label, "example": str(item.get("example") or ""), "count": item["count"]})
    return sorted(reasons, key=lambda reason: -reason["count"])


def queue_history(queue: str, records: Iterable[Mapping[str, Any]], now: _dt.datetime, window: float,
                  explain: Callable[[Mapping[str, Any]], str] | None = None) -> dict[str, Any]:
    """The queue page's document: ``cycles`` (series), ``held_reasons``, ``decisions``, ``errors``.

    ``explain`` turns a record into the ``--explain`` text of its decision (left out if None).
    """
    cycles = cycles_of(records)
    series = [{"time": _iso(when), "cycle": record.get("cycle"),
               **{name: (submitted(record) if name == "submitted" else _number(record, *where))
                  for name, where in SERIES.items()}}
              for when, record in cycles]
    reasons: list[dict[str, Any]] = []
    for _, record in reversed(cycles):
        reasons = held_reasons(record)
        if reasons:
            break
    decisions = []
    for when, record in reversed(cycles):
        decision = record.get("decision")
        if not isinstance(decision, Mapping):
            continue
        decisions.append({"time": _iso(when), "cycle": record.get("cycle"), "pilots": decision.get("pilots"),
                          "msg": str(decision.get("msg") or ""),
                          "explain": explain(record) if explain is not None else None})
        if len(decisions) == DECISIONS:
            break
    errors = []
    for when, record in reversed(cycles):
        for source, error in record_errors(record).items():
            errors.append({"time": _iso(when), "cycle": record.get("cycle"), "source": source, "error": error})
        if len(errors) >= ERRORS:
            break
    return {"queue": queue, "time": _iso(now), "window": window, "series": list(SERIES), "cycles": series,
            "held_reasons": reasons, "decisions": decisions, "errors": errors[:ERRORS]}
