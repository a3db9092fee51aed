"""The ``Metrics`` monitor plugin: the factory's Prometheus textfile, rewritten after every cycle.

Configured by a monitor.conf section that queues name in ``monitorsection``::

    [metrics]
    monitorplugin = Metrics
    metrics.file = /var/lib/node_exporter/apfctl.prom

After each ``apfctl cycle`` or ``apfctl submit`` the file holds what
``apfctl monitor --format prometheus`` prints: every configured queue of the factory, from
the ledger the cycle has just written to (so queues cycled by other runs, or not at all,
keep their rows), and the factory's counters, in the classic text format. It is written to a
temporary file in the same folder and renamed, so node_exporter never reads half a file.
A relative ``metrics.file`` is taken from the folder of monitor.conf. ``publish`` never
raises: a file that cannot be written is a warning and the cycle goes on.
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from apfctl.config.generic import FACTORY_KEYS
from apfctl.config.keys import Key
from apfctl.errors import ConfigError
from apfctl.interfaces import FactoryContext, MonitorPlugin

log = logging.getLogger("apfctl.metrics")

SECTION_KEYS: dict[str, Key] = {
    "metrics.file": Key("path", None, required=True,
                        doc="the Prometheus textfile to rewrite after each cycle (node_exporter's textfile folder)"),
}


def metrics_file(section_name: str, section: Mapping[str, str], factory: FactoryContext) -> Path:
    """``metrics.file``, a relative path taken from monitor.conf's folder; ConfigError if unset."""
    raw = section.get("metrics.file")
    try:
        value = SECTION_KEYS["metrics.file"].convert(raw)
    except ValueError as exc:
        raise ConfigError(str(exc), section=section_name, key="metrics.file", value=raw) from None
    if not value:
        raise ConfigError("required key is missing (a file path)", section=section_name, key="metrics.file")
    path = Path(value).expanduser()
    monitor_conf = factory.config.typed("monitorConf", FACTORY_KEYS["monitorConf"])
    if not path.is_absolute() and monitor_conf:
        path = Path(monitor_conf).parent / path
    return path


class Metrics(MonitorPlugin):
    """Rewrites ``metrics.file`` with every queue's gauges and counters after each cycle."""

    SECTION_KEYS: ClassVar[Mapping[str, Key]] = SECTION_KEYS

    def __init__(self, section_name: str, section: Mapping[str, str], factory: FactoryContext) -> None:
        super().__init__(section_name, section, factory)
        self.path = metrics_file(section_name, section, factory)

    def publish(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Write the file from the ledger (``records`` are already stored there)."""
        try:
            self.write()
        except Exception as exc:  # never fail the cycle; the old file stays, and goes stale
            log.warning("metrics [%s]: file not updated: %s", self.section_name, exc)
            log.debug("metrics failure", exc_info=True)

    def write(self, now: _dt.datetime | None = None) -> None:
        from apfctl import dashboard

        now = now or _dt.datetime.now(_dt.UTC)
        view = dashboard.factory_view(self.factory, now, activity=False)
        counters = dashboard.counters(self.factory.state_dir, now)
        text = dashboard.prometheus_text(view, {self.factory.factory_id: counters} if counters else None)
        dashboard.write_atomically(self.path, text)
        log.info("metrics %s: %d queues written to %s", self.section_name, len(view.rows), self.path)
