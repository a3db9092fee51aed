"""Calls that could not be sent, kept in the state folder until the next cycle.

Shared by the monitor plugins that talk HTTP after a cycle (apfmon, PanDA's Harvester API):
a :class:`Call` is one request, the :class:`Outbox` a folder of them per monitor section.

Several apfctl processes may publish at once (cron overlap, queues cycled apart), so the
outbox is a folder of files and never a shared file: a publisher claims a file by renaming
it (only one rename wins), and leaves what it could not send in a new file of its own.
A claim left by a process that died is taken over after ``STALE_CLAIM`` seconds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apfctl.paths import safe_name

log = logging.getLogger("apfctl.outbox")

STALE_CLAIM = 600.0
_CLAIMED = ".claimed-"


@dataclass
class Call:
    """One request. ``key`` names calls where only the newest matters (None: every one counts)."""

    method: str
    path: str
    json: Any = None
    form: dict[str, str] | None = None
    key: str | None = None
    queued: float | None = None     # when it first failed (epoch seconds)
    registers: dict[str, str] | None = None   # registry key -> digest, kept once the call is sent (apfmon)

    def to_dict(self) -> dict[str, Any]:
        """Its fields, bodies as they are (``asdict`` would deep-copy every body: slow for big batches)."""
        return {"method": self.method, "path": self.path, "json": self.json, "form": self.form, "key": self.key,
                "queued": self.queued, "registers": self.registers}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Call:
        return cls(method=str(data["method"]), path=str(data["path"]), json=data.get("json"),
                   form=data.get("form"), key=data.get("key"), queued=data.get("queued"),
                   registers=data.get("registers"))


def expire(calls: Sequence[Call], keep: float, now: float | None = None) -> tuple[list[Call], int]:
    """(calls queued at most ``keep`` seconds ago, how many older ones were dropped)."""
    now = time.time() if now is None else now
    kept = [call for call in calls if call.queued is None or now - call.queued <= keep]
    return kept, len(calls) - len(kept)


def bound(calls: Sequence[Call], most: int) -> tuple[list[Call], int]:
    """(the newest ``most`` calls, in order; how many of the oldest were dropped to keep to it)."""
    dropped = max(len(calls) - most, 0)
    return list(calls[dropped:]), dropped


class Outbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._claimed: list[Path] = []

    @classmethod
    def for_section(cls, state_dir: Path, section: str, kind: str = "apfmon") -> Outbox:
        """The outbox of one monitor section under ``<state_dir>/<kind>/``."""
        return cls(state_dir / kind / safe_name(section))

    def claim(self) -> list[Call]:
        """The queued calls, oldest file first, now owned by this process."""
        if not self.folder.is_dir():
            return []
        calls: list[Call] = []
        now = time.time()
        for path in sorted(self.folder.iterdir()):
            if path.name.startswith("."):
                continue
            if _CLAIMED in path.name:
                try:
                    if now - path.stat().st_mtime < STALE_CLAIM:
                        continue
                except FileNotFoundError:
                    continue
            target = path.with_name(f"{path.name.split(_CLAIMED)[0]}{_CLAIMED}{os.getpid()}")
            try:
                os.rename(path, target)
                os.utime(target)
                data = json.loads(target.read_text(encoding="utf-8"))
                calls.extend(Call.from_dict(item) for item in data)
            except FileNotFoundError:
                continue                      # another publisher claimed it first
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("outbox %s is unreadable, dropped: %s", path, exc)
            self._claimed.append(target)
        return calls

    def put(self, calls: list[Call]) -> None:
        """Keep ``calls`` for the next cycle, then release the files claimed (their calls are in)."""
        if calls:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"{time.time_ns():020d}-{os.getpid()}.json"
            temporary = self.folder / f".{name}"
            temporary.write_text(json.dumps([call.to_dict() for call in calls], separators=(",", ":")),
                                 encoding="utf-8")
            os.replace(temporary, self.folder / name)
        self.release()

    def release(self) -> None:
        for path in self._claimed:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self._claimed = []
