"""The state folder of the Local backend: one JSON file per pilot, written atomically.

Layout: ``<state_dir>/local/<queue>/<pilotid>.json`` and ``<state_dir>/local/<queue>/slots/<i>.lock``,
``<queue>`` escaped by :func:`apfctl.paths.safe_name`.
A pilot's file is created by the submitter (under the folder lock, before its runner may
read it), then updated by its runner (started, ended, exit code) and by retirement
(``removed``), every read-modify-write under the same lock: an ``flock`` on the queue's
folder. Readers (batch status) need no lock because every write is a rename.

Only the standard library and apfctl's lock here: the runner imports this module in every pilot.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from apfctl.locking import exclusive
from apfctl.paths import safe_name

SUFFIX = ".json"
SLOTS_FOLDER = "slots"

PilotState = dict[str, Any]


def queue_dir(state_dir: str | os.PathLike[str], queue: str) -> Path:
    return Path(state_dir) / "local" / safe_name(queue)


def state_path(folder: Path, pilot_id: str) -> Path:
    return folder / f"{pilot_id}{SUFFIX}"


def folder_lock(folder: Path) -> AbstractContextManager[int | None]:
    """Exclusive lock of one queue's pilot files (blocking; held for milliseconds)."""
    return exclusive(folder)


def _read_small(path: str | Path) -> bytes:
    """A small file in one system call (no buffered file object: status reads thousands)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = [os.read(fd, 65536)]
        while len(chunks[-1]) == 65536:
            chunks.append(os.read(fd, 65536))
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_state(path: str | Path) -> PilotState | None:
    """The pilot's state, or None when the file is gone or not a pilot state."""
    try:
        data = json.loads(_read_small(path))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_state(path: str | Path, state: PilotState) -> None:
    """Replace the file in one rename, so a reader sees the old or the new state, never half."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(state, handle, separators=(",", ":"))
    os.replace(tmp, path)


def scan(folder: Path) -> Iterator[tuple[str, PilotState]]:
    """Every pilot state of one queue folder (path, state): one directory scan, one read per pilot."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return
    base = f"{folder}{os.sep}"
    for name in names:
        if name.endswith(SUFFIX) and not name.startswith("."):
            state = read_state(base + name)
            if state is not None:
                yield base + name, state


def proc_start_time(pid: int) -> int | None:
    """The process's start time (clock ticks after boot), or None if it is gone or a zombie."""
    try:
        text = _read_small(f"/proc/{pid}/stat")
    except OSError:
        return None
    # "pid (comm) state ... starttime": comm may hold spaces and parentheses; split after the last ')'.
    fields = text[text.rfind(b")") + 2:].split()
    if len(fields) < 20 or fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def runner_alive(state: PilotState) -> bool:
    """The pilot's runner still exists: same pid *and* same start time (no pid reuse)."""
    pid = state.get("pid")
    if not isinstance(pid, int):
        return False
    started = proc_start_time(pid)
    return started is not None and started == state.get("pid_start")


def utc_stamp(when: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def log_event(path: str, text: str) -> None:
    """One line of the pilot's ``.log`` (its life, as a batch system's job log would say)."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"{utc_stamp()} {text}\n")
