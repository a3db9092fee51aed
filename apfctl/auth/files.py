"""Files that hold secrets: written atomically and private, refused when others can read them."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from apfctl.auth import CredentialError


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically: a private temporary file, fsync, rename.

    Readers see the old file or the new one, never a half-written one; the folder is
    fsynced too so that the rename survives a crash. The file is 0600 from its creation.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")   # 0600
    try:
        with os.fdopen(handle, "w", encoding="ascii") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def too_open(path: Path) -> str | None:
    """Why ``path`` is not private (group- or world-readable, or not a regular file), or None."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return f"{path} does not exist"
    except OSError as exc:
        return f"{path} cannot be read: {exc.strerror or exc}"
    if not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file"
    if info.st_mode & 0o077:
        return f"{path} is readable or writable by others (mode {stat.S_IMODE(info.st_mode):04o}; chmod 600)"
    return None


def read_private(path: Path, what: str) -> str:
    """The text of a secret file; CredentialError (naming only the file) when missing or too open."""
    problem = too_open(path)
    if problem is not None:
        raise CredentialError(f"{what} {problem}")
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeError) as exc:
        raise CredentialError(f"{what} {path} cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
