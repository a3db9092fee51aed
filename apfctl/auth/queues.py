"""Credentials as the rest of apfctl sees them: which credential a queue submits with, its state.

Queues name auth.conf profiles as APF did: ``batchsubmit.<plugin>.proxy = <profile>[, ...]``
(or ``batchsubmit.<plugin>.authprofile``), where ``<plugin>`` is the queue's
``batchsubmitplugin`` in lower case, and ``batchsubmit.<plugin>.credential = token | proxy |
both`` says which of them the pilots carry (default: the kind of the first profile named).
A token profile with ``token.issuer`` gives each CE its own token: the audience comes from the
queue's batch submit plugin (``credential_audience``; HTCondor-CE ``host:port``, ARC
``https://host``).

The public API: :func:`resolve` (the files a backend submits with), :func:`credential_statuses`
(``batch.credential`` of every queue, for the status stage and the gate; with ``refresh`` it
obtains tokens that are due, as ``apfctl cycle`` does), :func:`queue_targets` (every
(profile, CE) in use, for ``apfctl auth``) and :func:`check_profiles` (``apfctl config check``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apfctl.config.keys import Key
from apfctl.config.model import FactoryConfig, QueueConfig
from apfctl.errors import ApfctlError, ConfigError

if TYPE_CHECKING:
    from apfctl.auth.manager import ProfileState
    from apfctl.auth.profiles import AuthConfig, Profile
    from apfctl.config.loader import Loaded
    from apfctl.interfaces import FactoryContext

log = logging.getLogger("apfctl.auth")

PROFILE_KEYS = ("proxy", "authprofile")
POLICY_KEY = Key("str", None, choices=("token", "proxy", "both"),
                 doc="the credential pilots carry: token, proxy, or both (default: the first profile's kind)")
POLICY_KINDS = {"token": ("token",), "proxy": ("x509",), "both": ("token", "x509")}
STATE_TTL = 60.0   # seconds a profile's state is reused within one process (many queues, one proxy)

_lock = threading.Lock()
_auth_cache: dict[tuple[str, int], AuthConfig] = {}
_state_cache: dict[tuple[Any, ...], tuple[float, ProfileState]] = {}


@dataclass(frozen=True)
class QueueCredential:
    """What a queue's pilots carry: the policy and the files (a token for one CE, a proxy)."""

    policy: str                  # token, proxy, both; ssh for SSH key profiles
    key: str                     # the queue key that named the profiles
    profiles: tuple[str, ...]    # the profiles used, token first
    token: Path | None = None    # scitokens_file
    proxy: Path | None = None    # x509userproxy
    ssh_key: Path | None = None
    audience: str | None = None  # the CE's audience, for tokens a profile obtains


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


def queue_audience(queue: QueueConfig, factory: FactoryContext) -> str | None:
    """The audience the queue's CE expects (from its batch submit plugin), None if it has none.

    ConfigError naming the queue's key when the plugin cannot derive one (no CE host).
    """
    from apfctl import plugins

    return plugins.batchsubmit_for(queue, factory).credential_audience()


def _chosen(queue: QueueConfig, auth: AuthConfig, names_key: str | None = None,
            policy_key: str | None = None) -> tuple[str, str, list[Profile]]:
    """(key, policy, profiles to use, token first); ConfigError at the queue's key when unusable."""
    key = names_key or profile_key(queue) or ""
    names = queue.getlist(key) if key else []
    defined = [auth.profiles[name] for name in names if name in auth.profiles]
    if not defined:
        where = auth.path or "auth.conf ([Factory] authConf is not set)"
        problems = [f"profile {name}: {auth.errors[name].message}" if name in auth.errors
                    else f"profile {name} is not defined in {where}" for name in names]
        raise queue.error(key, "; ".join(problems), ",".join(names))
    plugin = (queue.getstr("batchsubmitplugin") or "").lower()
    policy_key = policy_key or f"batchsubmit.{plugin}.credential"
    wanted = queue.typed(policy_key, POLICY_KEY)
    if wanted is None:
        first = defined[0].kind
        wanted = {"token": "token", "x509": "proxy"}.get(first, first)
    wanted = wanted.lower()
    if wanted == "ssh":
        return key, wanted, [defined[0]]
    chosen = []
    for kind in POLICY_KINDS[wanted]:
        profile = next((profile for profile in defined if profile.kind == kind), None)
        if profile is None:
            raise queue.error(key, f"credential policy {wanted} ({policy_key}) needs a {kind} profile "
                                   "among these", ",".join(names))
        chosen.append(profile)
    return key, wanted, chosen


def resolve(queue: QueueConfig, factory: FactoryContext, names_key: str | None = None,
            policy_key: str | None = None) -> QueueCredential | None:
    """The files the queue's pilots carry (None when it names no profile).

    ``names_key``, ``policy_key``: where the profiles and the policy are read (default:
    ``batchsubmit.<plugin>.proxy`` or ``.authprofile``, and ``.credential``), for plugins
    that also read APF's parent plugin names. ConfigError naming the queue's key when its
    profiles are unusable, the policy cannot be met, or a token must be obtained for a CE
    whose audience cannot be derived.
    """
    from apfctl.auth import broker
    from apfctl.auth.manager import watched_file

    key = names_key or profile_key(queue)
    if not key or not queue.getlist(key):
        return None
    key, wanted, chosen = _chosen(queue, load_auth(factory.config), key, policy_key)
    files: dict[str, Path] = {}
    audience = None
    for profile in chosen:
        if profile.obtains:
            audience = queue_audience(queue, factory)
            if audience is None:
                raise queue.error(key, f"profile {profile.name} obtains a token per CE, and the queue's "
                                       "batch submit plugin has no CE audience", queue.get(key))
            files[profile.kind] = broker.token_path(factory.state_dir, profile.name, audience)
        else:
            files[profile.kind] = Path(watched_file(profile))
    return QueueCredential(wanted, key, tuple(profile.name for profile in chosen), token=files.get("token"),
                           proxy=files.get("x509"), ssh_key=files.get("ssh"), audience=audience)


def _file_stamp(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def profile_state(auth: AuthConfig, name: str, ce: str | None = None, state_dir: Path | None = None,
                  refresh: bool = False) -> ProfileState:
    """The state of one profile (for one CE), reused for STATE_TTL seconds while its file is unchanged.

    ``refresh``: obtain the token first when it is due (profiles with ``token.issuer``).
    """
    from apfctl.auth import broker, manager

    if name not in auth.profiles:
        error = auth.errors.get(name)
        if error is not None:
            return manager.state_of_error(name, error)
        where = auth.path or "auth.conf (no [Factory] authConf)"
        return manager.ProfileState(profile=name, kind=None, state=manager.ERROR,
                                    error=f"profile {name} is not defined in {where}")
    profile = auth.profiles[name]
    if profile.obtains:
        if refresh and ce is not None and state_dir is not None:
            return broker.ensure(profile, ce, state_dir)
        file = str(broker.token_path(state_dir, name, ce)) if ce and state_dir else ""
    else:
        file = manager.watched_file(profile)
    key = (str(auth.path), name, ce, file, _file_stamp(file))
    now = time.monotonic()
    with _lock:
        cached = _state_cache.get(key)
    if cached is not None and now - cached[0] < STATE_TTL:
        return cached[1]
    state = manager.check(profile, ce, state_dir)
    with _lock:
        _state_cache[key] = (now, state)
    return state


def credential_status(queue: QueueConfig, factory: FactoryContext) -> dict[str, Any] | None:
    """``batch.credential`` for a queue that names a profile (None when it names none)."""
    return credential_statuses([queue], factory).get(queue.name)


def _error_field(name: str, kind: str | None, error: str) -> dict[str, Any]:
    return {"profile": name, "kind": kind, "lifetime": None, "error": error}


def credential_statuses(queues: Iterable[QueueConfig], factory: FactoryContext,
                        refresh: bool = False) -> dict[str, dict[str, Any]]:
    """``batch.credential`` of every queue that names a profile, reading each (profile, CE) once.

    The field describes what the pilots carry: with policy ``both`` the proxy's lifetime
    (it is delegated and must last the pilot's walltime) and the first error of either. With
    several profiles of the kind, the first usable one is reported, else the first one.
    ``refresh``: obtain tokens that are due first (``apfctl cycle``); a failed refresh that
    leaves a valid token is logged once per (profile, CE). Once a profile's issuer has failed,
    its other CEs are not asked again in this call (each attempt may take ``token.timeout``):
    their tokens are kept while they last.
    """
    named = {queue.name: queue for queue in queues if profile_names(queue)}
    if not named:
        return {}
    try:
        auth = load_auth(factory.config)
    except ConfigError as exc:
        return {name: _error_field(profile_names(queue)[0], None, str(exc)) for name, queue in named.items()}
    states: dict[tuple[str, str | None], ProfileState] = {}
    failed: dict[str, str] = {}    # profile -> its issuer's failure in this call
    fields: dict[str, dict[str, Any]] = {}
    for name, queue in named.items():
        try:
            _, _, chosen = _chosen(queue, auth)
            targets = []
            for profile in chosen:
                ce = queue_audience(queue, factory) if profile.obtains else None
                candidates = [profile.name] if profile.obtains else [
                    other for other in profile_names(queue)
                    if other in auth.profiles and auth.profiles[other].kind == profile.kind]
                targets.append((candidates, ce))
        except ApfctlError as exc:   # a config error, or a batch submit plugin that cannot load
            fields[name] = _error_field(profile_names(queue)[0], None, str(exc))
            continue
        picked = []
        for candidates, ce in targets:
            for candidate in candidates:
                if (candidate, ce) not in states:
                    state = profile_state(auth, candidate, ce, factory.state_dir, refresh and candidate not in failed)
                    if candidate in failed and state.error is not None:   # a copy: states are cached
                        state = replace(state, error=f"{state.error}; not refreshed, its issuer failed in "
                                                     f"this cycle: {failed[candidate]}")
                    if state.refresh_error:
                        failed[candidate] = state.refresh_error
                    states[(candidate, ce)] = state
                    if state.warning:
                        log.warning("%s", state.warning)
            picked.append(next((states[(c, ce)] for c in candidates if states[(c, ce)].error is None),
                               states[(candidates[0], ce)]))
        fields[name] = _combine([state.record_field() for state in picked])
    return fields


def _combine(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One field from a token's and a proxy's: the proxy's lifetime, the first error of either."""
    if len(parts) == 1:
        return parts[0]
    token, proxy = parts
    error = token["error"] or proxy["error"]
    return {**proxy, "profile": f"{token['profile']},{proxy['profile']}", "error": error}


def queue_targets(loaded: Loaded) -> dict[str, list[str]]:
    """Every CE audience each obtaining profile serves, from the enabled queues (for ``apfctl auth``)."""
    targets: dict[str, list[str]] = {}
    try:
        auth = load_auth(loaded.factory)
    except ConfigError:
        return targets
    for queue_name in loaded.enabled_queues():
        queue = loaded.queue(queue_name)
        if not profile_names(queue):
            continue
        try:
            _, _, chosen = _chosen(queue, auth)
            for profile in chosen:
                if profile.obtains:
                    ce = queue_audience(queue, loaded.context)
                    if ce is not None and ce not in targets.setdefault(profile.name, []):
                        targets[profile.name].append(ce)
        except Exception as exc:  # a broken queue shows in config check; the others carry on
            log.warning("queue %s: %s", queue_name, exc)
    return targets


def check_profiles(loaded: Loaded, queue_names: list[str] | None = None) -> list[ConfigError]:
    """Config-check errors: profiles named by queues that auth.conf lacks or cannot define.

    Each error is located at the queue's key (its ``section`` is the queue); an auth.conf
    that cannot be read at all gives one error naming that file. A queue on a profile that
    obtains tokens must have a CE audience (its plugin's host keys).
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
        found = True
        for name in profile_names(queue):
            if name in auth.profiles:
                continue
            found = False
            if name in auth.errors:
                errors.append(queue.error(key, f"profile {name!r} is unusable: {auth.errors[name]}", queue.get(key)))
                continue
            where = f"in {auth.path}" if auth.path else "because [Factory] authConf is not set"
            errors.append(queue.error(key, f"profile {name!r} is not defined {where}", queue.get(key)))
        if found and key:
            try:
                resolve(queue, loaded.context)
            except ConfigError as exc:
                errors.append(exc)
            except Exception as exc:   # e.g. an unknown batch submit plugin: reported elsewhere
                log.debug("queue %s: credential not resolved: %s", queue_name, exc)
    return errors
