"""Counters for Prometheus that only ever grow: pilots submitted and retired, cycles, errors;
and, beside them, each queue's failing streak (cycles in a row that failed, 0 after a good one).

Summing the whole ledger on every scrape would cost more as it grows, and its retention
would make the sums shrink (which Prometheus reads as counter resets). Instead the counts
are accumulated in ``<state>/monitor/totals.json``: each update reads only the records
stored since the last one and counts each (queue, cycle) once. Counting starts an hour
before the file is created (the OpenMetrics ``_created`` time); an update holds a lock so
that two writers never lose each other's counts.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apfctl.bounded import read_text
from apfctl.dashboard.view import record_errors, record_time

OVERLAP = 3600.0     # records are re-read this far back: a cycle is stored after it ran
log = logging.getLogger("apfctl.monitor")
FILENAME = "totals.json"


@dataclass
class Totals:
    created: float
    watermark: float
    queues: dict[str, dict[str, int]] = field(default_factory=dict)
    seen: dict[str, float] = field(default_factory=dict)   # "queue\tcycle" -> cycle time

    def count(self, record: Mapping[str, Any]) -> bool:
        """Add one record's cycle, once; False if it was counted before or is too old."""
        when = record_time(record)
        if when is None:
            return False
        stamp = when.timestamp()
        key = f"{record['queue']}\t{record.get('cycle')}"
        if stamp < self.created or stamp < self.watermark - 2 * OVERLAP or key in self.seen:
            return False
        self.seen[key] = stamp
        self.watermark = max(self.watermark, stamp)
        counts = self.queues.setdefault(record["queue"], {})
        counts["cycles"] = counts.get("cycles", 0) + 1
        submission = record.get("submission")
        if isinstance(submission, Mapping):
            for name in ("submitted", "retired"):
                value = submission.get(name)
                if type(value) is int and value > 0:
                    counts[name] = counts.get(name, 0) + value
        errors = record_errors(record)
        for source in errors:
            counts[f"errors_{source}"] = counts.get(f"errors_{source}", 0) + 1
        counts["failing_streak"] = counts.get("failing_streak", 0) + 1 if errors else 0
        return True

    def forget_old(self) -> None:
        horizon = self.watermark - 2 * OVERLAP
        self.seen = {key: stamp for key, stamp in self.seen.items() if stamp >= horizon}


def _load(path: Path, now: float) -> Totals:
    try:
        data = json.loads(read_text(path))
        return Totals(created=float(data["created"]), watermark=float(data["watermark"]),
                      queues={q: {k: int(v) for k, v in c.items()} for q, c in data["queues"].items()},
                      seen={k: float(v) for k, v in data["seen"].items()})
    except FileNotFoundError:
        return Totals(created=now - OVERLAP, watermark=now)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        # unreadable: start again, and say so through a new _created time
        return Totals(created=now - OVERLAP, watermark=now)


def _save(path: Path, totals: Totals) -> None:
    data = {"created": totals.created, "watermark": totals.watermark, "queues": totals.queues, "seen": totals.seen}
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
    os.replace(temporary, path)


LOCK_WAIT = 5.0   # seconds: a monitor never holds a cycle up for long


def _lock(handle: Any, wait: float) -> bool:
    """An exclusive flock within ``wait`` seconds, or False."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def update(folder: Path, records_since: Callable[[float], Iterable[Mapping[str, Any]]], now: float) -> Totals:
    """Count the records stored since the last update and save the totals in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILENAME
    with open(folder / f"{FILENAME}.lock", "a") as lock:
        if not _lock(lock, LOCK_WAIT):
            log.warning("monitor counters: %s is locked for more than %g s; counters not updated this time",
                        folder / FILENAME, LOCK_WAIT)
            return _load(path, now)
        try:
            totals = _load(path, now)
            for record in records_since(totals.watermark - OVERLAP):
                totals.count(record)
            totals.forget_old()
            with contextlib.suppress(OSError):   # a read-only state folder still gets numbers
                _save(path, totals)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return totals
