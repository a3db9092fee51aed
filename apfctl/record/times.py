"""The times and cycle ids the record carries."""

from __future__ import annotations

import datetime as _dt
import functools
import os


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def isotime(when: _dt.datetime | None = None) -> str:
    """``2026-11-25T06:00:01Z`` (the form ``kinds.ISO_TIME`` checks)."""
    return (when or utcnow()).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_cycle_id(when: _dt.datetime | None = None) -> str:
    """One invocation's id, ``20261125T060000Z-3f2a``: sortable, and unique in practice."""
    return f"{(when or utcnow()):%Y%m%dT%H%M%SZ}-{os.urandom(2).hex()}"


@functools.lru_cache(maxsize=4096)
def cycle_time(cycle: str) -> _dt.datetime | None:
    """When a cycle id ``20261125T060000Z-3f2a`` was made (None for ids of another form).

    Parsed by hand and cached: strptime is slow, and every queue of a cycle shares one id.
    """
    stamp = cycle[:16]
    if len(stamp) < 16 or stamp[8] != "T" or stamp[15] != "Z" or not (stamp[:8] + stamp[9:15]).isdigit():
        return None
    try:
        return _dt.datetime(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8]), int(stamp[9:11]), int(stamp[11:13]),
                            int(stamp[13:15]), tzinfo=_dt.UTC)
    except ValueError:
        return None
