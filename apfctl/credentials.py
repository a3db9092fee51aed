"""Credentials as the rest of apfctl sees them: which profile a queue submits with, its state.

Queues name auth.conf profiles as APF did: ``batchsubmit.<plugin>.proxy = <profile>[, ...]``
(or ``batchsubmit.<plugin>.authprofile``), where ``<plugin>`` is the queue's
``batchsubmitplugin`` in lower case. The status stage puts :func:`credential_statuses` (every
queue of the invocation, each profile read once) into ``batch.credential``;
:func:`credential_status` is the same for one queue, for plugins; ``apfctl config check``
adds :func:`check_profiles`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apfctl.config.model import FactoryConfig, QueueConfig
from apfctl.errors import ConfigError

if TYPE_CHECKING:
    from apfctl.auth.manager import ProfileState
    from apfctl.auth.profiles import AuthConfig
    from apfctl.config.loader import Loaded
    from apfctl.interfaces import FactoryContext

PROFILE_KEYS = ("proxy", "authprofile")
STATE_TTL = 60.0   # seconds a profile's state is reused within one process (many queues, one proxy)

_lock = threading.Lock()
_auth_cache: dict[tuple[str, int], AuthConfig] = {}
_state_cache: dict[tuple[Any, ...], tuple[float, ProfileState]] = {}


def profile_key(queue: QueueConfig) -> str | None:
    """The key under which ``queue`` names its profiles, or None when it names none."""
    plugin = queue.getstr("batchsubmitplugin")
    if not plugin:
        return None
    for suffix in PROFILE_KEYS:
        key = f"batchsubmit.{plugin.lower()}.{suffix}"
        if queue.getstr(key):
            return key
    return None


def profile_names(queue: QueueConfig) -> list[str]:
    """The profiles ``queue`` submits with, first preferred (APF's list semantics)."""
    key = profile_key(queue)
    return queue.getlist(key) if key else []


def auth_conf_path(factory: FactoryConfig) -> Path | None:
    from apfctl.config.generic import FACTORY_KEYS

    value = factory.typed("authConf", FACTORY_KEYS["authConf"])
    return Path(value) if value else None


def load_auth(factory: FactoryConfig) -> AuthConfig:
    """auth.conf of the factory (read again only when the file changes); ConfigError if unusable."""
    from apfctl.auth import profiles

    path = auth_conf_path(factory)
    if path is None:
        return profiles.load(None)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return profiles.load(path)   # raises the ConfigError naming the file
    with _lock:
        cached = _auth_cache.get((str(path), stamp))
    if cached is None:
        cached = profiles.load(path)
        with _lock:
            _auth_cache[(str(path), stamp)] = cached
    return cached


def _file_stamp(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def profile_state(auth: AuthConfig, name: str) -> ProfileState:
    """The state of one profile, reused for STATE_TTL seconds while its file is unchanged."""
    from apfctl.auth import manager

    if name not in auth.profiles:
        error = auth.errors.get(name)
        if error is not None:
            return manager.state_of_error(name, error)
        where = auth.path or "auth.conf (no [Factory] authConf)"
        return manager.ProfileState(profile=name, kind=None, state=manager.ERROR,
                                    error=f"profile {name} is not defined in {where}")
    profile = auth.profiles[name]
    file = manager.watched_file(profile)
    key = (str(auth.path), name, file, _file_stamp(file))
    now = time.monotonic()
    with _lock:
        cached = _state_cache.get(key)
    if cached is not None and now - cached[0] < STATE_TTL:
        return cached[1]
    state = manager.check(profile)
    with _lock:
        _state_cache[key] = (now, state)
    return state


def credential_status(queue: QueueConfig, factory: FactoryContext) -> dict[str, Any] | None:
    """``batch.credential`` for a queue that names a profile (None when it names none).

    With several profiles the first usable one is reported, else the first one.
    """
    return credential_statuses([queue], factory).get(queue.name)


def credential_statuses(queues: Iterable[QueueConfig], factory: FactoryContext) -> dict[str, dict[str, Any]]:
    """``batch.credential`` of every queue that names a profile, reading each profile once."""
    named = {queue.name: names for queue in queues if (names := profile_names(queue))}
    if not named:
        return {}
    try:
        auth = load_auth(factory.config)
    except ConfigError as exc:
        return {queue: {"profile": names[0], "kind": None, "lifetime": None, "error": str(exc)}
                for queue, names in named.items()}
    states: dict[str, ProfileState] = {}
    fields: dict[str, dict[str, Any]] = {}
    for queue, names in named.items():
        for name in names:
            if name not in states:
                states[name] = profile_state(auth, name)
        chosen = next((states[name] for name in names if states[name].error is None), states[names[0]])
        fields[queue] = chosen.record_field()
    return fields


def credential_file(queue: QueueConfig, factory: FactoryContext) -> tuple[str, str] | None:
    """(kind, file) of the first profile ``queue`` names, for backends (x509userproxy, tokens)."""
    from apfctl.auth import manager

    names = profile_names(queue)
    if not names:
        return None
    auth = load_auth(factory.config)
    profile = auth.profiles.get(names[0])
    if profile is None:
        raise queue.error(profile_key(queue), f"profile {names[0]} is not usable in {auth.path}", names[0])
    return profile.kind, manager.watched_file(profile)


def check_profiles(loaded: Loaded, queue_names: list[str] | None = None) -> list[ConfigError]:
    """Config-check errors: profiles named by queues that auth.conf lacks or cannot define.

    Each error is located at the queue's key (its ``section`` is the queue); an auth.conf
    that cannot be read at all gives one error naming that file.
    """
    errors: list[ConfigError] = []
    names = queue_names if queue_names is not None else loaded.enabled_queues()
    try:
        auth = load_auth(loaded.factory)
    except ConfigError as exc:
        return [exc]
    for queue_name in names:
        queue = loaded.queue(queue_name)
        key = profile_key(queue)
        for name in profile_names(queue):
            if name in auth.profiles:
                continue
            if name in auth.errors:
                errors.append(queue.error(key, f"profile {name!r} is unusable: {auth.errors[name]}", queue.get(key)))
                continue
            where = f"in {auth.path}" if auth.path else "because [Factory] authConf is not set"
            errors.append(queue.error(key, f"profile {name!r} is not defined {where}", queue.get(key)))
    return errors
