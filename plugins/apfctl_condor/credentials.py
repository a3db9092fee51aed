"""The credential a queue submits with: an X509 proxy file, a SciToken file, or an SSH key.

A queue names a file directly (``proxyfile``, APF's fallback, ``x509userproxy`` or
``scitokens_file``, HTCondor's names) or auth.conf profiles as APF did
(``batchsubmit.<plugin>.proxy = <profile>``, also ``authprofile`` and APF's parent plugin
names): the first profile of the kind wanted is used. Profile resolution lives in
:func:`_profile` alone, so that another resolver (``apfctl/auth/``) can replace it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apfctl_condor.pilotqueue import PilotQueue

# auth.conf profile kind -> submit command
PROFILE_COMMANDS = {"x509": "x509userproxy", "token": "scitokens_file"}
# key suffix -> submit command, in the order they are looked for
FILE_KEYS = (("scitokens_file", "scitokens_file"), ("x509userproxy", "x509userproxy"), ("proxyfile", "x509userproxy"))


@dataclass(frozen=True)
class Credential:
    command: str   # x509userproxy or scitokens_file
    path: Path
    source: str    # the configuration key it came from


class CredentialError(ValueError):
    def __init__(self, key: str, value: str, message: str) -> None:
        self.key = key
        self.value = value
        super().__init__(message)


def pilot_credential(queue: PilotQueue) -> Credential | None:
    """The pilots' credential: a file key, else an X509 or token profile; None if none is set."""
    for suffix, command in FILE_KEYS:
        path = queue.value(suffix)
        if path:
            return Credential(command, Path(path), queue.key(suffix))
    found = _profile(queue, tuple(PROFILE_COMMANDS))
    if found is None:
        return None
    key, kind, path = found
    return Credential(PROFILE_COMMANDS[kind], Path(path), key)


def ssh_key(queue: PilotQueue) -> str | None:
    """The private key of an SSH profile named by ``authprofile``/``proxy`` (APF's CondorSSH)."""
    found = _profile(queue, ("ssh",))
    return None if found is None else found[2]


def _profile(queue: PilotQueue, kinds: tuple[str, ...]) -> tuple[str, str, str] | None:
    """(key, kind, file) of the first auth.conf profile named by the queue of one of ``kinds``."""
    for suffix in ("proxy", "authprofile"):
        names = queue.value(suffix)
        if names:
            key = queue.key(suffix)
            break
    else:
        return None
    from apfctl.auth.manager import watched_file
    from apfctl.credentials import load_auth

    auth = load_auth(queue.factory.config)   # ConfigError naming auth.conf if unusable
    profiles: list[Any] = [auth.profiles[name] for name in names if name in auth.profiles]
    if not profiles:
        where = auth.path or "auth.conf ([Factory] authConf is not set)"
        raise CredentialError(key, ",".join(names), f"no usable profile of these in {where}")
    chosen = next((profile for profile in profiles if profile.kind in kinds), None)
    return None if chosen is None else (key, chosen.kind, str(watched_file(chosen)))


def require_file(credential: Credential) -> None:
    """CredentialError unless the credential file exists and is readable."""
    try:
        with open(credential.path, "rb"):
            pass
    except OSError as exc:
        raise CredentialError(credential.source, str(credential.path),
                              f"{credential.command} file cannot be read: {exc.strerror or exc}") from None
