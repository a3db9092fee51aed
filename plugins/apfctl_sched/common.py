"""What every rule shares: reading its keys once, and whether the record's sources are usable.

Rules read their keys and make their message templates (``apfctl.record.message``) in
``__init__``, once per queue and invocation, so that a call is a few dictionary look-ups and
one ``str.format``: decide has a throughput budget (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apfctl.interfaces import SchedRule


def wms_usable(record: Mapping[str, Any]) -> bool:
    """APF's "wmsinfo is not None": a WMS section that was read, from a configured plugin."""
    wms = record.get("wms")
    return bool(wms) and wms.get("ok") is True and wms.get("plugin") is not None


def batch_usable(record: Mapping[str, Any]) -> bool:
    """APF's "batchinfo is not None": a batch section that was read."""
    batch = record.get("batch")
    return bool(batch) and batch.get("ok") is True


class Rule(SchedRule):
    """A rule whose ``KEYS`` are read from the queue section when it is built."""

    def setting(self, key: str) -> Any:
        """The typed value of one of this rule's keys (ConfigError naming it if invalid)."""
        return self.queue.typed(key, self.KEYS[key])
