"""Resource type definitions: ATLAS's four types shipped, each field overridable in ``[Factory]``.

A type is bounded in cores (``mincore``..``maxcore``) and in memory per core in MB
(``minrampercore``..``maxrampercore``), as PanDA's ``resource_types`` table and Harvester's
``ResourceType`` have it; an absent bound (``None``) is no bound. The factory file overrides
a field, or defines a new type, with ``resourcetype.<NAME>.<field> = <integer or None>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from apfctl.config.keys import Key
from apfctl.config.model import Section

FIELDS = ("mincore", "maxcore", "minrampercore", "maxrampercore")
MAX_CORES = 1024
MAX_MEMORY_MB = 16 * 1024 * 1024
_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
PREFIX = "resourcetype."

FACTORY_KEYS: dict[str, Key] = {
    "resourcetype.*": Key("str", None, doc="resourcetype.<NAME>.<mincore|maxcore|minrampercore|maxrampercore>: "
                                           "a non-negative integer (cores, MB per core) or None (no bound)"),
}


@dataclass(frozen=True)
class ResourceType:
    """One resource type; None is no bound."""

    name: str
    mincore: int | None = None
    maxcore: int | None = None
    minrampercore: int | None = None
    maxrampercore: int | None = None

    @property
    def single_core(self) -> bool:
        """Harvester's test: mincore == maxcore == 1."""
        return self.mincore == self.maxcore == 1


# PanDA's resource_types as ATLAS runs them: up to 2000 MB per core is not HIMEM.
ATLAS_DEFAULTS: dict[str, ResourceType] = {
    "SCORE": ResourceType("SCORE", mincore=1, maxcore=1, minrampercore=0, maxrampercore=2000),
    "MCORE": ResourceType("MCORE", mincore=2, maxcore=None, minrampercore=0, maxrampercore=2000),
    "SCORE_HIMEM": ResourceType("SCORE_HIMEM", mincore=1, maxcore=1, minrampercore=2001, maxrampercore=None),
    "MCORE_HIMEM": ResourceType("MCORE_HIMEM", mincore=2, maxcore=None, minrampercore=2001, maxrampercore=None),
}

_LIMITS = {"mincore": MAX_CORES, "maxcore": MAX_CORES, "minrampercore": MAX_MEMORY_MB,
           "maxrampercore": MAX_MEMORY_MB}


def valid_name(name: str) -> bool:
    """Upper-case letters, digits and ``_``, as PanDA names types (usable in env vars and ClassAds)."""
    return bool(_NAME.match(name))


def _field_value(section: Section, key: str, field: str) -> int | None:
    raw = section.get(key)
    value = Key("int", None).convert(raw)   # None/'' is no bound; ValueError for a non-integer
    if value is not None and not 0 <= value <= _LIMITS[field]:
        raise section.error(key, f"must be between 0 and {_LIMITS[field]}, or None", raw)
    return value


def from_factory(section: Section) -> dict[str, ResourceType]:
    """The types of a factory section: ATLAS's defaults with ``resourcetype.*`` applied.

    Raises ConfigError naming the key and value for a bad name, field, or number, and for a
    type whose bounds are crossed (mincore above maxcore, ...).
    """
    overrides: dict[str, dict[str, int | None]] = {}
    for key in section:
        if not key.startswith(PREFIX):
            continue
        name, dot, field = key[len(PREFIX):].rpartition(".")
        if not dot or not valid_name(name):
            raise section.error(key, "expected resourcetype.<NAME>.<field>, NAME in upper-case letters, "
                                     "digits and '_'", section.raw(key))
        if field not in FIELDS:
            raise section.error(key, f"unknown resource type field {field!r} (fields: {', '.join(FIELDS)})",
                                section.raw(key))
        try:
            overrides.setdefault(name, {})[field] = _field_value(section, key, field)
        except ValueError as exc:
            raise section.error(key, f"{exc}; expected an integer or None", section.raw(key)) from None
    types = dict(ATLAS_DEFAULTS)
    for name, fields in overrides.items():
        base = types.get(name, ResourceType(name))
        types[name] = replace(base, **fields)
    for rt in types.values():
        _check_bounds(rt, section)
    return types


def _check_bounds(rt: ResourceType, section: Section) -> None:
    for low, high in (("mincore", "maxcore"), ("minrampercore", "maxrampercore")):
        lo, hi = getattr(rt, low), getattr(rt, high)
        if lo is not None and hi is not None and lo > hi:
            key = f"{PREFIX}{rt.name}.{low}"
            raise section.error(key if key in section else f"{PREFIX}{rt.name}.{high}",
                                f"resource type {rt.name}: {low} ({lo}) is above {high} ({hi})")
    if rt.maxcore == 0:
        raise section.error(f"{PREFIX}{rt.name}.maxcore", f"resource type {rt.name}: maxcore 0 leaves no pilot size",
                            "0")


def describe(types: Mapping[str, ResourceType]) -> str:
    return ", ".join(sorted(types))
