"""The plugin registry: every plugin, apfctl's own included, is found through entry points.

Names match case-insensitively, so an APF ``queues.conf`` that says ``condorosgce`` or
``CondorOSGCE`` reads the same. A plugin class with ``REFUSED`` set is a dead plugin name
(GT2, CREAM, ...) that is recognised and refused with a message naming its replacement.
"""

from __future__ import annotations

import difflib
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from apfctl.errors import PluginError

GROUPS = {
    "wmsstatus": "apfctl.wmsstatus",
    "batchstatus": "apfctl.batchstatus",
    "sched": "apfctl.sched",
    "batchsubmit": "apfctl.batchsubmit",
    "config": "apfctl.config",
    "monitor": "apfctl.monitor",
}


@cache
def _index(group: str) -> dict[str, EntryPoint]:
    return {ep.name.lower(): ep for ep in entry_points(group=group)}


def names(kind: str) -> list[str]:
    """The plugin names installed for a kind (``sched``, ``batchsubmit``, ...)."""
    return sorted(ep.name for ep in _index(GROUPS[kind]).values())


@cache
def _load(group: str, lowered: str) -> Any:
    return _index(group)[lowered].load()


def find(kind: str, name: str, *, allow_refused: bool = False) -> Any:
    """The plugin class registered as ``name`` in the kind's group; PluginError otherwise."""
    group = GROUPS[kind]
    lowered = name.strip().lower()
    if lowered not in _index(group):
        close = difflib.get_close_matches(lowered, list(_index(group)), n=1)
        hint = f"; did you mean {_index(group)[close[0]].name}?" if close else ""
        known = ", ".join(names(kind)) or "none installed"
        raise PluginError(f"unknown {kind} plugin {name!r}{hint} (installed: {known})")
    try:
        plugin = _load(group, lowered)
    except Exception as exc:  # a broken third-party package must not look like a typo
        raise PluginError(f"{kind} plugin {name!r} failed to load: {exc}") from exc
    refused = getattr(plugin, "REFUSED", None)
    if refused and not allow_refused:
        raise PluginError(f"{kind} plugin {name!r} is no longer supported: {refused}")
    return plugin


def canonical(kind: str, name: str) -> str:
    """The registered spelling of a plugin name (``condorosgce`` -> ``CondorOSGCE``)."""
    entry = _index(GROUPS[kind]).get(name.strip().lower())
    return entry.name if entry else name.strip()
