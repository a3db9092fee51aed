"""Building queues, factories and records for rule tests, without files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from apfctl import plugins
from apfctl.config.model import FactoryConfig, Origin, QueueConfig, RawValue
from apfctl.interfaces import FactoryContext, SchedRule

MESSAGE = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9]*):(?P<pairs>[^=,;:]+=[^,;=]*(?:,[^=,;:]+=[^,;=]*)*)$")


def section(name: str, values: dict[str, Any]) -> QueueConfig:
    return QueueConfig(name, {k: RawValue(str(v), Origin("test")) for k, v in values.items()})


def context(tmp: Path | None = None, **factory_keys: Any) -> FactoryContext:
    config = FactoryConfig("Factory", {k: RawValue(str(v), Origin("test")) for k, v in factory_keys.items()})
    return FactoryContext(config=config, state_dir=tmp or Path("/nonexistent"))


def rule(name: str, keys: dict[str, Any] | None = None, factory: FactoryContext | None = None) -> SchedRule:
    """The registered rule ``name`` built for a queue with these keys (full key names)."""
    return plugins.find("sched", name)(section("Q", keys or {}), factory or context())


def record(ready: int = 0, pending: int = 0, running: int = 0, status: str | None = "online",
           wms: dict[str, Any] | None = None, batch: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A status record as the status stage writes it; ``batch``/``wms`` entries override."""
    wms_section = {"plugin": "File", "ok": True, "queue": "Q", "ready": ready, "notready": 0, "running": 0,
                   "done": 0, "failed": 0, "status": status, "error": None}
    batch_section = {"plugin": "Local", "ok": True, "pending": pending, "held": 0, "running": running,
                     "exiting": 0, "done_1h": 0, "fault_1h": 0, "error": None}
    wms_section.update(wms or {})
    batch_section.update(batch or {})
    base = {"apfctl": 1, "queue": "Q", "cycle": "20261125T060000Z-0001", "wms": wms_section, "batch": batch_section}
    base.update(extra)
    return base


def failed(source: str) -> dict[str, Any]:
    return {"plugin": "X", "ok": False, "error": f"{source} unreachable"}


def parse_message(msg: str) -> tuple[str, dict[str, str]]:
    """``Name:k=v,...`` -> (Name, {k: v}); AssertionError if it is not in APF's format."""
    match = MESSAGE.match(msg)
    assert match, f"not in APF's Name:key=value,... format: {msg!r}"
    pairs = dict(pair.split("=", 1) for pair in match.group("pairs").split(","))
    return match.group("name"), pairs
