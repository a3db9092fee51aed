"""What every rule shares: reading its keys once, and whether the record's sources are usable.

Rules read their keys in ``__init__`` (once per queue and invocation) so that a call is a
few dictionary look-ups and one f-string: decide has a throughput budget (DESIGN.md §7).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from apfctl.interfaces import SchedRule

_UNSAFE = re.compile(r"[,;=:\n]+")


def wms_usable(record: Mapping[str, Any]) -> bool:
    """APF's "wmsinfo is not None": a WMS section that was read, from a configured plugin."""
    wms = record.get("wms")
    return bool(wms) and wms.get("ok") is True and wms.get("plugin") is not None


def batch_usable(record: Mapping[str, Any]) -> bool:
    """APF's "batchinfo is not None": a batch section that was read."""
    batch = record.get("batch")
    return bool(batch) and batch.get("ok") is True


def batch_total(record: Mapping[str, Any], field: str) -> tuple[int | None, str]:
    """A total of the batch section (``submitted_total``, ``factory_total``) and why not.

    (total, "") for a non-negative integer; (None, comment) when the section is unusable,
    the total is missing, or it is not a count (negative, fractional, a string): a limit
    computed from such a total would let pilots past it, so the rules treat it as unknown.
    """
    if not batch_usable(record):
        return None, "no batchinfo"
    value = record["batch"].get(field)
    if value is None:
        return None, f"no {field.replace('_', ' ')}"
    if type(value) is not int or value < 0:
        return None, f"bad {field}={clean(repr(value))[:40]}"
    return value, ""


def clean(text: object) -> str:
    """A value that cannot break APF's ``Name:key=value,...`` message format."""
    return " ".join(_UNSAFE.sub(" ", str(text)).split())[:200]


class Rule(SchedRule):
    """A rule whose ``KEYS`` are read from the queue section when it is built."""

    def setting(self, key: str) -> Any:
        """The typed value of one of this rule's keys (ConfigError naming it if invalid)."""
        return self.queue.typed(key, self.KEYS[key])
