"""Reads and calls with limits: a size limit on every document read, a deadline on every call.

A value from outside apfctl (a file, an HTTP body, a command's output, a schedd's answer) is
read or waited for only up to a limit of apfctl's own, so that ``/dev/zero`` as a status file,
a server that sends a byte every few seconds or a hung command cost one queue its status and
never the whole cycle its memory or its time.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeVar

if TYPE_CHECKING:   # subprocess and threading are imported where used: config loading reads files here
    import subprocess

T = TypeVar("T")

# The largest document apfctl reads (status files, CRIC and PanDA answers, tokens' files are
# far smaller): real ones are a few MB; a bigger one is a mistake or an attack.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
# The largest credential file (a token, a proxy with its chain): a few KB in practice.
MAX_CREDENTIAL_BYTES = 1024 * 1024
_CHUNK = 1024 * 1024
# The largest count of jobs or pilots apfctl takes from a WMS or batch system: the record's
# own bound (``apfctl.record.kinds.COUNT``, not imported here: reading a config file must not
# load the record package; a test keeps the two equal), far below where arithmetic or storage
# could break (SQLite and JSON integers stop at 2**63 - 1).
MAX_COUNT = 10**9


class TooLarge(OSError):
    """A file or body over its size limit. An OSError, so ``except OSError`` reports it too."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(errno.EFBIG, f"larger than the limit of {limit} bytes")
        self.what = what
        self.limit = limit

    def __str__(self) -> str:
        return f"{self.what}: {self.strerror}"


def check_count(value: object, where: str) -> int:
    """``value`` if it is a whole number in 0..MAX_COUNT; ValueError naming ``where`` and the value."""
    if type(value) is not int or not 0 <= value <= MAX_COUNT:
        shown = repr(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise ValueError(f"{where} = {shown} is not a count (a whole number from 0 to {MAX_COUNT})")
    return value


class DeadlineExceeded(TimeoutError):
    """A call that did not return within its deadline."""


def read_stream(stream: IO[bytes], limit: int, what: str) -> bytes:
    """Everything ``stream`` holds, or :class:`TooLarge` once it passes ``limit`` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            raise TooLarge(what, limit)


def read_file(path: str | os.PathLike[str], limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """The bytes of a file of at most ``limit`` bytes (a device or FIFO is read up to it too)."""
    with open(path, "rb") as stream:
        return read_stream(stream, limit, str(path))


def read_text(path: str | os.PathLike[str], limit: int = MAX_DOCUMENT_BYTES, encoding: str = "utf-8") -> str:
    """:func:`read_file`, decoded (UnicodeDecodeError, a ValueError, for bytes of another encoding)."""
    return read_file(Path(path), limit).decode(encoding)


def call_with_deadline(call: Callable[[], T], seconds: float, what: str,
                       on_timeout: Callable[[], object] | None = None) -> T:
    """``call()``'s result, or :class:`DeadlineExceeded` naming ``what`` after ``seconds``.

    The call runs in a daemon thread: a call that hangs is left behind (``on_timeout`` may
    close what it waits on, so that it ends) and never keeps the process alive. Exceptions
    of the call are raised here. ``on_timeout`` must not block (close a socket with shutdown,
    not close, which waits for the reading thread).
    """
    import threading

    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, name=f"deadline: {what}", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        if on_timeout is not None:
            with contextlib.suppress(Exception):  # best effort: the caller hears of the deadline anyway
                on_timeout()
        raise DeadlineExceeded(f"{what} did not finish within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def run_command(argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None,
                limit: int = MAX_DOCUMENT_BYTES) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in its own process group; on time-out the whole group is killed.

    Output is decoded with U+FFFD for bytes that are not UTF-8, and kept up to ``limit``
    bytes (the time-out bounds how much is read). ``subprocess.TimeoutExpired`` after the
    kill, so that no child of the command lives on.
    """
    import subprocess

    process = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=dict(env) if env is not None else None,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(process)
        raise
    return subprocess.CompletedProcess(list(argv), process.returncode,
                                       stdout[:limit].decode("utf-8", "replace"),
                                       stderr[:limit].decode("utf-8", "replace"))


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the process group that ``process`` leads, then reap it."""
    import signal
    import subprocess

    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):  # a pipe held open outside the group
        process.communicate(timeout=5)
