"""CRIC's PanDA-queue document: selecting queues and CEs, and checking what is used of them.

The document is one JSON object keyed by PanDA queue name; each value is a flat object with
a ``queues`` list of CE objects (docs/panda.md). Selection follows APF's Agis
plugin: a queue needs ``resource_type`` grid and ``site_state`` active (APF's fixed rules)
and the configured VO, cloud, activity (``type``) and pilot manager; a CE needs
``ce_state`` active, ``ce_status`` production and ``ce_queue_status`` production or empty.
Filtering compares strings only; the fields that are *used* are then checked
(:mod:`apfctl_panda.untrusted`) and a queue or CE that fails is skipped with a warning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apfctl_panda import untrusted
from apfctl_panda.untrusted import Untrusted

MAX_CORES = 1024
MAX_MEMORY_MB = 16 * 1024 * 1024
MAX_SECONDS = 366 * 24 * 3600


@dataclass(frozen=True)
class Filters:
    """One group of APF's parallel filter lists; None matches anything."""

    vo: str | None = None
    cloud: str | None = None
    activity: str | None = None
    pilot_manager: str | None = None

    def describe(self) -> str:
        parts = [f"{label}={value}" for label, value in (("vo", self.vo), ("cloud", self.cloud),
                 ("type", self.activity), ("pilot_manager", self.pilot_manager)) if value is not None]
        return ",".join(parts) or "all"


@dataclass(frozen=True)
class CE:
    host: str
    port: int | None
    flavour: str
    queue_name: str          # the batch queue behind the CE ('' when none)
    max_walltime: int | None  # ce_queue_maxwctime, passed on as APF did


@dataclass(frozen=True)
class PandaQueue:
    name: str                # the CRIC key (batchqueue)
    resource: str            # panda_resource (wmsqueue)
    activity: str            # type: production, analysis, unified
    corecount: int
    maxrss: int | None
    maxmemory: int | None
    maxtime: int | None
    ces: tuple[CE, ...]
    capability: str = ""     # ucore for a unified queue (Harvester's test), else score, mcore, ...
    params: Mapping[str, Any] | None = None   # Harvester's queue limits and other settings, unchecked

    @property
    def memory(self) -> int | None:
        """Memory per job in MB: maxrss, else maxmemory (APF's order)."""
        return self.maxrss or self.maxmemory or None


def _lower(value: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) else None


def queue_selected(fields: Mapping[str, Any], filters: Filters) -> bool:
    """APF's fixed rules plus this group's filters, on strings only (nothing is trusted yet)."""
    wanted = {"resource_type": "grid", "site_state": "active", "vo_name": filters.vo, "cloud": filters.cloud,
              "type": filters.activity, "pilot_manager": filters.pilot_manager}
    return all(value is None or _lower(fields.get(key)) == value.lower() for key, value in wanted.items())


def ce_selected(fields: Mapping[str, Any]) -> bool:
    return (_lower(fields.get("ce_state")) == "active" and _lower(fields.get("ce_status")) == "production"
            and (_lower(fields.get("ce_queue_status")) or "") in {"production", ""})


def parse_ce(fields: Any, pq: str) -> CE:
    where = f"CRIC queue {pq} CE"
    if not isinstance(fields, Mapping):
        raise Untrusted(f"{where} entry is not an object")
    hostname, port = untrusted.endpoint(fields.get("ce_endpoint"), f"{where} ce_endpoint")
    where = f"{where} {hostname}"
    return CE(host=hostname, port=port,
              flavour=untrusted.word(fields.get("ce_flavour"), f"{where} ce_flavour").lower(),
              queue_name=untrusted.word(fields.get("ce_queue_name"), f"{where} ce_queue_name", empty=True),
              max_walltime=untrusted.count(fields.get("ce_queue_maxwctime"), f"{where} ce_queue_maxwctime",
                                           MAX_SECONDS) or None)


def parse_queue(key: Any, fields: Mapping[str, Any], warnings: list[str]) -> PandaQueue:
    """The used fields of one selected queue; CEs that are not selected or not valid are left out."""
    name = untrusted.name(key, "CRIC queue name")
    where = f"CRIC queue {name}"
    resource = untrusted.name(fields.get("panda_resource") or name, f"{where} panda_resource")
    ces = []
    raw_ces = fields.get("queues") or []
    if not isinstance(raw_ces, Sequence) or isinstance(raw_ces, str):
        raise Untrusted(f"{where} queues is not a list of CEs")
    for raw in raw_ces:
        if not isinstance(raw, Mapping) or not ce_selected(raw):
            continue
        try:
            ces.append(parse_ce(raw, name))
        except Untrusted as exc:
            warnings.append(f"skipped a CE: {exc}")
    return PandaQueue(
        name=name, resource=resource,
        activity=untrusted.word(fields.get("type"), f"{where} type").lower(),
        corecount=untrusted.count(fields.get("corecount"), f"{where} corecount", MAX_CORES) or 1,
        maxrss=untrusted.count(fields.get("maxrss"), f"{where} maxrss", MAX_MEMORY_MB),
        maxmemory=untrusted.count(fields.get("maxmemory"), f"{where} maxmemory", MAX_MEMORY_MB),
        maxtime=untrusted.count(fields.get("maxtime"), f"{where} maxtime", MAX_SECONDS),
        ces=tuple(ces),
        capability=untrusted.word(fields.get("capability"), f"{where} capability", empty=True).lower(),
        params=_params(fields.get("params"), where, warnings),
    )


def _params(value: Any, where: str, warnings: list[str]) -> Mapping[str, Any] | None:
    """CRIC ``params``: an object, or nothing (with a warning when it is something else)."""
    if value is None or value == "":
        return None
    if not isinstance(value, Mapping):
        warnings.append(f"{where} params is not an object; ignored")
        return None
    return value


def select(document: Mapping[str, Any], filters: Filters, taken: set[str],
           warnings: list[str]) -> list[PandaQueue]:
    """Queues of the document matching ``filters`` and not already ``taken`` by an earlier group."""
    selected = []
    for key, fields in document.items():
        if key in taken or not isinstance(fields, Mapping) or not queue_selected(fields, filters):
            continue
        taken.add(key)
        try:
            selected.append(parse_queue(key, fields, warnings))
        except Untrusted as exc:
            warnings.append(f"skipped: {exc}")
    return selected
