"""Bearer tokens (JWT): expiry, audience and scope read from the claims; renewal by a command.

The signature is not verified: the factory only needs to know when its own token expires
and what it is for; the services it is sent to verify it.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apfctl.auth import CredentialError
from apfctl.auth.commands import CommandError, run
from apfctl.auth.files import write_private
from apfctl.auth.profiles import Profile
from apfctl.bounded import MAX_CREDENTIAL_BYTES, read_text


@dataclass
class TokenInfo:
    subject: str | None
    expires: float | None                 # epoch seconds (exp), None when the token has none
    lifetime: float | None                # seconds left
    audience: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    issuer: str | None = None
    issued: float | None = None           # epoch seconds (iat)
    groups: list[str] = field(default_factory=list)   # wlcg.groups


def decode_claims(token: str) -> dict[str, Any]:
    """The claims of a compact JWT (header.payload.signature); ValueError when it is not one."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT (expected three dot-separated parts)")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError):
        raise ValueError("the JWT payload is not base64url-encoded JSON") from None
    if not isinstance(claims, dict):
        raise ValueError("the JWT payload is not a JSON object")
    return claims


def read_token(path: Path, now: float | None = None) -> TokenInfo:
    """The claims that matter of the token in ``path``; CredentialError naming the file."""
    try:
        text = read_text(path, MAX_CREDENTIAL_BYTES, encoding="ascii")
    except FileNotFoundError:
        raise CredentialError(f"token file {path} does not exist") from None
    except (OSError, UnicodeError) as exc:
        raise CredentialError(f"cannot read token file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return token_info(text, f"token file {path}", now)


def token_info(text: str, where: str, now: float | None = None) -> TokenInfo:
    """The claims that matter of a token's text; CredentialError starting with ``where``.

    The messages quote claims only by name and type: a token's text is a secret.
    """
    try:
        claims = decode_claims(text)
    except ValueError as exc:
        raise CredentialError(f"{where}: {exc}") from None
    times = {}
    for claim in ("exp", "iat"):
        value = claims.get(claim)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise CredentialError(f"{where}: {claim} claim is not a number ({type(value).__name__})")
        times[claim] = value
    audience = _words(where, "aud", claims.get("aud"), split=False)
    scopes = _words(where, "scope", claims.get("scope") or claims.get("scp"), split=True)
    groups = _words(where, "wlcg.groups", claims.get("wlcg.groups"), split=False)
    issuer = claims.get("iss")
    subject = claims.get("sub")
    now = time.time() if now is None else now
    exp = times["exp"]
    return TokenInfo(subject if isinstance(subject, str) else None, exp, None if exp is None else exp - now,
                     audience, scopes, issuer if isinstance(issuer, str) else None, times["iat"], groups)


def _words(where: str, claim: str, value: object, *, split: bool) -> list[str]:
    """A string or list-of-strings claim as a list; CredentialError for any other JSON type."""
    if not value:
        return []
    if isinstance(value, str):
        return value.split() if split else [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise CredentialError(f"{where}: {claim} claim is neither a string nor a list of strings")


def check_claims(profile: Profile, info: TokenInfo, audience: str | None = None) -> None:
    """CredentialError when the token lacks the audience, scopes or groups the profile asks for.

    ``audience``: the CE's (tokens a profile obtains per CE); else ``token.audience``.
    A token obtained from ``token.issuer`` must also come from that issuer and carry ``exp``.
    """
    wanted = audience or profile.setting("token.audience")
    if wanted and wanted not in info.audience:
        raise CredentialError(f"token audience lacks {wanted!r} (it has {', '.join(info.audience)[:100] or 'none'})")
    missing = [scope for scope in profile.setting("token.scope") or [] if scope not in info.scopes]
    if missing:
        raise CredentialError(f"token scopes lack {' '.join(missing)}")
    groups = [group for group in profile.setting("token.groups") or [] if group not in info.groups]
    if groups:
        raise CredentialError(f"token wlcg.groups lack {' '.join(groups)}")
    if profile.obtains:
        if info.expires is None:
            raise CredentialError("token has no exp claim")
        if info.issuer != profile.setting("token.issuer"):
            raise CredentialError(f"token issuer {info.issuer!r} is not {profile.setting('token.issuer')!r}")


def renew(profile: Profile) -> None:
    """Run ``token.renew.command``; with ``token.renew.output = stdout`` write what it prints."""
    command = profile.setting("token.renew.command")
    if not command:
        raise CredentialError(f"profile {profile.name}: no token.renew.command to renew with")
    path = Path(profile.setting("token.file"))
    env = dict(os.environ, BEARER_TOKEN_FILE=str(path))
    try:
        result = run(shlex.split(command), timeout=profile.setting("token.timeout"), env=env,
                     stdout_is_secret=profile.setting("token.renew.output").lower() == "stdout")
    except CommandError as exc:
        raise CredentialError(f"profile {profile.name}: renewal failed: {exc}") from None
    except ValueError as exc:
        raise CredentialError(f"profile {profile.name}: token.renew.command: {exc}") from None
    if profile.setting("token.renew.output").lower() == "stdout":
        token = result.stdout.strip()
        try:
            decode_claims(token)
        except ValueError as exc:
            raise CredentialError(f"profile {profile.name}: the renewal command printed no token ({exc})") from None
        try:
            write_private(path, token + "\n")
        except OSError as exc:
            raise CredentialError(f"profile {profile.name}: cannot write {path}: {exc.strerror or exc}") from None
