"""The plugin registry: every plugin, apfctl's own included, is found through entry points.

Names match case-insensitively, so an APF ``queues.conf`` that says ``condorosgce`` or
``CondorOSGCE`` reads the same. A plugin class with ``REFUSED`` set is a dead plugin name
(GT2, CREAM, ...) that is recognised and refused with a message naming its replacement.
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, overload

from apfctl.errors import PluginError

if TYPE_CHECKING:
    from apfctl.config.model import QueueConfig
    from apfctl.interfaces import (
        BatchStatusPlugin,
        BatchSubmitPlugin,
        FactoryContext,
        MonitorPlugin,
        Plugin,
        QueuesConfigPlugin,
        SchedRule,
        StatusPlugin,
        WMSStatusPlugin,
    )

GROUPS: dict[str, str] = {
    "wmsstatus": "apfctl.wmsstatus",
    "batchstatus": "apfctl.batchstatus",
    "sched": "apfctl.sched",
    "batchsubmit": "apfctl.batchsubmit",
    "config": "apfctl.config",
    "monitor": "apfctl.monitor",
}


@dataclass(frozen=True)
class EntryPoint:
    name: str
    value: str   # "module:attribute"

    def load(self) -> Any:
        module, _, attribute = self.value.partition(":")
        target: Any = importlib.import_module(module.strip())
        for part in attribute.strip().split("."):
            target = getattr(target, part)
        return target


def _parse_entry_points(text: str) -> dict[str, list[EntryPoint]]:
    groups: dict[str, list[EntryPoint]] = {}
    current: list[EntryPoint] | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = groups.setdefault(line[1:-1].strip(), [])
        elif current is not None and "=" in line:
            name, _, value = line.partition("=")
            current.append(EntryPoint(name.strip(), value.strip()))
    return groups


@cache
def _all_entry_points() -> dict[str, list[EntryPoint]]:
    """Every distribution's entry points on sys.path, the first distribution of a name winning.

    What ``importlib.metadata.entry_points`` does, without importing it (and the email
    package it needs): that import alone costs more than a third of ``apfctl decide``'s
    start-up budget.
    """
    groups: dict[str, list[EntryPoint]] = {}
    seen: set[str] = set()
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for name in sorted(names):
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            distribution = name.rsplit(".", 1)[0].split("-")[0].lower().replace("_", "-")
            if distribution in seen:
                continue
            seen.add(distribution)
            try:
                with open(os.path.join(folder or ".", name, "entry_points.txt"), encoding="utf-8") as stream:
                    text = stream.read()
            except OSError:
                continue
            for group, points in _parse_entry_points(text).items():
                groups.setdefault(group, []).extend(points)
    return groups


@cache
def _index(group: str) -> dict[str, EntryPoint]:
    return {ep.name.lower(): ep for ep in _all_entry_points().get(group, [])}


def names(kind: str) -> list[str]:
    """The plugin names installed for a kind (``sched``, ``batchsubmit``, ...)."""
    return sorted(ep.name for ep in _index(GROUPS[kind]).values())


@cache
def _load(group: str, lowered: str) -> Any:
    return _index(group)[lowered].load()


def _interface(kind: str) -> type[Plugin]:
    """The class every plugin of the kind derives from (imported when a plugin is loaded).

    A refused plugin name (``REFUSED`` set) needs to be no more than a ``Plugin``.
    """
    from apfctl import interfaces

    return {
        "plugin": interfaces.Plugin,
        "wmsstatus": interfaces.WMSStatusPlugin,
        "batchstatus": interfaces.BatchStatusPlugin,
        "sched": interfaces.SchedRule,
        "batchsubmit": interfaces.BatchSubmitPlugin,
        "config": interfaces.QueuesConfigPlugin,
        "monitor": interfaces.MonitorPlugin,
    }[kind]


# find's type is the kind's interface; with allow_refused it may be a refused name's bare Plugin.
@overload
def find(kind: str, name: str, *, allow_refused: Literal[True]) -> type[Plugin]: ...
@overload
def find(kind: Literal["wmsstatus"], name: str, *, allow_refused: Literal[False] = ...) -> type[WMSStatusPlugin]: ...
@overload
def find(kind: Literal["batchstatus"], name: str, *,
         allow_refused: Literal[False] = ...) -> type[BatchStatusPlugin]: ...
@overload
def find(kind: Literal["wmsstatus", "batchstatus"], name: str, *,
         allow_refused: Literal[False] = ...) -> type[StatusPlugin]: ...
@overload
def find(kind: Literal["sched"], name: str, *, allow_refused: Literal[False] = ...) -> type[SchedRule]: ...
@overload
def find(kind: Literal["batchsubmit"], name: str, *,
         allow_refused: Literal[False] = ...) -> type[BatchSubmitPlugin]: ...
@overload
def find(kind: Literal["config"], name: str, *, allow_refused: Literal[False] = ...) -> type[QueuesConfigPlugin]: ...
@overload
def find(kind: Literal["monitor"], name: str, *, allow_refused: Literal[False] = ...) -> type[MonitorPlugin]: ...
@overload
def find(kind: str, name: str, *, allow_refused: bool = ...) -> type[Plugin]: ...


def find(kind: str, name: str, *, allow_refused: bool = False) -> type[Plugin]:
    """The plugin class registered as ``name`` in the kind's group; PluginError otherwise.

    The class is checked to derive from the kind's interface (:mod:`apfctl.interfaces`), so
    a registration that points at something else fails here with its name, not later.
    """
    group = GROUPS[kind]
    lowered = name.strip().lower()
    if lowered not in _index(group):
        usable = _usable_names(kind)
        close = difflib.get_close_matches(lowered, [n.lower() for n in usable], n=1)
        hint = f"; did you mean {_index(group)[close[0]].name}?" if close else ""
        known = ", ".join(usable) or "none installed"
        raise PluginError(f"unknown {kind} plugin {name!r}{hint} (installed: {known})")
    try:
        plugin = _load(group, lowered)
    except Exception as exc:  # a broken third-party package must not look like a typo
        raise PluginError(f"{kind} plugin {name!r} failed to load: {exc}") from exc
    refused = getattr(plugin, "REFUSED", None)
    if refused and not allow_refused:
        raise PluginError(f"{kind} plugin {name!r} is no longer supported: {refused}")
    interface = _interface(kind) if not refused else _interface("plugin")
    if not (isinstance(plugin, type) and issubclass(plugin, interface)):
        raise PluginError(f"{kind} plugin {name!r} ({_index(group)[lowered].value}) is not a "
                          f"{interface.__module__}.{interface.__qualname__}")
    missing = None if refused else _missing_module(plugin.__module__.partition(".")[0])
    if missing:
        module, extra = missing
        raise PluginError(f"{kind} plugin {name!r} needs the Python module {module}, which is not installed: "
                          f"pip install 'apfctl[{extra}]'")
    return plugin


@cache
def _missing_module(package: str) -> tuple[str, str] | None:
    """The first module of the plugin package's ``NEEDS`` that cannot be imported, and its extra.

    A package declares ``NEEDS = {module: extra}`` in its ``__init__`` for the optional
    modules its plugins import lazily (``apfctl_condor``: the HTCondor bindings).
    """
    needs: dict[str, str] = getattr(sys.modules.get(package), "NEEDS", None) or {}
    if not needs:
        return None
    import importlib.util

    for module, extra in needs.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):   # a parent package missing, or a module with no spec
            found = False
        if not found:
            return module, extra
    return None


def _usable_names(kind: str) -> list[str]:
    """Installed names that are not refused (GT2, CREAM, ...): what an error may offer.

    Loads every plugin of the kind, so it is for error messages only.
    """
    usable = []
    for name in names(kind):
        try:
            if not getattr(_load(GROUPS[kind], name.lower()), "REFUSED", None):
                usable.append(name)
        except Exception:  # a broken package is reported when it is named, not here
            continue
    return usable


def canonical(kind: str, name: str) -> str:
    """The registered spelling of a plugin name (``condorosgce`` -> ``CondorOSGCE``)."""
    entry = _index(GROUPS[kind]).get(name.strip().lower())
    return entry.name if entry else name.strip()


def batchsubmit_for(queue: QueueConfig, context: FactoryContext) -> BatchSubmitPlugin:
    """The queue's batch submit plugin, built under the name the queue configures."""
    name = queue.getstr("batchsubmitplugin") or ""
    return find("batchsubmit", name)(canonical("batchsubmit", name), queue, context)
