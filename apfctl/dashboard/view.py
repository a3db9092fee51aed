"""The monitor's view model: one row per queue, computed from configuration and records.

Pure functions of their inputs (no I/O, ``now`` is a parameter), so that every renderer
and every test sees the same numbers. A row's health says how the operator should read it:

* ``failing``: the last cycle could not read the WMS or the batch system, or submission failed;
* ``stale``: the last cycle is older than two cycle intervals (``apfqueue.sleep``, APF's
  default 360 s);
* ``never``: the queue is configured but no cycle was recorded yet;
* ``ok``: otherwise.

Queues that have records but are no longer configured (or no longer enabled) are kept,
marked ``configured=False``/``enabled=False``, so renderers can dim them.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from apfctl.record import cycle_time

DEFAULT_INTERVAL = 360.0
STALE_INTERVALS = 2
ACTIVITY_WINDOW = 7200.0        # seconds of submission activity in the sparkline (apfmon: 2 h)
ACTIVITY_BUCKET = 300.0         # seconds per sparkline bucket (apfmon: 5 min)
ACTIVITY_BUCKETS = int(ACTIVITY_WINDOW // ACTIVITY_BUCKET)

Health = Literal["ok", "stale", "failing", "never"]
COUNT_FIELDS = ("pending", "held", "running", "exiting", "done_1h", "fault_1h")
VM_FIELDS = ("pending", "idle", "busy", "retiring", "gone")   # an EC2 queue's VMs (batch.vms)
SORT_KEYS = ("queue", "age", "health", "pending", "held", "running", "exiting", "done", "fault", "submitted")
_HEALTH_ORDER = {"failing": 0, "stale": 1, "never": 2, "ok": 3}


@dataclass(frozen=True)
class QueueSpec:
    """What the view needs from a queue's configuration."""

    name: str
    interval: float = DEFAULT_INTERVAL   # apfqueue.sleep
    enabled: bool = True


@dataclass(frozen=True)
class LimitingStep:
    """The step of a decision that limited it: the rule's name and its APF message (``Rule:k=v,...``)."""

    rule: str
    step: str


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def limiting_step(decision: Mapping[str, Any]) -> LimitingStep | None:
    """The last step that lowered the number of pilots, from the trace, else from APF's message.

    APF's message is the chain's steps joined by ``;``, each ``Rule:in=N,...,ret=M``: the
    limiting step is the last one whose ``ret`` is below its ``in``.
    """
    trace = decision.get("trace")
    if isinstance(trace, list) and trace:
        for step in reversed(trace):
            if isinstance(step, Mapping) and type(step.get("in")) is int and type(step.get("out")) is int \
                    and step["out"] < step["in"]:
                return LimitingStep(str(step.get("rule")), str(step.get("msg") or step.get("rule")))
        return None
    msg = decision.get("msg")
    for step in reversed(msg.split(";") if isinstance(msg, str) else []):
        rule, _, rest = step.partition(":")
        pairs = dict(part.partition("=")[::2] for part in rest.split(",") if "=" in part)
        before, after = _int(pairs.get("in")), _int(pairs.get("ret"))
        if before is not None and after is not None and after < before:
            return LimitingStep(rule.strip(), step.strip())
    return None


TYPE_COUNT_FIELDS = ("pending", "held", "running", "exiting")


@dataclass
class TypeRow:
    """One resource type of a queue's last cycle (``batch.types``, ``decision.types``,
    ``submission.types``; docs/resource-types.md). A field is None when the record lacks it."""

    name: str
    pending: int | None = None
    held: int | None = None
    running: int | None = None
    exiting: int | None = None
    decided: int | None = None
    submitted: int | None = None
    retired: int | None = None
    msg: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, **{key: getattr(self, key) for key in TYPE_COUNT_FIELDS},
                "decided": self.decided, "submitted": self.submitted, "retired": self.retired, "msg": self.msg}


def type_rows(record: Mapping[str, Any]) -> list[TypeRow]:
    """The record's resource types, by name, each with what its sections say of it."""
    sections = {}
    for name in ("batch", "decision", "submission"):
        section = record.get(name)
        types = section.get("types") if isinstance(section, Mapping) else None
        sections[name] = types if isinstance(types, Mapping) else {}
    if not any(sections.values()):
        return []
    batch_ok = isinstance(record.get("batch"), Mapping) and record["batch"].get("ok")
    rows = []
    for name in sorted({str(key) for types in sections.values() for key in types}):
        row = TypeRow(name)
        counts = sections["batch"].get(name)
        if batch_ok and isinstance(counts, Mapping):
            for key in TYPE_COUNT_FIELDS:
                setattr(row, key, _count(counts, key))
        decision = sections["decision"].get(name)
        if isinstance(decision, Mapping):
            row.decided = _count(decision, "pilots")
            row.msg = str(decision.get("msg") or "")
        submission = sections["submission"].get(name)
        if isinstance(submission, Mapping):
            row.submitted = _count(submission, "submitted")
            row.retired = _count(submission, "retired")
        rows.append(row)
    return rows


@dataclass
class Row:
    queue: str
    configured: bool
    enabled: bool
    interval: float
    cycle: str | None = None
    time: _dt.datetime | None = None         # when the last cycle ran
    age: float | None = None                 # seconds since then
    pending: int | None = None               # apfmon's "created"
    held: int | None = None
    running: int | None = None
    exiting: int | None = None
    done_1h: int | None = None
    fault_1h: int | None = None
    decided: int | None = None               # decision.pilots (negative: retire)
    submitted: int | None = None             # pilots submitted by the last cycle
    retired: int | None = None
    msg: str = ""                            # the decision message (APF's last msg)
    limited_by: LimitingStep | None = None   # the rule that last lowered the decision, if any
    credential: str | None = None            # the auth.conf profile the queue submits with
    credential_lifetime: float | None = None  # its seconds left at the last cycle
    errors: dict[str, str] = field(default_factory=dict)   # source (wms/batch/submission) -> error
    types: list[TypeRow] = field(default_factory=list)     # per resource type, for unified queues
    activity: list[int] = field(default_factory=lambda: [0] * ACTIVITY_BUCKETS)
    health: Health = "never"
    factory: str = "apfctl"
    vms: dict[str, int] | None = None        # an EC2 queue's VMs: pending (booting), idle, busy, retiring, gone

    @property
    def label(self) -> str:
        """apfmon's label id, ``factory:queue``: how a row is named when several factories are shown."""
        return f"{self.factory}:{self.queue}"

    @property
    def stale(self) -> bool:
        return self.age is not None and self.age > STALE_INTERVALS * self.interval

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 strings."""
        return {
            "factory": self.factory, "queue": self.queue, "configured": self.configured, "enabled": self.enabled,
            "health": self.health, "interval": self.interval, "cycle": self.cycle,
            "time": self.time.strftime("%Y-%m-%dT%H:%M:%SZ") if self.time else None,
            "age": None if self.age is None else round(self.age, 1), "stale": self.stale,
            **{name: getattr(self, name) for name in COUNT_FIELDS},
            "decided": self.decided, "submitted": self.submitted, "retired": self.retired,
            "msg": self.msg, "errors": dict(self.errors),
            "credential": self.credential, "credential_lifetime": self.credential_lifetime,
            "limited_by": None if self.limited_by is None else {"rule": self.limited_by.rule,
                                                                "step": self.limited_by.step},
            **({"vms": dict(self.vms)} if self.vms is not None else {}),
            "activity": {"window": ACTIVITY_WINDOW, "bucket": ACTIVITY_BUCKET, "submitted": list(self.activity)},
            "types": [row.as_dict() for row in self.types],
        }


@dataclass
class View:
    rows: list[Row]
    now: _dt.datetime
    factory: str = "apfctl"
    source: str = "ledger"                   # "ledger" or "live"
    several_factories: bool = False          # rows are then named factory:queue

    @property
    def has_cycles(self) -> bool:
        return any(row.cycle for row in self.rows)


def combine(views: Sequence[View]) -> View:
    """One view of several factories' views (``apfctl monitor --factory A --factory B``)."""
    if len(views) == 1:
        return views[0]
    return View([row for view in views for row in view.rows], min(view.now for view in views),
                ", ".join(view.factory for view in views), views[0].source, several_factories=True)


# --- reading records ------------------------------------------------------------------------
def record_time(record: Mapping[str, Any]) -> _dt.datetime | None:
    """When a record's cycle ran: the cycle id's timestamp, else its status sections' time."""
    cycle = record.get("cycle")
    if isinstance(cycle, str):
        when = cycle_time(cycle)
        if when is not None:
            return when
    for name in ("batch", "wms"):
        section = record.get(name)
        text = section.get("time") if isinstance(section, Mapping) else None
        if isinstance(text, str):
            try:
                return _dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.UTC)
            except ValueError:
                continue
    return None


def _count(section: Mapping[str, Any], key: str) -> int | None:
    value = section.get(key)
    return value if type(value) is int else None


def record_errors(record: Mapping[str, Any]) -> dict[str, str]:
    """Each source that failed in this record, with its error text."""
    errors: dict[str, str] = {}
    for name in ("wms", "batch"):
        section = record.get(name)
        if isinstance(section, Mapping) and section.get("ok") is False:
            errors[name] = str(section.get("error") or "failed")
    submission = record.get("submission")
    if isinstance(submission, Mapping) and submission.get("error"):
        errors["submission"] = str(submission["error"])
    return errors


def submitted(record: Mapping[str, Any]) -> int:
    submission = record.get("submission")
    if isinstance(submission, Mapping) and type(submission.get("submitted")) is int:
        return submission["submitted"]
    return 0


def activity(history: Iterable[Mapping[str, Any]], now: _dt.datetime) -> dict[str, list[int]]:
    """Pilots submitted per queue in ``ACTIVITY_BUCKETS`` buckets ending at ``now`` (oldest first)."""
    buckets: dict[str, list[int]] = {}
    last = {(record["queue"], record.get("cycle")): record for record in history}   # one per cycle
    for record in last.values():
        count = submitted(record)
        when = record_time(record)
        if not count or when is None:
            continue
        ago = (now - when).total_seconds()
        if not 0 <= ago < ACTIVITY_WINDOW:
            continue
        row = buckets.setdefault(record["queue"], [0] * ACTIVITY_BUCKETS)
        row[ACTIVITY_BUCKETS - 1 - int(ago // ACTIVITY_BUCKET)] += count
    return buckets


# --- building rows --------------------------------------------------------------------------
def _fill(row: Row, record: Mapping[str, Any], now: _dt.datetime) -> None:
    row.cycle = record.get("cycle")
    row.time = record_time(record) if row.cycle else None   # live counts alone are not a cycle
    row.age = max(0.0, (now - row.time).total_seconds()) if row.time else None
    batch = record.get("batch")
    if isinstance(batch, Mapping) and batch.get("ok"):
        for name in COUNT_FIELDS:
            setattr(row, name, _count(batch, name))
        credential = batch.get("credential")
        if isinstance(credential, Mapping):
            lifetime = credential.get("lifetime")
            row.credential = str(credential.get("profile") or "") or None
            row.credential_lifetime = float(lifetime) if type(lifetime) in (int, float) else None
        vms = batch.get("vms")
        if isinstance(vms, Mapping):
            row.vms = {name: _count(vms, name) or 0 for name in VM_FIELDS}
    decision = record.get("decision")
    if isinstance(decision, Mapping):
        row.decided = _count(decision, "pilots")
        row.msg = str(decision.get("msg") or "")
        row.limited_by = limiting_step(decision)
    submission = record.get("submission")
    if isinstance(submission, Mapping):
        row.submitted = _count(submission, "submitted")
        row.retired = _count(submission, "retired")
    row.errors = record_errors(record)
    row.types = type_rows(record)


def _health(row: Row) -> Health:
    if row.cycle is None:
        return "never"
    if row.errors:
        return "failing"
    if row.stale:
        return "stale"
    return "ok"


def build_view(
    queues: Sequence[QueueSpec],
    latest: Mapping[str, Mapping[str, Any]],
    history: Iterable[Mapping[str, Any]] = (),
    now: _dt.datetime | None = None,
    *,
    factory: str = "apfctl",
    source: str = "ledger",
) -> View:
    """Rows for every enabled queue in ``queues``, plus queues that only the records know.

    A disabled queue is shown only when it has a record. ``latest`` maps a queue to its
    last record; ``history`` holds the records of the last two hours (for the activity
    sparkline). A queue in ``latest`` that ``queues`` lacks is shown as not configured.
    """
    now = now or _dt.datetime.now(_dt.UTC)
    spark = activity(history, now)
    rows: dict[str, Row] = {}
    for spec in queues:
        if spec.enabled or spec.name in latest:
            rows[spec.name] = Row(spec.name, configured=True, enabled=spec.enabled, interval=spec.interval,
                                  factory=factory)
    for name in latest:
        if name not in rows:
            rows[name] = Row(name, configured=False, enabled=False, interval=DEFAULT_INTERVAL, factory=factory)
    for name, row in rows.items():
        record = latest.get(name)
        if record is not None:
            _fill(row, record, now)
        if name in spark:
            row.activity = spark[name]
        row.health = _health(row)
    return View(rows=list(rows.values()), now=now, factory=factory, source=source)


# --- filtering and sorting ------------------------------------------------------------------
def split_patterns(patterns: Iterable[str]) -> list[str]:
    """``--queue A --queue 'B*,C'`` -> ``["A", "B*", "C"]``."""
    return [part.strip() for pattern in patterns for part in pattern.split(",") if part.strip()]


def matches(name: str, patterns: Sequence[str], factory: str | None = None) -> bool:
    """Whether a queue matches any pattern, by its name or (with ``factory``) as ``factory:queue``."""
    if not patterns:
        return True
    names = (name,) if factory is None else (name, f"{factory}:{name}")
    return any(fnmatch.fnmatchcase(candidate, pattern) for pattern in patterns for candidate in names)


_SORT_ATTR = {"done": "done_1h", "fault": "fault_1h"}


def sort_rows(rows: Iterable[Row], key: str = "queue", reverse: bool = False) -> list[Row]:
    """Rows by ``key``: queue names A to Z, health worst first, every number largest first.

    Rows without a value (no cycle yet) go last either way; ties are broken by queue name.
    """
    if key not in SORT_KEYS:
        raise ValueError(f"unknown sort key {key!r} (one of {', '.join(SORT_KEYS)})")
    rows = sorted(rows, key=lambda row: (row.queue, row.factory))
    if key == "queue":
        return rows[::-1] if reverse else rows
    if key == "health":
        return sorted(rows, key=lambda row: _HEALTH_ORDER[row.health], reverse=reverse)

    attr = _SORT_ATTR.get(key, key)
    present = [row for row in rows if getattr(row, attr) is not None]
    missing = [row for row in rows if getattr(row, attr) is None]
    present.sort(key=lambda row: getattr(row, attr), reverse=not reverse)
    return present + missing
