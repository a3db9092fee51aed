"""Removal of old pilot log folders: ``baseLogDir/YYYY-MM-DD/<queue>/`` (APF's CleanLogs).

A queue's folder is kept for its ``cleanlogs.keepdays``, else the factory's. APF looked
queue folders up by the raw section name while they are named after a sanitised one, and
a queue without the key was never cleaned; here folders are matched by their file name
(:func:`apfctl.paths.safe_name`) and fall back to the factory's value. Symbolic links are
never followed, and nothing outside ``baseLogDir`` is touched.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from apfctl.paths import safe_name

_DATE_DIR = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def clean_logs(base: Path, default_days: int, queue_days: Mapping[str, int | None],
               today: _dt.date | None = None, dry_run: bool = False,
               only: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Remove queue log folders older than their keepdays; one dict per folder removed.

    ``queue_days`` maps queue names to their own ``cleanlogs.keepdays`` (None: the default).
    ``only``: these queues' folders, none other. A date folder left empty is removed too.
    A folder that cannot be removed is reported with its error.
    """
    today = today or _dt.datetime.now(_dt.UTC).date()
    days_by_folder = {safe_name(name): days for name, days in queue_days.items() if days is not None}
    wanted = None if only is None else {safe_name(name) for name in only}
    actions: list[dict[str, Any]] = []
    if not base.is_dir():
        return actions
    for date_dir in sorted(base.iterdir()):
        match = _DATE_DIR.match(date_dir.name)
        if not match or date_dir.is_symlink() or not date_dir.is_dir():
            continue
        try:
            day = _dt.date(*(int(part) for part in match.groups()))
        except ValueError:
            continue
        age = (today - day).days
        for queue_dir in sorted(date_dir.iterdir()):
            if queue_dir.is_symlink() or not queue_dir.is_dir():
                continue
            if wanted is not None and queue_dir.name not in wanted:
                continue
            keep = days_by_folder.get(queue_dir.name, default_days)
            if age <= keep:
                continue
            action = {"action": "remove_logs", "queue": unquote(queue_dir.name), "path": str(queue_dir),
                      "age_days": age, "keepdays": keep, "dry_run": dry_run}
            if not dry_run:
                try:
                    shutil.rmtree(queue_dir)
                except OSError as exc:
                    action["error"] = f"{exc.strerror or exc}: {getattr(exc, 'filename', '') or queue_dir}"
            actions.append(action)
        if not dry_run:
            with contextlib.suppress(OSError):   # not empty, or removed meanwhile: nothing to do
                if not any(date_dir.iterdir()):
                    date_dir.rmdir()
    return actions
