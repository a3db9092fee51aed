"""After a cycle: hand the records to the monitor plugins of the queues' monitor sections.

One plugin instance per monitor.conf section (APF's ``monitorsection``), given the records
of the queues that name it. A monitor never fails the cycle: its errors are logged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from apfctl import plugins
from apfctl.config.loader import Loaded
from apfctl.record import Record

log = logging.getLogger("apfctl.publish")


def publish(loaded: Loaded, records: Sequence[Record]) -> None:
    by_section: dict[str, list[Record]] = {}
    for record in records:
        queue = loaded.queues.get(record["queue"])
        if queue is None:
            continue
        for section in queue.getlist("monitorsection"):
            by_section.setdefault(section, []).append(record)
    for section_name, section_records in by_section.items():
        section: dict[str, Any] | None = loaded.context.monitor_sections.get(section_name)
        if section is None:
            log.warning("monitor section %r is not in monitorConf; not published", section_name)
            continue
        plugin_name = section.get("monitorplugin") or ""
        try:
            plugin = plugins.find("monitor", plugin_name)(section_name, section, loaded.context)
            plugin.publish(section_records)
        except Exception as exc:  # monitoring never blocks or fails a cycle
            log.warning("monitor %s (%s) failed: %s", section_name, plugin_name, exc)
            log.debug("monitor failure", exc_info=True)
