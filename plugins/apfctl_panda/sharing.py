"""One PanDA queue, several factories: each takes its share of the queue's waiting work.

Harvester's ``activateWorkerFactor = auto`` sets the factor to 1 / the number of Harvester
instances that reported worker statistics for the queue in the last 4 hours. apfctl does the
same with ``wmsstatus.panda.share = auto``: the queue's ``ready`` counts (and each resource
type's) become ``ceil(ready / factories)``, where ``factories`` is the number of instances
in ``get_worker_statistics`` for the queue's site, this factory's instance id included
whether PanDA lists it yet or not. Rounding up keeps a queue with one activated job from
getting no pilot from any of its factories (at most one pilot too many per factory).

``get_worker_statistics``' data: ``{site: {harvester_id: {jobType: {resourceType: {status: n}}}}}``
(panda-server ``worker_module.getWorkerStats``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apfctl.errors import BackendError
from apfctl_panda.untrusted import Untrusted, name

SHARED_COUNTS = ("ready",)
MAX_FACTORIES = 1000


def factories(stats: Mapping[str, Any], site: str, own: str) -> int:
    """How many factories report for ``site``: the ids PanDA lists for it, and ``own``."""
    entry = stats.get(site, {})
    if not isinstance(entry, Mapping):
        raise BackendError(f"get_worker_statistics: the entry of {site!r} is {type(entry).__name__}, not an object")
    ids = {own}
    for harvester in entry:
        try:
            ids.add(name(harvester, f"get_worker_statistics: {site} harvester id"))
        except Untrusted as exc:
            raise BackendError(str(exc)) from None
    if len(ids) > MAX_FACTORIES:
        raise BackendError(f"get_worker_statistics: {len(ids)} factories for {site!r}, more than {MAX_FACTORIES}")
    return len(ids)


def _share(value: int, n: int) -> int:
    return -(-value // n)


def share(counts: dict[str, Any], n: int) -> dict[str, Any]:
    """``counts`` (WMSCounts) with the ready counts divided among ``n`` factories, and ``factories``."""
    shared = dict(counts)
    for key in SHARED_COUNTS:
        shared[key] = _share(int(counts.get(key) or 0), n)
    types = counts.get("types")
    if types:
        shared["types"] = {rt: {**by_type, **{key: _share(int(by_type.get(key) or 0), n) for key in SHARED_COUNTS}}
                           for rt, by_type in types.items()}
    shared["factories"] = n
    return shared
