"""Where the monitor's numbers come from: the ledger (default) or the batch systems (live).

From the ledger, a view costs two indexed queries: each queue's last record, and the last
two hours of records for the activity sparkline. Live, the status stage is run for the
shown queues (one query per batch endpoint; the WMS only when asked) and its batch counts
replace the recorded ones; the last msg, submissions and cycle age still come from the ledger.
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apfctl.dashboard.view import ACTIVITY_WINDOW, DEFAULT_INTERVAL, QueueSpec, View, build_view, matches

if TYPE_CHECKING:
    from apfctl.config.loader import Loaded
    from apfctl.config.model import FactoryConfig, QueueConfig
    from apfctl.dashboard.totals import Totals
    from apfctl.interfaces import FactoryContext

log = logging.getLogger("apfctl.monitor")


def queue_specs(factory: FactoryConfig, queues: Mapping[str, QueueConfig]) -> list[QueueSpec]:
    """Every configured queue with its cycle interval; ConfigError for a bad apfqueue.sleep."""
    from apfctl.config.loader import enabled_queue_names

    enabled = set(enabled_queue_names(factory, queues))
    return [QueueSpec(name, float(queue.getint("apfqueue.sleep", int(DEFAULT_INTERVAL)) or DEFAULT_INTERVAL),
                      name in enabled)
            for name, queue in queues.items()]


def _live_records(loaded: Loaded, names: Sequence[str], wms: bool) -> dict[str, dict[str, Any]]:
    from apfctl.stages.status import collect

    return {record["queue"]: record for record in collect(loaded, list(names), batch_only=not wms)}


def snapshot(loaded: Loaded, patterns: Sequence[str] = (), *, live: bool = False, wms: bool = False,
             now: _dt.datetime | None = None) -> View:
    """The view of the queues matching ``patterns`` (every queue when none).

    ``live`` asks the batch systems for the counts (and the WMS too only with ``wms``:
    no column shows WMS numbers, so a refresh does not query PanDA for nothing).
    """
    fetch = (lambda names: _live_records(loaded, names, wms)) if live else None
    return _view(loaded.context.factory_id, loaded.context.state_dir, queue_specs(loaded.factory, loaded.queues),
                 patterns, fetch, now)


def context_snapshot(context: FactoryContext, now: _dt.datetime | None = None, *, activity: bool = True) -> View:
    """The ledger view of every queue of a plugin's :class:`FactoryContext` (its ``queues``).

    Without ``activity`` the two hours of records behind the sparklines are not read (the
    OpenMetrics text has no use for them): one indexed query instead of two.
    """
    return _view(context.factory_id, context.state_dir, queue_specs(context.config, context.queues), (), None, now,
                 activity)


def _view(factory: str, state_dir: Path, all_specs: Sequence[QueueSpec], patterns: Sequence[str],
          live_records: Callable[[list[str]], dict[str, dict[str, Any]]] | None, now: _dt.datetime | None,
          activity: bool = True) -> View:
    """Rows from the ledger; ``live_records`` (enabled queue names -> fresh records) replaces batch counts."""
    from apfctl.ledger import Ledger

    now = now or _dt.datetime.now(_dt.UTC)
    specs = [spec for spec in all_specs if matches(spec.name, patterns, factory)]
    with Ledger(state_dir, create=False) as ledger:
        latest = {name: record for name, record in ledger.latest().items() if matches(name, patterns, factory)}
        since = now - _dt.timedelta(seconds=ACTIVITY_WINDOW + 600)
        history = [record for record in ledger.records(since=since)
                   if matches(record["queue"], patterns, factory)] if activity else []
    if live_records is not None:
        fresh = live_records([spec.name for spec in specs if spec.enabled])
        for name, record in fresh.items():
            merged = dict(latest.get(name) or {"queue": name})
            merged["batch"] = record.get("batch") or {"ok": False, "error": "no batch status"}
            latest[name] = merged
    return build_view(specs, latest, history, now, factory=factory,
                      source="ledger" if live_records is None else "live")


def totals(state_dir: Path, now: _dt.datetime) -> Totals | None:
    """The Prometheus counters, brought up to date; None (no counters) if they cannot be kept."""
    from apfctl.dashboard.totals import update
    from apfctl.ledger import Ledger

    with Ledger(state_dir, create=False) as ledger:
        if ledger.empty:
            return None
        try:
            return update(state_dir / "monitor", lambda since: ledger.records(since=since), now.timestamp())
        except OSError as exc:
            log.warning("cannot keep the Prometheus counters in %s: %s", state_dir / "monitor", exc)
            return None


def queue_page(state_dir: Path, queue: str, hours: float, now: _dt.datetime | None = None, *,
               configured: Collection[str] = ()) -> dict[str, Any] | None:
    """One queue's cycles over the last ``hours`` from the ledger (:func:`history.queue_history`).

    None when ``queue`` is neither ``configured`` nor in the ledger. Only this queue's
    records are read: a page costs one indexed query, whatever the factory's size.
    """
    from apfctl.dashboard.history import queue_history
    from apfctl.ledger import Ledger
    from apfctl.stages.explain import render_queue

    now = now or _dt.datetime.now(_dt.UTC)
    since = now - _dt.timedelta(hours=hours)
    with Ledger(state_dir, create=False) as ledger:
        records = list(ledger.records(queue=queue, since=since))
        if not records and queue not in configured and next(ledger.records(queue=queue), None) is None:
            return None
    return queue_history(queue, records, now, hours * 3600.0, explain=render_queue)
