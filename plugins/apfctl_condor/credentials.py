"""The credential a queue submits with: an X509 proxy file or a SciToken file.

A queue names auth.conf profiles as APF did (``batchsubmit.<plugin>.proxy = <profile>``,
also under APF's parent plugin names; resolved by ``CondorBase.profile``, which picks the
first usable profile of the kind asked for), or a file directly:
``proxyfile`` (APF's fallback), ``x509userproxy`` or ``scitokens_file`` (HTCondor's names).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# auth.conf profile kind -> submit command
PROFILE_COMMANDS = {"x509": "x509userproxy", "token": "scitokens_file"}


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


def require_file(credential: Credential) -> None:
    """CredentialError unless the credential file exists and is readable."""
    try:
        with open(credential.path, "rb"):
            pass
    except OSError as exc:
        raise CredentialError(credential.source, str(credential.path),
                              f"{credential.command} file cannot be read: {exc.strerror or exc}") from None
