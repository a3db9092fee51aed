"""APF's ``Dummy`` monitor: logs what it would publish, so APF's shipped monitor.conf loads."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from apfctl.interfaces import MonitorPlugin

log = logging.getLogger("apfctl.monitor.dummy")


class Dummy(MonitorPlugin):
    """Publishes nothing; each record's queue, pilots and message go to the debug log."""

    def publish(self, records: Sequence[Mapping[str, Any]]) -> None:
        for record in records:
            decision = record.get("decision") or {}
            submission = record.get("submission") or {}
            log.debug("[%s] %s: %s pilots submitted; %s", self.section_name, record.get("queue"),
                      submission.get("submitted", 0), decision.get("msg", ""))
