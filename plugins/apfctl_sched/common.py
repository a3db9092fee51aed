"""What every rule shares: reading its keys once, and whether the record's sources are usable.

Rules read their keys and make their message templates (``apfctl.record.message``) in
``__init__``, once per queue and invocation, so that a call is a few dictionary look-ups and
one ``str.format``: decide has a throughput budget (docs/architecture.md §7).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apfctl.interfaces import SchedRule


def usable(record: Mapping[str, Any]) -> bool:
    """Both sources read, the WMS from a configured plugin (APF's "wmsinfo and batchinfo are not None").

    One function for the check most rules make first, inlined: decide calls it on every record.
    """
    wms = record.get("wms")
    batch = record.get("batch")
    return bool(wms and batch and wms.get("ok") is True and batch.get("ok") is True and wms.get("plugin") is not None)


def batch_usable(record: Mapping[str, Any]) -> bool:
    """APF's "batchinfo is not None": a batch section that was read."""
    batch = record.get("batch")
    return bool(batch) and batch.get("ok") is True


def batch_total(record: Mapping[str, Any], field: str) -> tuple[int | None, str]:
    """A total of the batch section (``submitted_total``, ``factory_total``) and why not.

    (total, "") for a non-negative integer; (None, comment) when the section is unusable,
    the total is missing, or it is not a count (negative, fractional, a string): a limit
    computed from such a total would let pilots past it, so the rules treat it as unknown.
    The comment goes into a message template's text slot, which cleans it.
    """
    if not batch_usable(record):
        return None, "no batchinfo"
    value = record["batch"].get(field)
    if value is None:
        return None, f"no {field.replace('_', ' ')}"
    if type(value) is not int or value < 0:
        return None, f"bad {field}={repr(value)[:40]}"
    return value, ""


class Rule(SchedRule):
    """A rule whose ``KEYS`` are read from the queue section when it is built."""

    def setting(self, key: str) -> Any:
        """The typed value of one of this rule's keys (ConfigError naming it if invalid)."""
        return self.queue.typed(key, self.KEYS[key])
