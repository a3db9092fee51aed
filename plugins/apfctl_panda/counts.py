"""PanDA job statuses to APF's WMS counts (APF's PANDAWMSSTATUS-JOBSSTATISTICSPERSITE2INFO).

Any other PanDA status (merging, closed, ...) is ignored, as APF did. Counts come from the
network, so each is checked to be a non-negative integer before it is added.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from apfctl.bounded import MAX_COUNT

COUNT_FIELDS = ("ready", "notready", "running", "done", "failed")

STATUS_TO_FIELD: dict[str, str] = {
    "activated": "ready",
    "pending": "notready", "defined": "notready", "assigned": "notready",
    "waiting": "notready", "throttled": "notready",
    "starting": "running", "sent": "running", "running": "running",
    "holding": "running", "transferring": "running",
    "finished": "done",
    "failed": "failed", "cancelled": "failed",
}


class BadCounts(ValueError):
    """A site's statistics are not in the documented shape."""


def zero_counts() -> dict[str, int]:
    return dict.fromkeys(COUNT_FIELDS, 0)


def _count(value: Any, where: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_COUNT:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise BadCounts(f"{where} is {shown}, not a count (a whole number from 0 to {MAX_COUNT})")
    return value


def add_statuses(totals: dict[str, int], statuses: Any, where: str) -> None:
    """Add one ``{jobStatus: n}`` mapping into ``totals``."""
    if not isinstance(statuses, Mapping):
        raise BadCounts(f"{where} is not an object of job statuses")
    for status, value in statuses.items():
        field = STATUS_TO_FIELD.get(status)
        if field is not None:
            totals[field] += _count(value, f"{where}.{status}")


def site_counts(site_stats: Any, site: str) -> dict[str, int]:
    """Counts of one site from ``active_job_stats_by_site``: ``{jobStatus: n}``."""
    totals = zero_counts()
    add_statuses(totals, site_stats, site)
    return totals


def detailed_site_counts(site_stats: Any, site: str, labels: Collection[str] | None,
                         resource_types: Collection[str] | None) -> dict[str, int]:
    """Counts of one site from ``active_job_detailed_stats_by_site``, summed as APF did.

    Shape ``{resource_type: {prodSourceLabel: {jobStatus: n}}}``; ``labels`` and
    ``resource_types`` (None: all) restrict what is summed.
    """
    totals = zero_counts()
    if not isinstance(site_stats, Mapping):
        raise BadCounts(f"{site} is not an object of resource types")
    for resource_type, by_label in site_stats.items():
        if resource_types is not None and resource_type not in resource_types:
            continue
        if not isinstance(by_label, Mapping):
            raise BadCounts(f"{site}.{resource_type} is not an object of labels")
        for label, statuses in by_label.items():
            if labels is None or label in labels:
                add_statuses(totals, statuses, f"{site}.{resource_type}.{label}")
    return totals


def per_type_site_counts(site_stats: Any, site: str, labels: Collection[str] | None,
                         resource_types: Collection[str]) -> dict[str, dict[str, int]]:
    """Counts of one site per resource type, from ``active_job_detailed_stats_by_site``.

    Every type in ``resource_types`` is present (zeros when PanDA has no job of it); types
    the queue does not serve are left out, and ``labels`` (None: all) restrict what is summed.
    """
    by_type = {name: zero_counts() for name in resource_types}
    if not isinstance(site_stats, Mapping):
        raise BadCounts(f"{site} is not an object of resource types")
    for resource_type, by_label in site_stats.items():
        totals = by_type.get(resource_type)
        if totals is None:
            continue
        if not isinstance(by_label, Mapping):
            raise BadCounts(f"{site}.{resource_type} is not an object of labels")
        for label, statuses in by_label.items():
            if labels is None or label in labels:
                add_statuses(totals, statuses, f"{site}.{resource_type}.{label}")
    return by_type
