"""Checking and renewing profiles: one :class:`ProfileState` per profile, whatever went wrong."""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from apfctl.auth import CredentialError, token, x509
from apfctl.auth.profiles import Profile
from apfctl.errors import ConfigError

log = logging.getLogger("apfctl.auth")

# state words, in order of urgency
OK, RENEW, EXPIRED, ERROR = "ok", "renew", "expired", "error"


@dataclass
class ProfileState:
    """What ``apfctl auth check`` shows for one profile, and what the record's field is made of."""

    profile: str
    kind: str | None
    state: str
    file: str | None = None
    lifetime: int | None = None          # whole seconds left (proxy and VOMS: the shorter), >= 0
    minlife: int | None = None
    error: str | None = None
    subject: str | None = None
    voms_lifetime: float | None = None
    audience: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    renewed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def record_field(self) -> dict[str, Any]:
        """The record's ``batch.credential``: profile, kind, lifetime (seconds), error."""
        return {"profile": self.profile, "kind": self.kind, "lifetime": self.lifetime, "error": self.error}


def state_of_error(name: str, error: ConfigError) -> ProfileState:
    """The state of a profile auth.conf could not define (missing keys, bad values)."""
    return ProfileState(profile=name, kind=None, state=ERROR, error=f"profile {name}: {error}")


def watched_file(profile: Profile) -> str:
    """The credential file a profile keeps (the one queues submit with)."""
    key = {"x509": "x509.proxyfile", "token": "token.file", "ssh": "ssh.privatekeyfile"}[profile.kind]
    return str(profile.setting(key))


def check(profile: Profile) -> ProfileState:
    """Read the profile's credential; a problem becomes the state's ``error``, never an exception."""
    path = Path(watched_file(profile))
    state = ProfileState(profile=profile.name, kind=profile.kind, state=OK, file=str(path))
    try:
        if profile.kind == "x509":
            _check_x509(profile, path, state)
        elif profile.kind == "token":
            _check_token(profile, path, state)
        elif not os.access(path, os.R_OK):
            raise CredentialError(f"key file {path} is missing or unreadable")
    except CredentialError as exc:
        state.state, state.error = ERROR, f"profile {profile.name}: {exc}"
        return state
    if state.lifetime is not None:
        state.lifetime = max(0, round(state.lifetime))
        if state.lifetime <= 0:
            state.state = EXPIRED
        elif state.minlife is not None and state.lifetime < state.minlife:
            state.state = RENEW
    return state


def _check_x509(profile: Profile, path: Path, state: ProfileState) -> None:
    state.minlife = profile.setting("x509.minlife")
    info = x509.read_proxy(path)
    state.subject = info.subject
    state.lifetime = info.lifetime
    if info.lifetime > 0:
        state.voms_lifetime = x509.voms_lifetime(profile, path)
        if state.voms_lifetime is not None:
            state.lifetime = min(state.lifetime, state.voms_lifetime)


def _check_token(profile: Profile, path: Path, state: ProfileState) -> None:
    state.minlife = profile.setting("token.minlife")
    info = token.read_token(path)
    state.subject = info.subject
    state.lifetime = info.lifetime
    state.audience, state.scopes = info.audience, info.scopes
    token.check_claims(profile, info)


def renewable(profile: Profile) -> bool:
    if profile.kind == "x509":
        return bool(profile.setting("x509.renew"))
    if profile.kind == "token":
        return bool(profile.setting("token.renew.command"))
    return False


def renew(profile: Profile, force: bool = False) -> ProfileState:
    """Renew the profile's credential when it is not fine (or ``force``); the state afterwards."""
    before = check(profile)
    if before.state == OK and not force:
        return before
    if not renewable(profile):
        if before.state == OK:
            return before
        before.error = before.error or f"profile {profile.name}: {before.state}, and renewal is not configured"
        return before
    log.info("profile %s: renewing (%s)", profile.name, before.error or before.state)
    try:
        if profile.kind == "x509":
            x509.renew(profile)
        else:
            token.renew(profile)
    except CredentialError as exc:
        before.state, before.error = ERROR, str(exc)
        return before
    after = check(profile)
    after.renewed = True
    return after
