"""The record that flows between stages (schema version 1), read and written as JSON Lines.

The published contract is ``apfctl/schema/record-v1.json``. Readers here check only the
fields the reading stage uses, by hand, because decide has a throughput budget; the tests
keep this lean check in agreement with the JSON Schema. Unknown fields are kept. orjson
reads and writes the lines: the standard library's json alone cost more than the budget of
decide (50,000 records/s) allows for the whole record.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

import orjson

from apfctl.errors import RecordError

SCHEMA_VERSION = 1
SECTIONS = ("wms", "batch", "decision", "submission")
WMS_COUNTS = ("ready", "notready", "running", "done", "failed")
BATCH_COUNTS = ("pending", "held", "running", "exiting", "done_1h", "fault_1h")
SUBMISSION_FIELDS = ("plugin", "requested", "submitted", "retired", "ids", "dry_run", "error")

Record = dict[str, Any]


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def isotime(when: _dt.datetime | None = None) -> str:
    """``2026-11-25T06:00:01Z``."""
    return (when or utcnow()).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_isotime(text: str) -> _dt.datetime:
    return _dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.UTC)


def new_cycle_id(when: _dt.datetime | None = None) -> str:
    """One invocation's id, ``20261125T060000Z-3f2a``: sortable, and unique in practice."""
    return f"{(when or utcnow()):%Y%m%dT%H%M%SZ}-{os.urandom(2).hex()}"


@functools.lru_cache(maxsize=4096)
def cycle_time(cycle: str) -> _dt.datetime | None:
    """When a cycle id ``20261125T060000Z-3f2a`` was made (None for ids of another form).

    Parsed by hand and cached: strptime is slow, and every queue of a cycle shares one id.
    """
    stamp = cycle[:16]
    if len(stamp) < 16 or stamp[8] != "T" or stamp[15] != "Z" or not (stamp[:8] + stamp[9:15]).isdigit():
        return None
    try:
        return _dt.datetime(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8]), int(stamp[9:11]), int(stamp[11:13]),
                            int(stamp[13:15]), tzinfo=_dt.UTC)
    except ValueError:
        return None


def new_record(queue: str, cycle: str) -> Record:
    return {"apfctl": SCHEMA_VERSION, "queue": queue, "cycle": cycle}


# --- the lean validator ----------------------------------------------------------------
# A cycle id goes into submit descriptions, batch scripts and job names: nothing else is let in.
_CYCLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}").fullmatch

def _fail(message: str, field: str) -> None:
    raise ValueError(f"{field}\x00{message}")


def _check_header(record: Any) -> None:
    if type(record) is not dict:
        _fail("a record must be a JSON object", "record")
    if record.get("apfctl") != SCHEMA_VERSION:
        _fail(f"unsupported schema version {record.get('apfctl')!r} (expected {SCHEMA_VERSION})", "apfctl")
    queue = record.get("queue")
    if not isinstance(queue, str) or not queue:
        _fail("missing or empty queue name", "queue")
    cycle = record.get("cycle")
    if type(cycle) is not str or not _CYCLE(cycle):
        _fail("missing, or not a cycle id (letters, digits and _ . : - only, at most 64)", "cycle")


MAX_COUNT = 10**9
MAX_PILOTS = 10**6
MAX_CORES = 1024
MAX_MEMORY_MB = 16 * 1024 * 1024
_TYPE_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,31}").fullmatch
WMS_TYPE_COUNTS = WMS_COUNTS
BATCH_TYPE_COUNTS = ("pending", "held", "running", "exiting")


def _check_status(section: Any, name: str, counts: tuple[str, ...]) -> None:
    if not isinstance(section, dict):
        _fail("must be an object", name)
    ok = section.get("ok")
    if type(ok) is not bool:
        _fail("must be true or false", f"{name}.ok")
    if ok:
        get = section.get
        for key in counts:
            value = get(key)
            if type(value) is not int or value < 0:
                _fail("must be a non-negative integer", f"{name}.{key}")
        if "types" in section:
            _check_type_counts(section["types"], f"{name}.types",
                               WMS_TYPE_COUNTS if name == "wms" else BATCH_TYPE_COUNTS)
    elif not isinstance(section.get("error"), str):
        _fail("a failed source must say why (a string)", f"{name}.error")


def _check_types(types: Any, field: str) -> None:
    if type(types) is not dict:
        _fail("must be an object keyed by resource type", field)
    for name in types:
        if not _TYPE_NAME(name):
            _fail("is not a resource type name (upper-case letters, digits, _)", f"{field}.{name[:40]}")


def _check_type_counts(types: Any, field: str, counts: tuple[str, ...]) -> None:
    """Per-type counts: each type an object of counts in 0..10^9 (docs/resource-types.md)."""
    _check_types(types, field)
    for name, section in types.items():
        if type(section) is not dict:
            _fail("must be an object of counts", f"{field}.{name}")
        get = section.get
        for key in counts:
            value = get(key)
            if type(value) is not int or value < 0 or value > MAX_COUNT:
                _fail(f"must be an integer between 0 and {MAX_COUNT}", f"{field}.{name}.{key}")


def _check_decision_types(types: Any, total: int) -> None:
    _check_types(types, "decision.types")
    pilots = 0
    for name, section in types.items():
        where = f"decision.types.{name}"
        if type(section) is not dict:
            _fail("must be an object", where)
        n = section.get("pilots")
        if type(n) is not int or not -MAX_PILOTS <= n <= MAX_PILOTS:
            _fail(f"must be an integer between -{MAX_PILOTS} and {MAX_PILOTS}", f"{where}.pilots")
        pilots += n
        if not isinstance(section.get("msg"), str):
            _fail("must be a string", f"{where}.msg")
        cores = section.get("cores")
        if type(cores) is not int or not 1 <= cores <= MAX_CORES:
            _fail(f"must be an integer between 1 and {MAX_CORES}", f"{where}.cores")
        memory = section.get("memory")
        if memory is not None and (type(memory) is not int or not 1 <= memory <= MAX_MEMORY_MB):
            _fail(f"must be null or an integer between 1 and {MAX_MEMORY_MB}", f"{where}.memory")
    if pilots != total:
        _fail(f"the types' pilots add up to {pilots}, not {total}", "decision.pilots")


def _check_decision(section: Any) -> None:
    if not isinstance(section, dict):
        _fail("must be an object", "decision")
    if type(section.get("pilots")) is not int:
        _fail("must be an integer", "decision.pilots")
    if not isinstance(section.get("msg"), str):
        _fail("must be a string", "decision.msg")
    if not isinstance(section.get("trace"), list):
        _fail("must be a list", "decision.trace")
    if "types" in section:
        _check_decision_types(section["types"], section["pilots"])


def _check_submission(section: Any, field: str = "submission") -> None:
    if not isinstance(section, dict):
        _fail("must be an object", field)
    for key in SUBMISSION_FIELDS:
        if key not in section:
            _fail("missing", f"{field}.{key}")
    for key in ("requested", "submitted", "retired"):
        if type(section[key]) is not int:
            _fail("must be an integer", f"{field}.{key}")
    if not isinstance(section["ids"], list):
        _fail("must be a list", f"{field}.ids")
    if "types" in section and field == "submission":
        _check_types(section["types"], "submission.types")
        for name, typed in section["types"].items():
            _check_submission(typed, f"submission.types.{name}")


def check(record: Any, require: Iterable[str] = ()) -> None:
    """Check the header and the sections present; ``require`` lists sections that must be.

    Raises ValueError("<field>\\x00<message>"); :func:`read_records` turns it into a
    RecordError with the line number.
    """
    _check_header(record)
    for name in require:
        if name not in record:
            _fail("missing (run the stage before this one)", name)
    if "wms" in record:
        _check_status(record["wms"], "wms", WMS_COUNTS)
    if "batch" in record:
        _check_status(record["batch"], "batch", BATCH_COUNTS)
    if "decision" in record:
        _check_decision(record["decision"])
    if "submission" in record:
        _check_submission(record["submission"])


# --- JSON Lines ------------------------------------------------------------------------
def read_records(stream: IO[str] | IO[bytes], source: str = "<stdin>",
                 require: Iterable[str] = ()) -> Iterator[tuple[int, Record]]:
    """(line number, record) for each non-blank line; RecordError on the first bad one.

    Binary streams are read without decoding (orjson parses UTF-8 bytes directly).
    """
    needed = tuple(require)
    loads = orjson.loads
    for number, line in enumerate(stream, 1):
        try:
            record = loads(line)
        except json.JSONDecodeError as exc:
            if not line.strip():  # blank lines are allowed; testing here keeps them off the hot path
                continue
            raise RecordError(f"malformed JSON: {exc.msg} at column {exc.colno}", source=source, line=number) from None
        try:
            check(record, needed)
        except ValueError as exc:
            field, _, message = str(exc).partition("\x00")
            raise RecordError(message, source=source, line=number, field=field) from None
        yield number, record


def dumps(record: Any) -> str:
    """One compact JSON line (UTF-8 kept as is)."""
    return orjson.dumps(record).decode()


def dumps_line(record: Mapping[str, Any]) -> bytes:
    """One JSON line as UTF-8 bytes, newline included: for binary streams (no decode, no re-encode)."""
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)


def write_record(stream: IO[str], record: Mapping[str, Any]) -> None:
    """One JSON line, newline included."""
    stream.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE).decode())
