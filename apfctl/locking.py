"""Per-queue locks, so that one queue is never cycled by two apfctl processes at once.

A lock is an ``flock`` on ``<state>/locks/<queue>.lock``: the kernel drops it when the
process dies, so a crashed cron run never leaves a queue locked.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from apfctl.errors import ApfctlError


def lock_path(state_dir: Path, queue: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", queue)
    return Path(state_dir) / "locks" / f"{safe}.lock"


@contextmanager
def queue_lock(state_dir: Path, queue: str) -> Iterator[bool]:
    """Yields True with the queue locked, or False at once when another process holds it."""
    path = lock_path(state_dir, queue)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ApfctlError(f"cannot create the lock {path}: {exc.strerror or exc} (check the state folder)") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:   # the holder's pid, for people; a full disk must not stop the lock itself
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
