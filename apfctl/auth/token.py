"""Bearer tokens (JWT): expiry, audience and scope read from the claims; renewal by a command.

The signature is not verified: the factory only needs to know when its own token expires
and what it is for; the services it is sent to verify it.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apfctl.auth import CredentialError
from apfctl.auth.commands import CommandError, run
from apfctl.auth.profiles import Profile
from apfctl.bounded import MAX_CREDENTIAL_BYTES, read_text


@dataclass
class TokenInfo:
    subject: str | None
    expires: float | None                 # epoch seconds (exp), None when the token has none
    lifetime: float | None                # seconds left
    audience: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)


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
    try:
        claims = decode_claims(text)
    except ValueError as exc:
        raise CredentialError(f"token file {path}: {exc}") from None
    exp = claims.get("exp")
    if exp is not None and (isinstance(exp, bool) or not isinstance(exp, (int, float))):
        raise CredentialError(f"token file {path}: exp claim {exp!r} is not a number")
    audience = _words(path, "aud", claims.get("aud"), split=False)
    scopes = _words(path, "scope", claims.get("scope") or claims.get("scp"), split=True)
    now = time.time() if now is None else now
    return TokenInfo(claims.get("sub"), exp, None if exp is None else exp - now, audience, scopes)


def _words(path: Path, claim: str, value: object, *, split: bool) -> list[str]:
    """A string or list claim as a list of strings; CredentialError for any other JSON type."""
    if not value:
        return []
    if isinstance(value, str):
        return value.split() if split else [value]
    if isinstance(value, list):
        return [str(item) for item in value]
    raise CredentialError(f"token file {path}: {claim} claim {value!r} is neither a string nor a list")


def check_claims(profile: Profile, info: TokenInfo) -> None:
    """CredentialError when the token lacks the audience or scopes the profile asks for."""
    wanted = profile.setting("token.audience")
    if wanted and wanted not in info.audience:
        raise CredentialError(f"token audience {info.audience} lacks {wanted!r}")
    missing = [scope for scope in profile.setting("token.scope") or [] if scope not in info.scopes]
    if missing:
        raise CredentialError(f"token scopes lack {' '.join(missing)}")


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
            _write_private(path, token + "\n")
        except OSError as exc:
            raise CredentialError(f"profile {profile.name}: cannot write {path}: {exc.strerror or exc}") from None


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with a file only its owner can read."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="ascii") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        raise
