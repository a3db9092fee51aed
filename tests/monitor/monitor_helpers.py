"""Builders for monitor tests: records in the ledger's shape, and a factory config on disk."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

NOW = dt.datetime(2026, 11, 25, 6, 30, tzinfo=dt.UTC)
MSG = "Ready:in=0,activated=120,offset=0,pending=3,ret=117;MaxPerCycle:in=117,maxpercycle=9,ret=9"


def cycle_id(minutes_ago: float, now: dt.datetime = NOW) -> str:
    return f"{now - dt.timedelta(minutes=minutes_ago):%Y%m%dT%H%M%SZ}-0a1b"


def record(queue: str, minutes_ago: float = 1, *, now: dt.datetime = NOW, batch_error: str | None = None,
           submitted: int = 9, msg: str = MSG, ids: list[str] | None = None, pending: int = 3) -> dict[str, Any]:
    """A full cycle record (status, decision, submission) of ``minutes_ago``."""
    batch: dict[str, Any] = {"plugin": "Condor", "ok": True, "pending": pending, "held": 1, "running": 41,
                             "exiting": 1, "done_1h": 12, "fault_1h": 2, "error": None}
    if batch_error:
        batch = {"plugin": "Condor", "ok": False, "error": batch_error}
    return {
        "apfctl": 1, "queue": queue, "cycle": cycle_id(minutes_ago, now),
        "wms": {"plugin": "Panda", "ok": True, "queue": queue, "ready": 120, "notready": 3, "running": 40,
                "done": 0, "failed": 0, "status": "online", "error": None},
        "batch": batch,
        "decision": {"pilots": 0 if batch_error else submitted,
                     "msg": "Ready:comment=Invalid wmsinfo or batchinfo" if batch_error else msg, "trace": []},
        "submission": {"plugin": "CondorLocal", "requested": submitted, "submitted": 0 if batch_error else submitted,
                       "retired": 0, "ids": [] if batch_error else (ids if ids is not None else
                                                                     [f"77.{i}" for i in range(submitted)]),
                       "dry_run": False, "error": None},
    }


def write_factory(folder: Path, queues: dict[str, dict[str, str]], monitor_conf: str | None = None,
                  factory_id: str = "test-factory") -> Path:
    """A factory file, its queues.conf (Local backends) and optionally a monitor.conf; returns the factory file."""
    folder.mkdir(parents=True, exist_ok=True)
    sections = []
    for name, keys in queues.items():
        values = {"enabled": "True", "batchstatusplugin": "Local", "batchsubmitplugin": "Local",
                  "schedplugin": "Ready", "wmsstatusplugin": "None", **keys}
        sections.append(f"[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in values.items()))
    (folder / "queues.conf").write_text("\n".join(sections))
    extra = ""
    if monitor_conf is not None:
        (folder / "monitor.conf").write_text(textwrap.dedent(monitor_conf).lstrip())
        extra = "monitorConf = monitor.conf\n"
    path = folder / "apfctl.conf"
    path.write_text(f"[Factory]\nfactoryId = {factory_id}\nfactoryAdminEmail = ops@example.org\n"
                    "baseLogDirUrl = http://logs.example.org/apf\nqueueConf = queues.conf\n" + extra)
    return path


def typed_record(queue: str, minutes_ago: float = 1, *, now: dt.datetime = NOW) -> dict[str, Any]:
    """A unified queue's cycle record: SCORE and MCORE pilots counted, decided and submitted per type."""
    one = record(queue, minutes_ago, now=now, submitted=9, pending=3)
    one["batch"]["types"] = {"SCORE": {"pending": 2, "held": 1, "running": 30, "exiting": 1},
                             "MCORE": {"pending": 1, "held": 0, "running": 11, "exiting": 0}}
    one["decision"]["types"] = {
        "SCORE": {"pilots": 6, "msg": "Ready:in=0,activated=80,offset=0,pending=2,ret=78;MaxPerCycle:in=78,"
                                      "maxpercycle=6,ret=6", "cores": 1, "memory": 2000},
        "MCORE": {"pilots": 3, "msg": "Ready:in=0,activated=40,offset=0,pending=1,ret=39;MaxPerCycle:in=39,"
                                      "maxpercycle=3,ret=3", "cores": 8, "memory": 16000}}
    one["submission"]["types"] = {
        name: {"plugin": "CondorLocal", "requested": count, "submitted": count, "retired": 0,
               "ids": [f"78.{i}" for i in range(count)], "dry_run": False, "error": None}
        for name, count in (("SCORE", 6), ("MCORE", 3))}
    return one
