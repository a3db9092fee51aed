"""The credentials a queue's pilots carry: an X509 proxy, a SciToken, both, or an SSH key.

A queue names a file directly (``proxyfile``, APF's fallback, ``x509userproxy`` or
``scitokens_file``, HTCondor's names; the first found wins) or auth.conf profiles as APF
did (``batchsubmit.<plugin>.proxy = <profile>[, ...]``, also ``authprofile`` and APF's
parent plugin names) with ``batchsubmit.<plugin>.credential = token | proxy | both``.
Profiles are resolved by :func:`apfctl.auth.queues.resolve` alone: a token profile that
obtains tokens gives this CE's own token file (its audience from the plugin's
``credential_audience``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apfctl.auth.queues import QueueCredential
    from apfctl_condor.pilotqueue import PilotQueue

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


def pilot_credentials(queue: PilotQueue) -> list[Credential]:
    """The pilots' credentials: a file key, else the profiles' files by policy (token first); [] if none."""
    for suffix, command in FILE_KEYS:
        path = queue.value(suffix)
        if path:
            return [Credential(command, Path(path), queue.key(suffix))]
    resolved = _resolved(queue)
    if resolved is None:
        return []
    found = [("scitokens_file", resolved.token), ("x509userproxy", resolved.proxy)]
    return [Credential(command, path, resolved.key) for command, path in found if path is not None]


def ssh_key(queue: PilotQueue) -> str | None:
    """The private key of an SSH profile named by ``authprofile``/``proxy`` (APF's CondorSSH)."""
    resolved = _resolved(queue)
    return None if resolved is None or resolved.ssh_key is None else str(resolved.ssh_key)


def _resolved(queue: PilotQueue) -> QueueCredential | None:
    """The queue's profiles resolved (ConfigError naming auth.conf or the queue's key if unusable)."""
    from apfctl.auth.queues import resolve

    for suffix in ("proxy", "authprofile"):
        if queue.value(suffix):
            return resolve(queue.queue, queue.factory, queue.key(suffix), queue.key("credential"))
    return None


def require_file(credential: Credential) -> None:
    """CredentialError unless the credential file exists and is readable."""
    try:
        with open(credential.path, "rb"):
            pass
    except OSError as exc:
        raise CredentialError(credential.source, str(credential.path),
                              f"{credential.command} file cannot be read: {exc.strerror or exc}") from None
