"""The status stage: WMS and batch status of many queues, one query per endpoint.

Queues are grouped by (plugin, endpoint); each group gets one plugin instance and one
``query`` call, and the groups run concurrently in a bounded thread pool. A failing query
marks its queues ``ok: false`` with the error; the other groups carry on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from apfctl import plugins
from apfctl.bounded import check_count
from apfctl.config.generic import FACTORY_KEYS
from apfctl.config.loader import Loaded
from apfctl.config.model import QueueConfig
from apfctl.interfaces import BatchCounts, FactoryContext
from apfctl.record import BatchFailed, BatchRead, Record, WmsFailed, WmsRead, build, isotime, new_cycle_id
from apfctl.record.states import batch_counts

if TYPE_CHECKING:
    from apfctl.ledger import Ledger

log = logging.getLogger("apfctl.status")

DONE_WINDOW = 3600.0  # done_1h and fault_1h


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip()
    return text if text else type(exc).__name__


Group = tuple[Any, str, list[QueueConfig]]   # (plugin class, configured name, queues)


def group_by_endpoint(queues: Iterable[QueueConfig], kind: str, key: str,
                      context: FactoryContext) -> dict[tuple[str, Hashable], Group]:
    """Queues that share a plugin and an endpoint, so one instance answers them all."""
    groups: dict[tuple[str, Hashable], Group] = {}
    for queue in queues:
        name = queue.getstr(key)
        if name is None:
            continue
        plugin_class = plugins.find(kind, name)
        group_key = (plugins.canonical(kind, name), plugin_class.endpoint(queue, context))
        groups.setdefault(group_key, (plugin_class, plugins.canonical(kind, name), []))[2].append(queue)
    return groups


def history_window(queue: QueueConfig) -> tuple[float, float] | None:
    """The widest (interval, short limit) that any rule of the queue's chain asks for."""
    windows = [w for name in queue.getlist("schedplugin")
               if (w := plugins.find("sched", name).history_window(queue)) is not None]
    return max(windows) if windows else None


def _wms_section(plugin: str | None, queue: QueueConfig, value: Any, stamp: str) -> WmsRead | WmsFailed:
    if isinstance(value, BaseException):
        return build.wms_failed(plugin, describe_error(value), queue=queue.wmsqueue, time=stamp)
    try:   # a count from outside is checked before it is used or stored (a missing one is 0)
        counts = {key: check_count(value.get(key) or 0, f"wms.{key}") for key in build.WMS_COUNTS}
        status = value.get("status")
        if status is not None and (type(status) is not str or len(status) > 64):
            raise ValueError(f"wms.status = {str(status)[:40]!r} is not a short status word")
        types = _checked_types(value.get("types"))
        unmatchable = check_count(value["unmatchable"], "wms.unmatchable") if "unmatchable" in value else None
        factories = value.get("factories")
        if factories is not None and (type(factories) is not int or not 1 <= factories <= 10**6):
            raise ValueError(f"wms.factories = {str(factories)[:40]!r} is not a number of factories (1 to 10^6)")
    except ValueError as exc:
        return build.wms_failed(plugin, f"{plugin}: {exc}", queue=queue.wmsqueue, time=stamp)
    section = build.wms_read(plugin, counts, queue=queue.wmsqueue, status=status, time=stamp, types=types,
                             factories=factories)
    if unmatchable is not None:   # reported apart: work no resource of the queue could run
        section["unmatchable"] = unmatchable   # type: ignore[typeddict-unknown-key]
    return section


def _checked_types(types: Any) -> dict[str, dict[str, int]] | None:
    """A WMS plugin's per-resource-type counts, checked as its totals are: ``{type: {count: n}}``."""
    if not types:
        return None
    if type(types) is not dict:
        raise ValueError(f"wms.types = {str(types)[:40]!r} is not a mapping of resource types")
    checked: dict[str, dict[str, int]] = {}
    for rt, by_type in types.items():
        if type(rt) is not str or not rt or len(rt) > 64 or type(by_type) is not dict:
            raise ValueError(f"wms.types has an entry {str(rt)[:40]!r} that is not a type name with its counts")
        checked[rt] = {key: check_count(by_type.get(key) or 0, f"wms.types.{rt}.{key}") for key in build.WMS_COUNTS}
    return checked


def _batch_section(plugin: str, window: tuple[float, float] | None, value: BatchCounts | BaseException,
                   stamp: str, now: float) -> BatchRead | BatchFailed:
    if isinstance(value, BaseException):
        return build.batch_failed(plugin, describe_error(value), time=stamp)
    try:   # counts from outside, checked before use or storage
        for key in ("pending", "held", "running", "exiting"):
            check_count(getattr(value, key), f"batch.{key}")
    except ValueError as exc:
        return build.batch_failed(plugin, f"{plugin}: {exc}", time=stamp)
    section = build.batch_read(plugin, batch_counts(value, now - DONE_WINDOW), time=stamp, types=value.types)
    if window is not None:
        interval, maxtime = window
        ran = [p for p in value.finished if p.end >= now - interval and p.outcome != "removed"]
        section["recent"] = {"interval": interval, "maxtime": maxtime, "total": len(ran),
                             "short": sum(1 for p in ran if p.walltime < maxtime)}
    section.update(value.extra)  # type: ignore[typeddict-item]
    return section


def _query_wms(loaded: Loaded, group: Group, endpoint: Hashable) -> dict[str, dict[str, Any]]:
    plugin_class, name, queues = group
    stamp = isotime()
    try:
        answers = plugin_class(endpoint, loaded.context).query(queues)
    except Exception as exc:  # one endpoint failing must not stop the others
        log.debug("wms status %s failed", name, exc_info=True)
        return {q.name: _wms_section(name, q, exc, stamp) for q in queues}
    missing = LookupError("the status plugin returned nothing for this queue")
    return {q.name: _wms_section(name, q, answers.get(q.name, missing), stamp) for q in queues}


def _query_batch(loaded: Loaded, group: Group, endpoint: Hashable) -> dict[str, dict[str, Any]]:
    plugin_class, name, queues = group
    now = time.time()
    stamp = isotime()
    windows = {q.name: history_window(q) for q in queues}
    since = now - max([DONE_WINDOW, *(w[0] for w in windows.values() if w is not None)])
    try:
        answers = plugin_class(endpoint, loaded.context).query(queues, since)
    except Exception as exc:
        log.debug("batch status %s failed", name, exc_info=True)
        return {q.name: _batch_section(name, windows[q.name], exc, stamp, now) for q in queues}
    missing = LookupError("the status plugin returned nothing for this queue")
    sections = {q.name: _batch_section(name, windows[q.name], answers.get(q.name, missing), stamp, now)
                for q in queues}
    total = sum(s["pending"] + s["running"] for s in sections.values() if s["ok"])
    for section in sections.values():
        if section["ok"]:
            section["factory_total"] = total
    return sections


def collect(loaded: Loaded, queue_names: Sequence[str], cycle: str | None = None,
            ledger: Ledger | None = None, refresh_tokens: bool = False, *,
            batch_only: bool = False) -> list[Record]:
    """One record per queue, with its ``wms`` and ``batch`` sections.

    ``ledger``: an open ledger to read submitted totals from (cycle has one); else it is opened.
    ``refresh_tokens``: obtain the tokens that are due before reporting them (cycle does).
    ``batch_only`` (``apfctl monitor --live``): only the batch systems' counts, no WMS query,
    credentials or submitted totals; such records are for showing, not for deciding.
    """
    cycle = cycle or new_cycle_id()
    queues = [loaded.queue(name) for name in queue_names]
    records = {q.name: build.new_record(q.name, cycle) for q in queues}
    tasks: list[tuple[str, Callable[[], dict[str, dict[str, Any]]]]] = []
    wms_groups = {} if batch_only else group_by_endpoint(queues, "wmsstatus", "wmsstatusplugin", loaded.context)
    for (_, endpoint), group in wms_groups.items():
        tasks.append(("wms", lambda g=group, e=endpoint: _query_wms(loaded, g, e)))
    for (_, endpoint), group in group_by_endpoint(queues, "batchstatus", "batchstatusplugin",
                                                  loaded.context).items():
        tasks.append(("batch", lambda g=group, e=endpoint: _query_batch(loaded, g, e)))
    threads = loaded.factory.typed("apfctl.threads", FACTORY_KEYS["apfctl.threads"])
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(tasks) or 1))) as pool:
        futures = [(section, pool.submit(task)) for section, task in tasks]
        for section, future in futures:
            for queue_name, value in future.result().items():
                records[queue_name][section] = value
    if batch_only:
        return [records[q.name] for q in queues]
    for queue in queues:
        if queue.getstr("wmsstatusplugin") is None:
            records[queue.name]["wms"] = build.no_wms(isotime())
    _add_credentials(loaded, queues, records, refresh_tokens)
    _add_submitted_totals(loaded, records.values(), ledger)
    return [records[q.name] for q in queues]


def _add_submitted_totals(loaded: Loaded, records: Iterable[Record], ledger: Ledger | None) -> None:
    """``batch.submitted_total`` from the ledger: what the factory sent, not what runs.

    An unreadable ledger leaves the field out, which the rules that need it treat as unknown.
    """
    from apfctl.errors import LedgerError
    from apfctl.ledger import Ledger

    try:
        if ledger is not None:
            totals = ledger.submitted_totals()
        else:
            with Ledger.for_factory(loaded, create=False) as opened:
                totals = opened.submitted_totals()
    except LedgerError as exc:
        log.warning("submitted totals unknown: %s", exc)
        return
    for record in records:
        batch = record.get("batch")
        if batch and batch.get("ok"):
            batch["submitted_total"] = totals.get(record["queue"], 0)


def _add_credentials(loaded: Loaded, queues: Sequence[QueueConfig], records: dict[str, Record],
                     refresh: bool) -> None:
    """``batch.credential`` of queues that name an auth.conf profile (CredentialLifetime reads it)."""
    from apfctl.auth.queues import credential_statuses

    try:
        statuses = credential_statuses(queues, loaded.context, refresh=refresh)
    except Exception as exc:  # a credential problem must not cost the other queues their status
        log.warning("credential lifetimes unknown: %s", describe_error(exc))
        log.debug("credential status failed", exc_info=True)
        return
    for name, field in statuses.items():
        batch = records[name].get("batch")
        if batch is not None:
            batch["credential"] = field
