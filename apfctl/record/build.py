"""The builders the stages make their sections with, each returning a section of ``sections.py``.

The count keys are read from the definitions, so a count added there is filled here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from apfctl.record.message import TEXT, message
from apfctl.record.model import Integer, object_of
from apfctl.record.sections import (
    SCHEMA_VERSION,
    BatchFailed,
    BatchRead,
    BatchTypeCounts,
    Decision,
    Record,
    Step,
    Submission,
    WmsFailed,
    WmsRead,
)


def _counts(cls: Any) -> tuple[str, ...]:
    return tuple(f.key for f in object_of(cls).fields if f.required and isinstance(f.node, Integer))


WMS_COUNTS = _counts(WmsRead)      # ready, notready, running, done, failed
BATCH_COUNTS = _counts(BatchRead)  # pending, held, running, exiting, done_1h, fault_1h
TYPE_BATCH_COUNTS = _counts(BatchTypeCounts)   # pending, held, running, exiting


def new_record(queue: str, cycle: str) -> Record:
    return {"apfctl": SCHEMA_VERSION, "queue": queue, "cycle": cycle}


def wms_read(plugin: str | None, counts: Mapping[str, Any], *, queue: str | None, status: str | None,
             time: str, types: Mapping[str, Mapping[str, Any]] | None = None, factories: int | None = None) -> WmsRead:
    """A WMS section from the plugin's answer (a count it left out is 0); ``types``: the same per resource type."""
    section: dict[str, Any] = {"plugin": plugin, "ok": True, "time": time, "queue": queue}
    for key in WMS_COUNTS:
        section[key] = int(counts.get(key) or 0)
    section["status"] = status
    if types:
        section["types"] = {rt: {key: int(by_type.get(key) or 0) for key in WMS_COUNTS}
                            for rt, by_type in types.items()}
    if factories is not None:
        section["factories"] = int(factories)
    section["error"] = None
    return section  # type: ignore[return-value]


def no_wms(time: str) -> WmsRead:
    """A queue with ``wmsstatusplugin = None`` (APF allowed it): no work is reported."""
    return wms_read(None, {}, queue=None, status=None, time=time)


def wms_failed(plugin: str | None, error: str, *, queue: str | None, time: str) -> WmsFailed:
    return {"plugin": plugin, "ok": False, "time": time, "queue": queue, "error": error}


def batch_read(plugin: str, counts: Mapping[str, int], *, time: str,
               types: Mapping[str, Mapping[str, int]] | None = None) -> BatchRead:
    """A batch section from the counts of each state (``states.BATCH_FIELDS``); ``types``: pilots
    stamped with a resource type, per type (untyped pilots are in the totals only)."""
    section: dict[str, Any] = {"plugin": plugin, "ok": True, "time": time}
    for key in BATCH_COUNTS:
        section[key] = counts[key]
    if types:
        section["types"] = {rt: {key: by_type.get(key, 0) for key in TYPE_BATCH_COUNTS}
                            for rt, by_type in types.items()}
    section["error"] = None
    return section  # type: ignore[return-value]


def batch_failed(plugin: str, error: str, *, time: str) -> BatchFailed:
    return {"plugin": plugin, "ok": False, "time": time, "error": error}


def step(rule: str, n_in: int, n_out: int, msg: str, *, error: bool = False) -> Step:
    """One step of a decision's trace (``error``: the rule failed)."""
    made: Step = {"rule": rule, "in": n_in, "out": n_out, "msg": msg}
    if error:
        made["error"] = True
    return made


def decision(pilots: int, trace: list[Step]) -> Decision:
    """The decision: the chain's result, APF's message (the steps' non-empty messages) and the trace (not copied)."""
    return {"pilots": pilots, "msg": ";".join([s["msg"] for s in trace if s["msg"]]), "trace": trace}


_REFUSED = message("Status", comment=TEXT, ret=0)


def refused(reason: str, *, error: bool = False) -> Decision:
    """No pilots, with the reason as the chain's only step (status unusable, config broken)."""
    return decision(0, [step("Status", 0, 0, _REFUSED(reason), error=error)])


def submission(plugin: str | None, requested: int, dry_run: bool, *, submitted: int = 0, retired: int = 0,
               ids: Sequence[str] = (), error: str | None = None, **more: str | None) -> Submission:
    """A submission section; ``more``: ``description`` and ``skipped``."""
    section: dict[str, Any] = {"plugin": plugin, "requested": requested, "submitted": submitted,
                               "retired": retired, "ids": list(ids), "dry_run": dry_run, "error": error}
    section.update(more)
    return section  # type: ignore[return-value]
