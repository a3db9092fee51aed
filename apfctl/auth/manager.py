"""Checking and renewing profiles: one :class:`ProfileState` per profile (and CE), whatever went wrong.

A profile that obtains tokens (``token.issuer``) has one token per CE audience: it is checked
and renewed per audience through :mod:`apfctl.auth.broker`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from apfctl.auth import CredentialError, token, x509
from apfctl.auth.files import too_open
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
    voms_lifetime: int | None = None
    audience: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    renewed: bool = False
    ce: str | None = None                # the CE audience this token is for (profiles with token.issuer)
    issuer: str | None = None
    groups: list[str] = field(default_factory=list)
    expires: int | None = None           # epoch seconds
    next_refresh: int | None = None      # epoch seconds (profiles with token.issuer)
    warning: str | None = None           # a refresh failed, the previous token is still used
    refresh_error: str | None = None     # why the issuer gave no token (profiles with token.issuer)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def record_field(self) -> dict[str, Any]:
        """The record's ``batch.credential``: profile, kind, lifetime (seconds), error.

        An expired credential is an error too, so that the gate blocks it whatever its kind.
        """
        error = self.error
        if error is None and self.state == EXPIRED:
            error = f"profile {self.profile}: {self.kind or 'credential'} expired" + (
                f" (audience {self.ce})" if self.ce else "")
        return {"profile": self.profile, "kind": self.kind, "lifetime": self.lifetime, "error": error}


def state_of_error(name: str, error: ConfigError) -> ProfileState:
    """The state of a profile auth.conf could not define (missing keys, bad values)."""
    return ProfileState(profile=name, kind=None, state=ERROR, error=f"profile {name}: {error}")


def watched_file(profile: Profile) -> str:
    """The credential file a profile keeps (the one queues submit with)."""
    key = {"x509": "x509.proxyfile", "token": "token.file", "ssh": "ssh.privatekeyfile"}[profile.kind]
    return str(profile.setting(key))


def check(profile: Profile, ce: str | None = None, state_dir: Path | None = None,
          now: float | None = None) -> ProfileState:
    """Read the profile's credential; a problem becomes the state's ``error``, never an exception.

    ``ce`` and ``state_dir``: the CE audience and the state folder, for profiles that obtain
    one token per CE (their file is :func:`apfctl.auth.broker.token_path`).
    """
    if profile.obtains:
        from apfctl.auth import broker

        if ce is None or state_dir is None:
            return ProfileState(profile=profile.name, kind=profile.kind, state=ERROR,
                                issuer=profile.setting("token.issuer"),
                                error=f"profile {profile.name}: obtains one token per CE, and no queue "
                                      "names it (check it through the factory's configuration)")
        path = broker.token_path(state_dir, profile.name, ce)
    else:
        path = Path(watched_file(profile))
    state = ProfileState(profile=profile.name, kind=profile.kind, state=OK, file=str(path), ce=ce)
    try:
        if profile.kind == "x509":
            _check_x509(profile, path, state)
        elif profile.kind == "token":
            _check_token(profile, path, state, ce, now)
        elif not os.access(path, os.R_OK):
            raise CredentialError(f"key file {path} is missing or unreadable")
    except CredentialError as exc:
        state.state, state.error = ERROR, f"profile {profile.name}: {exc}"
    if state.lifetime is not None:
        state.lifetime = max(0, int(state.lifetime))
        if state.error is not None:
            return state
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
        voms = x509.voms_lifetime(profile, path)
        if voms is not None:
            state.voms_lifetime = max(0, int(voms))
            state.lifetime = min(state.lifetime, voms)


def _check_token(profile: Profile, path: Path, state: ProfileState, ce: str | None, now: float | None) -> None:
    from apfctl.auth import broker

    state.minlife = None if profile.obtains else profile.setting("token.minlife")   # obtained: half-life
    if profile.obtains:
        state.issuer = profile.setting("token.issuer")
        if not path.exists():
            raise CredentialError(f"no token for {ce} yet (apfctl auth renew, or the next cycle, obtains it)")
    if path.exists() and (problem := too_open(path)) is not None:
        raise CredentialError(f"token file {problem}")    # a bearer token is a secret
    info = token.read_token(path, now)
    state.subject, state.issuer = info.subject, info.issuer or state.issuer
    state.lifetime = info.lifetime
    state.audience, state.scopes, state.groups = info.audience, info.scopes, info.groups
    state.expires = None if info.expires is None else int(info.expires)
    if profile.obtains:
        state.next_refresh = int(broker.refresh_at(info, path))
    token.check_claims(profile, info, ce)
    window = profile.setting("token.refresh.interval") + profile.setting("token.margin")
    if info.lifetime is not None and 0 < info.lifetime < window:
        raise CredentialError(f"token expires in {int(info.lifetime)} s, within token.refresh.interval + "
                              f"token.margin ({window} s)" + (f" (audience {ce})" if ce else ""))


def renewable(profile: Profile) -> bool:
    if profile.kind == "x509":
        return bool(profile.setting("x509.renew"))
    if profile.kind == "token":
        return bool(profile.setting("token.renew.command"))
    return False


def renew(profile: Profile, force: bool = False, ce: str | None = None, state_dir: Path | None = None,
          now: float | None = None) -> ProfileState:
    """Renew the profile's credential when it is not fine (or ``force``); the state afterwards.

    A profile with ``token.issuer`` is renewed for the CE audience ``ce``, when its token is
    due (about half its lifetime gone), missing or unusable.
    """
    if profile.obtains and ce is not None and state_dir is not None:
        from apfctl.auth import broker

        return broker.ensure(profile, ce, state_dir, force=force, now=now)
    before = check(profile, ce, state_dir, now)
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
    after = check(profile, ce, state_dir, now)
    after.renewed = True
    return after
