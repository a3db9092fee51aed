"""Queue locks between apfctl processes, in one ``flock`` implementation (:func:`exclusive`).

The queue lock, so that one queue is never cycled by two apfctl processes at once, is an
``flock`` on ``<state>/locks/<queue>.lock`` (the queue name escaped by
:func:`apfctl.paths.safe_name`), taken without waiting. A backend's lock on a queue's own
files is :func:`exclusive` too (the Local backend's lock of a queue's pilot folder, held
for milliseconds). The kernel drops an ``flock`` when the process dies, so a crashed cron
run never leaves a queue locked.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

from apfctl.errors import ApfctlError
from apfctl.paths import safe_name


def lock_path(state_dir: Path, queue: str) -> Path:
    return Path(state_dir) / "locks" / f"{safe_name(queue)}.lock"


def _open(path: Path) -> int:
    """A descriptor to lock: the folder itself, or the file (created if missing)."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except IsADirectoryError:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY)


@contextmanager
def exclusive(path: Path, *, wait: bool = True) -> Iterator[int | None]:
    """Holds an exclusive ``flock`` on ``path``, a file or a folder; yields the locked descriptor.

    With ``wait=False`` it yields None at once when another process holds the lock.
    Closing the descriptor (on exit) releases it.
    """
    fd = _open(path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        yield fd
    finally:
        os.close(fd)


@contextmanager
def queue_lock(state_dir: Path, queue: str) -> Iterator[bool]:
    """Yields True with the queue locked, or False at once when another process holds it.

    The lock file holds the pid of the process that has the queue, for people to read.
    """
    path = lock_path(state_dir, queue)
    with ExitStack() as stack:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = stack.enter_context(exclusive(path, wait=False))
        except OSError as exc:
            raise ApfctlError(f"cannot create the lock {path}: {exc.strerror or exc} "
                              "(check the state folder)") from None
        if fd is not None:
            with suppress(OSError):   # the holder's pid, for people; a full disk must not stop the lock
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
        yield fd is not None
