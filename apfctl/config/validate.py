"""Validation of a loaded configuration, before anything is queried or submitted.

Errors: a wrong type, an unknown or refused plugin name, a missing required key, a broken
interpolation, or a plugin's own check failing. Warnings: unknown keys, with the closest
known key. Every message names the file, section, key and value.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from apfctl import plugins
from apfctl.config.generic import FACTORY_KEYS, QUEUE_KEYS, is_legacy_factory_key, is_legacy_queue_key
from apfctl.config.ini import merge_layers, parse_file
from apfctl.config.keys import Key, expand_keys, match_key
from apfctl.config.loader import Loaded
from apfctl.config.model import QueueConfig, Section
from apfctl.errors import ConfigError, PluginError

_REFERENCE = re.compile(r"%\(([^)]+)\)s")
PLUGIN_KEYS = (("wmsstatus", "wmsstatusplugin"), ("batchstatus", "batchstatusplugin"),
               ("batchsubmit", "batchsubmitplugin"))


@dataclass
class Report:
    errors: list[ConfigError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    bad_queues: set[str] = field(default_factory=set)


def queue_plugins(queue: QueueConfig) -> list[tuple[str, str, str]]:
    """(kind, configured name, key) of every plugin a queue names, rules in chain order."""
    named: list[tuple[str, str, str]] = []
    for kind, key in PLUGIN_KEYS:
        name = queue.getstr(key)
        if name:
            named.append((kind, name, key))
    named.extend(("sched", name, "schedplugin") for name in queue.getlist("schedplugin"))
    return named


def _check_values(section: Section, declared: dict[str, Key], report: Report) -> None:
    for key, spec in declared.items():
        if key.endswith("*"):
            for present in [k for k in section if k.startswith(key[:-1])]:
                _typed(section, present, spec, report)
        else:
            _typed(section, key, spec, report)


def _typed(section: Section, key: str, spec: Key, report: Report) -> None:
    try:
        section.typed(key, spec)
    except ConfigError as exc:
        report.errors.append(exc)
        report.bad_queues.add(section.name)


@cache
def refused_prefixes() -> tuple[str, ...]:
    """``batchsubmit.condorgt2.`` and the like: keys of dead plugins, which APF files still carry."""
    prefixes = []
    for kind in plugins.GROUPS:
        for name in plugins.names(kind):
            try:
                if plugins.find(kind, name, allow_refused=True).REFUSED:
                    prefixes.append(f"{kind}.{name.lower()}.")
            except PluginError:
                continue
    return tuple(prefixes)


def interpolated_names(section: Section) -> set[str]:
    """Keys that other values use as ``%(key)s``: templates, like APF's ``periodic_hold``."""
    return {match for key in section for match in _REFERENCE.findall(section.raw(key) or "")}


@cache
def installed_factory_keys() -> dict[str, Key]:
    """Every ``[Factory]`` key that an installed plugin declares (used or not by these queues)."""
    declared: dict[str, Key] = {}
    for kind in plugins.GROUPS:
        for name in plugins.names(kind):
            try:
                declared.update(plugins.find(kind, name, allow_refused=True).FACTORY_KEYS)
            except PluginError:
                continue
    return declared


@cache
def installed_keys() -> dict[str, Key]:
    """Every queue key that any installed plugin declares, under each of its names.

    A key that the queue's own plugins do not read but another plugin does (a ``[DEFAULT]``
    shared by queues of several kinds) is not worth a warning.
    """
    declared: dict[str, Key] = {}
    for kind in plugins.GROUPS:
        for name in plugins.names(kind):
            try:
                declared.update(expand_keys(plugins.find(kind, name, allow_refused=True).KEYS, name))
            except PluginError:
                continue
    return declared


def _unknown_keys(section: Section, declared: dict[str, Key], legacy: Callable[[str], bool], report: Report,
                  elsewhere: Callable[[], dict[str, Key]] = lambda: installed_keys()) -> None:
    """Warn about keys nothing reads; ``elsewhere``: keys of plugins this section does not use."""
    exact = [name for name in declared if not name.endswith("*")]
    templates = interpolated_names(section)
    for key in section:
        if match_key(declared, key) is not None or legacy(key) or key in templates:
            continue
        if key.startswith(refused_prefixes()):
            continue
        if match_key(elsewhere(), key) is not None:
            continue
        close = difflib.get_close_matches(key, exact, n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        origin = section.origin(key)
        where = f"{origin}: " if origin else ""
        report.warnings.append(f"{where}[{section.name}] unknown key {key!r}{hint}")


def _interpolation(section: Section, report: Report) -> None:
    for key in section:
        try:
            section.get(key)
        except ConfigError as exc:
            report.errors.append(exc)
            report.bad_queues.add(section.name)


def check_queue(queue: QueueConfig, loaded: Loaded, report: Report,
                kinds: tuple[str, ...] | None = None) -> dict[str, Key]:
    """Check one queue; return the factory keys its plugins declare.

    ``kinds`` limits the check to the plugins a stage uses (decide: ``("sched",)``); unknown
    keys are then not reported, since the other plugins' keys are not known.
    """
    _interpolation(queue, report)
    declared = dict(QUEUE_KEYS) if kinds is None else {"schedplugin": QUEUE_KEYS["schedplugin"]}
    factory_keys: dict[str, Key] = {}
    unloaded = False   # a plugin that could not be loaded: its keys are not known
    for kind, name, key in queue_plugins(queue):
        if kinds is not None and kind not in kinds:
            continue
        try:
            plugin = plugins.find(kind, name)
        except PluginError as exc:
            report.errors.append(queue.error(key, str(exc), name))
            report.bad_queues.add(queue.name)
            unloaded = True
            continue
        declared.update(expand_keys(plugin.KEYS, name))
        factory_keys.update(plugin.FACTORY_KEYS)
        try:
            problems = plugin.check(name, queue, loaded.context)
        except ConfigError as exc:
            report.errors.append(exc)
            report.bad_queues.add(queue.name)
            continue
        for problem in problems:
            bad_key, _, message = problem.partition(": ")
            located = bad_key if bad_key in queue else None
            report.errors.append(queue.error(located, message if located else problem,
                                             queue.get(located) if located else None))
            report.bad_queues.add(queue.name)
    _check_values(queue, declared, report)
    _check_resources(queue, loaded, report)
    if kinds is None and not unloaded:   # else its keys would be called unknown: noise beside the error
        _unknown_keys(queue, declared, is_legacy_queue_key, report)
    return factory_keys


def _check_resources(queue: QueueConfig, loaded: Loaded, report: Report) -> None:
    """Resource types, size and Harvester limits (docs/resource-types.md)."""
    from apfctl.resourcetypes.check import check_queue as check_resources

    for error in check_resources(queue, loaded.factory):
        if not any(error.describe() == seen.describe() for seen in report.errors):
            report.errors.append(error)
        report.bad_queues.add(queue.name)


def _check_profiles(loaded: Loaded, names: list[str], report: Report) -> None:
    """auth.conf profiles named by queues (``batchsubmit.<plugin>.proxy``) must exist and be usable."""
    from apfctl.auth.queues import check_profiles

    for error in check_profiles(loaded, names):
        report.errors.append(error)
        if error.section in loaded.queues:
            report.bad_queues.add(error.section)


def check_monitor_sections(loaded: Loaded, names: Iterable[str], report: Report) -> None:
    """Every ``monitorsection`` a queue names exists in monitorConf, with a known plugin."""
    wanted: dict[str, list[QueueConfig]] = {}
    for name in names:
        queue = loaded.queue(name)
        for section in queue.getlist("monitorsection"):
            wanted.setdefault(section, []).append(queue)
    if not wanted:
        return
    path = loaded.factory.typed("monitorConf", FACTORY_KEYS["monitorConf"])
    sections = {n: Section(n, v) for n, v in merge_layers([parse_file(Path(path))]).items()} if path else {}
    for section_name, queues in wanted.items():
        section = sections.get(section_name)
        if section is None:
            where = f"not in monitorConf ({path})" if path else "no monitorConf is set in [Factory]"
            for queue in queues:
                report.errors.append(queue.error("monitorsection", f"monitor section {section_name!r}: {where}",
                                                 queue.get("monitorsection")))
                report.bad_queues.add(queue.name)
            continue
        found = Report()
        try:
            plugin = plugins.find("monitor", section.getstr("monitorplugin") or "")
        except PluginError as exc:
            found.errors.append(section.error("monitorplugin", str(exc), section.get("monitorplugin")))
        else:
            for key, spec in getattr(plugin, "SECTION_KEYS", {}).items():
                _typed(section, key, spec, found)
        if found.errors:  # a queue whose monitor is broken is a broken queue
            report.errors.extend(found.errors)
            report.bad_queues.update(queue.name for queue in queues)


def check(loaded: Loaded, queue_names: Iterable[str] | None = None) -> Report:
    """Validate the factory section and the given queues (default: every enabled queue)."""
    report = Report(warnings=list(loaded.warnings))
    names = list(queue_names) if queue_names is not None else loaded.enabled_queues()
    factory_declared = dict(FACTORY_KEYS)
    for name in loaded.factory.getlist("config.queues.plugin") or ["File"]:
        factory_declared.update(plugins.find("config", name).FACTORY_KEYS)
    for name in names:
        factory_declared.update(check_queue(loaded.queue(name), loaded, report))
    if names:   # monitor sections and auth profiles matter only to the queues that name them
        check_monitor_sections(loaded, names, report)
        _check_profiles(loaded, names, report)
    _interpolation(loaded.factory, report)
    _check_values(loaded.factory, factory_declared, report)
    from apfctl.resourcetypes.check import check_factory
    from apfctl.workers import instance_id_problem

    report.errors.extend(check_factory(loaded.factory))
    if (problem := instance_id_problem(loaded.factory)) is not None:
        report.warnings.append(problem)
    _unknown_keys(loaded.factory, factory_declared, is_legacy_factory_key, report, installed_factory_keys)
    # keys that two plugins of a queue both declare (slurm.* for status and submit) are checked
    # by each: every error and warning is said once
    report.errors = list({str(error): error for error in report.errors}.values())
    report.warnings = list(dict.fromkeys(report.warnings))
    return report
