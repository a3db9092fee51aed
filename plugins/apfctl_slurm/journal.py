"""The pilots that the factory cancelled itself, so that status can tell them apart.

A pilot retired by the factory ends CANCELLED exactly like one that a user or an admin
cancelled, and Slurm records nothing that tells the two apart (``sacct`` says ``CANCELLED by
<uid>``, the factory's own uid). docs/architecture.md §1.5 counts the factory's own removals as neither
done nor fault, so the submit plugin writes each id here before it calls ``scancel``, and the
status plugin reads the ids back. One small text file per cluster in the state folder, lines
``<epoch> <job id>``; entries older than a week are dropped when the file grows.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from apfctl.paths import safe_name

KEEP = 7 * 86400.0
_PRUNE_AT = 1 << 20   # bytes


def journal_path(state_dir: Path, cluster: str | None) -> Path:
    name = safe_name(cluster or "default")
    return state_dir / "slurm" / f"retired-{name}.txt"


def record(path: Path, ids: Iterable[str], now: float | None = None) -> None:
    """Append ids (before they are cancelled); prune old entries once the file is large."""
    stamp = f"{now if now is not None else time.time():.0f}"
    text = "".join(f"{stamp} {job_id}\n" for job_id in ids)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="ascii") as stream:
        fcntl.flock(stream, fcntl.LOCK_EX)
        stream.write(text)
        stream.flush()
        if stream.tell() > _PRUNE_AT:
            _prune(stream)


def _prune(stream: TextIO) -> None:
    """Rewrite in place under the lock (a replaced file would strand writers waiting on the old one)."""
    stream.seek(0)
    cutoff = time.time() - KEEP
    kept = [line for line in stream if (entry := _entry(line)) is not None and entry[0] >= cutoff]
    stream.seek(0)
    stream.truncate()
    stream.write("".join(kept))


def _entry(line: str) -> tuple[float, str] | None:
    stamp, _, job_id = line.strip().partition(" ")
    try:
        return float(stamp), job_id
    except ValueError:
        return None


def retired_ids(path: Path) -> set[str]:
    """Every id the factory cancelled that the journal still holds.

    Read under a shared lock: ``_prune`` truncates and rewrites the file in place, and a
    read between the two would miss every id.
    """
    try:
        with path.open(encoding="ascii", errors="replace") as stream:
            fcntl.flock(stream, fcntl.LOCK_SH)
            text = stream.read()
    except FileNotFoundError:
        return set()
    return {entry[1] for line in text.splitlines() if (entry := _entry(line)) is not None}
