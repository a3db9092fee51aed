"""The token broker: one token per (profile, CE audience), obtained from the profile's issuer.

A profile with ``token.issuer`` keeps each CE's token in
``<state>/tokens/<profile>/<audience>.jwt`` (names escaped, see :func:`token_path`): a stable
path, so that HTCondor's gridmanager, which keys its connection to a CE by the token file,
keeps one connection per CE and picks up each refresh. A token is refreshed when about half
its lifetime is gone (``iat`` to ``exp``), or sooner when it would not outlive
``token.refresh.interval + token.margin``; ``apfctl auth renew`` and ``apfctl cycle`` call
:func:`ensure`, which does nothing until then.

A refresh is written atomically (:func:`apfctl.auth.files.write_private`) under an exclusive
lock, so parallel cycles obtain one token and never read a half-written one. When the issuer
fails (unreachable, an HTTP error, bad JSON, a token without ``exp`` or of another audience)
the previous token is kept while it is valid, with a warning, and the gate stops pilots when
it runs out.
"""

from __future__ import annotations

import fcntl
import logging
import pwd
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from apfctl.auth import CredentialError, oidc, token
from apfctl.auth.files import read_private, write_private
from apfctl.auth.manager import ERROR, OK, ProfileState, check
from apfctl.auth.profiles import Profile

log = logging.getLogger("apfctl.auth")

REFRESH_FRACTION = 0.5       # refresh when this part of the token's lifetime is gone
LOCK_WAIT_FACTOR = 3         # wait for another refresh at most this many token.timeout


def escape(name: str) -> str:
    """An injective, file-name-safe form of ``name`` (percent-escapes, dots included)."""
    return quote(name, safe="-_").replace(".", "%2E")


def token_path(state_dir: Path, profile: str, audience: str) -> Path:
    """The stable file of the token ``profile`` obtains for ``audience``."""
    return state_dir / "tokens" / escape(profile) / f"{escape(audience)}.jwt"


def refresh_at(info: token.TokenInfo, path: Path) -> float:
    """When the token should be replaced: half-way from its issue (``iat``, else the file's mtime) to ``exp``."""
    if info.expires is None:
        return 0.0
    try:
        issued = info.issued if info.issued is not None else path.stat().st_mtime
    except OSError:
        return 0.0
    return issued + (info.expires - issued) * REFRESH_FRACTION


def due(state: ProfileState, now: float) -> bool:
    """True when the token should be obtained again: unusable, missing, or past its refresh time."""
    return state.state != OK or state.next_refresh is None or now >= state.next_refresh


def client(profile: Profile) -> oidc.Client:
    """The profile's OIDC client, its secret read from ``token.client_secret_file`` (0600 only)."""
    secret = read_private(Path(profile.setting("token.client_secret_file")), "token.client_secret_file")
    if not secret:
        raise CredentialError(f"token.client_secret_file {profile.setting('token.client_secret_file')} is empty")
    return oidc.Client(profile.setting("token.issuer"), profile.setting("token.client_id"), secret,
                       float(profile.setting("token.timeout")), profile.setting("token.cafile"))


@contextmanager
def _locked(path: Path, timeout: float) -> Iterator[None]:
    """An exclusive lock beside ``path`` (another process refreshing waits, bounded)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise CredentialError(f"another apfctl has been refreshing {path} for {timeout:g} s") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def obtain(profile: Profile, audience: str, path: Path, now: float | None = None) -> None:
    """Obtain a token for ``audience`` and replace ``path`` with it, if the token is right.

    CredentialError (naming the issuer, never the secret or the token) when the issuer fails
    or its token is not for this CE; ``path`` is then left as it was.
    """
    new = oidc.request_token(client(profile), audience, profile.setting("token.scope") or [],
                             profile.setting("token.groups") or [])
    info = token.token_info(new, "the issuer's token", now)
    try:
        token.check_claims(profile, info, audience)
    except CredentialError as exc:
        raise CredentialError(f"the issuer's {exc}") from None
    if info.lifetime is not None and info.lifetime <= 0:
        raise CredentialError("the issuer's token is already expired")
    try:
        write_private(path, new + "\n")
        owner = profile.setting("token.owner")
        if owner:
            for item in (path.parent.parent, path.parent, path):   # tokens/, tokens/<profile>/, the file
                shutil.chown(item, owner, pwd.getpwnam(owner).pw_gid)
    except (OSError, KeyError, LookupError) as exc:
        raise CredentialError(f"cannot write {path} or give it to token.owner: "
                              f"{getattr(exc, 'strerror', None) or exc}") from None


def ensure(profile: Profile, audience: str, state_dir: Path, force: bool = False,
           now: float | None = None) -> ProfileState:
    """The state of the profile's token for ``audience``, obtained anew first when it is due.

    Never raises for a credential problem: it is the state's ``error`` (no usable token) or
    ``warning`` (the refresh failed, the previous token is used while it lasts).
    """
    path = token_path(state_dir, profile.name, audience)
    clock = time.time() if now is None else now
    state = check(profile, audience, state_dir, now)
    if not force and not due(state, clock):
        return state
    try:
        with _locked(path, LOCK_WAIT_FACTOR * float(profile.setting("token.timeout"))):
            state = check(profile, audience, state_dir, now)    # another process may have refreshed it
            if not force and not due(state, clock):
                return state
            obtain(profile, audience, path, now)
    except CredentialError as exc:
        state.refresh_error = str(exc)
        if state.state == ERROR or state.lifetime is None or state.lifetime <= 0:
            before = "" if state.error is None or not path.exists() else \
                f"; the previous token: {state.error.removeprefix(f'profile {profile.name}: ')}"
            state.state = ERROR
            state.error = f"profile {profile.name}: no token for {audience}: {exc}{before}"
        else:
            state.warning = (f"profile {profile.name}: refreshing the token for {audience} failed: {exc}; "
                             f"the previous token is kept ({state.lifetime} s left)")
        return state
    after = check(profile, audience, state_dir, now)
    after.renewed = True
    return after
