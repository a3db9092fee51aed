"""The record contract: the validator and the shipped JSON Schema, both derived from sections.py.

Every field of every section is broken in turn; the validator must name exactly that
field and the JSON Schema must refuse the record too.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from typing import Any

import jsonschema
import pytest

from apfctl.errors import RecordError
from apfctl.record import Invalid, check, new_cycle_id, read_records
from apfctl.record.schema import SHIPPED, json_schema

GOOD: dict[str, Any] = {
    "apfctl": 1, "queue": "BNL_ATLAS_1", "cycle": "20261125T060000Z-3f2a",
    "wms": {"plugin": "Panda", "ok": True, "time": "2026-11-25T06:00:01Z", "queue": "BNL_ATLAS_1",
            "ready": 120, "notready": 3, "running": 40, "done": 0, "failed": 0, "status": "online", "error": None},
    "batch": {"plugin": "Condor", "ok": True, "time": "2026-11-25T06:00:01Z", "pending": 3, "held": 1,
              "running": 41, "exiting": 1, "done_1h": 12, "fault_1h": 2, "retiring": 0, "factory_total": 90,
              "submitted_total": 400,
              "recent": {"interval": 3600, "maxtime": 10, "total": 5, "short": 1},
              "held_reasons": [{"code": 13, "subcode": 2, "count": 1, "example": "proxy expired"}],
              "credential": {"profile": "atlas", "kind": "x509", "lifetime": 86000.0, "error": None},
              "error": None},
    "decision": {"pilots": 9, "msg": "Ready:in=0,activated=120,offset=0,pending=3,ret=117",
                 "trace": [{"rule": "Ready", "in": 0, "out": 117, "msg": "Ready:...", "error": False}]},
    "submission": {"plugin": "CondorOSGCE", "requested": 9, "submitted": 9, "retired": 0,
                   "ids": ["1234.0"], "dry_run": False, "description": None, "skipped": None, "error": None},
    "something_new": {"kept": True},
}


def mutate(path: str, value: object) -> dict[str, Any]:
    record = copy.deepcopy(GOOD)
    *parents, last = path.replace("[", ".[").split(".")
    target: Any = record
    for key in parents:
        target = target[int(key[1:-1])] if key.startswith("[") else target[key]
    last_key: Any = int(last[1:-1]) if last.startswith("[") else last
    if value is KeyError:
        del target[last_key]
    else:
        target[last_key] = value
    return record


def leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """(path, value) of every scalar of GOOD, in the validator's path notation."""
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in leaves(item, f"{path}.{key}" if path else key)]
    if isinstance(value, list):
        return [leaf for i, item in enumerate(value) for leaf in leaves(item, f"{path}[{i}]")]
    return [(path, value)]


def wrong_value(value: Any) -> Any:
    """A value of another JSON type than ``value`` (and not null: some fields may be null)."""
    return [] if value is None or isinstance(value, str) else "text"


DEFINED = [(path, value) for path, value in leaves(GOOD) if not path.startswith("something_new")]


def assert_rejected_at(record: dict[str, Any], path: str) -> Invalid:
    with pytest.raises(Invalid) as caught:
        check(record)
    assert caught.value.path == path
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(record, json_schema())
    return caught.value


@pytest.mark.parametrize(("path", "value"), DEFINED, ids=[p for p, _ in DEFINED])
def test_every_field_of_wrong_type_is_named(path: str, value: Any) -> None:
    bad = wrong_value(value)
    error = assert_rejected_at(mutate(path, bad), path)
    assert json.dumps(bad) in str(error)


REQUIRED = ["apfctl", "queue", "cycle", "wms.plugin", "wms.ok", "wms.ready", "wms.failed", "batch.plugin",
            "batch.ok", "batch.pending", "batch.held", "batch.exiting", "batch.fault_1h", "batch.recent.interval",
            "batch.recent.short", "batch.held_reasons[0].count", "decision.pilots", "decision.msg", "decision.trace",
            "decision.trace[0].rule", "decision.trace[0].in", "decision.trace[0].out", "decision.trace[0].msg",
            "submission.plugin", "submission.requested", "submission.submitted", "submission.retired",
            "submission.ids", "submission.dry_run", "submission.error"]


@pytest.mark.parametrize("path", REQUIRED)
def test_every_required_field_missing_is_named(path: str) -> None:
    error = assert_rejected_at(mutate(path, KeyError), path)
    assert "missing" in str(error)


OUT_OF_RANGE = [
    ("wms.ready", -1), ("wms.ready", 10**9 + 1), ("batch.pending", 2**40), ("batch.done_1h", -3),
    ("batch.factory_total", -1), ("batch.submitted_total", 10**10), ("batch.recent.interval", 0),
    ("batch.recent.maxtime", -1.5), ("batch.credential.lifetime", 1e11),
    ("decision.pilots", 10**6 + 1), ("decision.pilots", -(10**6) - 1), ("decision.trace[0].out", 2**60),
    ("submission.requested", 10**7), ("submission.submitted", -1), ("batch.held_reasons[0].count", -1),
]


@pytest.mark.parametrize(("path", "value"), OUT_OF_RANGE)
def test_numbers_outside_their_documented_range_are_named(path: str, value: Any) -> None:
    error = assert_rejected_at(mutate(path, value), path)
    assert "must be" in str(error) and ".." in str(error) and json.dumps(value) in str(error)


@pytest.mark.parametrize(("path", "value"), [
    ("wms.time", "yesterday"), ("batch.time", "2026-11-25 06:00:01"), ("batch.time", "2026-13-25T06:00:01Z"),
    ("cycle", "x\ntouch /tmp/pwned"), ("cycle", "$(Cluster)"), ("cycle", ""), ("cycle", "a" * 65), ("queue", ""),
    ("wms.ready", True), ("wms.ready", 1.5), ("batch.fault_1h", True), ("wms.ok", "yes"), ("wms.error", "x"),
    ("decision.trace[0]", "Ready"), ("decision.trace[0].error", 1), ("submission.ids[0]", 1234),
    ("submission.dry_run", 0), ("batch.held_reasons[0]", 13),
])
def test_values_of_the_right_type_but_wrong_form_are_named(path: str, value: Any) -> None:
    assert_rejected_at(mutate(path, value), path)


def test_a_failed_source_must_say_why() -> None:
    assert_rejected_at(mutate("wms", {"plugin": "Panda", "ok": False}), "wms.error")
    assert_rejected_at(mutate("batch", {"plugin": "Condor", "ok": False, "error": None}), "batch.error")


def test_an_unknown_schema_version_is_refused_with_both_versions() -> None:
    with pytest.raises(Invalid) as caught:
        check(mutate("apfctl", 2))
    assert caught.value.path == "apfctl"
    assert "schema version 2" in str(caught.value) and "version 1" in str(caught.value)


@pytest.mark.parametrize("record", [
    mutate("wms", {"plugin": "Panda", "ok": False, "error": "connection refused"}),
    mutate("batch", {"plugin": "Condor", "ok": False, "time": "2026-11-25T06:00:01Z", "error": "unreachable"}),
    mutate("decision.pilots", -4), mutate("wms.plugin", None), mutate("batch.credential.lifetime", None),
    {"apfctl": 1, "queue": "Q", "cycle": "c"}, GOOD,
], ids=["wms-failed", "batch-failed", "retire", "no-wms-plugin", "lifetime-unknown", "envelope-only", "full"])
def test_good_records_pass_both(record: dict[str, Any]) -> None:
    jsonschema.validate(record, json_schema())
    check(record)


def test_shipped_schema_is_the_one_written_from_the_definitions() -> None:
    assert json.loads(SHIPPED.read_text()) == json_schema()   # regenerate: python -m apfctl.record.schema
    jsonschema.Draft202012Validator.check_schema(json_schema())


def test_reader_names_line_field_and_value() -> None:
    text = json.dumps(GOOD) + "\n\n" + json.dumps(mutate("batch.pending", "3")) + "\n"
    records = read_records(io.BytesIO(text.encode()), "in.jsonl")
    assert next(records)[0] == 1
    with pytest.raises(RecordError) as caught:
        next(records)
    assert str(caught.value) == ('in.jsonl:3: must be an integer 0..1,000,000,000, got "3" (field batch.pending)')


def test_a_long_offending_value_is_cut() -> None:
    with pytest.raises(Invalid) as caught:
        check(mutate("wms.ready", "x" * 5000))
    assert len(str(caught.value)) < 200 and str(caught.value).endswith('..."') is False
    assert "..." in str(caught.value)


def test_reader_rejects_malformed_json_with_line_and_column() -> None:
    with pytest.raises(RecordError) as caught:
        list(read_records(io.BytesIO(json.dumps(GOOD).encode() + b"\n{\"apfctl\": 1, x}\n")))
    assert str(caught.value).startswith("<stdin>:2: malformed JSON: unexpected character")
    assert "at column 15" in str(caught.value)


def test_a_truncated_line_is_said_to_be_truncated() -> None:
    with pytest.raises(RecordError) as caught:
        list(read_records(io.BytesIO(b'{"apfctl": 1, "queue": "Q"\n')))
    message = str(caught.value)
    assert message.startswith("<stdin>:1: malformed JSON: the line ends before the JSON does")
    assert "column 1" not in message and "after 26 characters" in message


def test_binary_input_is_said_to_be_not_utf8() -> None:
    with pytest.raises(RecordError) as caught:
        list(read_records(io.BytesIO(b'{"apfctl": 1, "queue": "Q\xff"}\n')))
    assert str(caught.value) == "<stdin>:1: not UTF-8 text: byte 0xff at byte 26 of the line"
    assert "surrogates" not in str(caught.value)


def test_reader_requires_sections_and_says_which_stage_writes_them() -> None:
    with pytest.raises(RecordError) as caught:
        list(read_records(io.BytesIO(json.dumps({"apfctl": 1, "queue": "Q", "cycle": "c"}).encode()),
                          require=("decision",)))
    assert "(field decision)" in str(caught.value) and "apfctl decide" in str(caught.value)


def test_unknown_fields_are_kept() -> None:
    ((_, record),) = list(read_records(io.BytesIO(json.dumps(GOOD).encode())))
    assert record["something_new"] == {"kept": True}


def test_cycle_ids_sort_in_time_order_and_are_distinct() -> None:
    start = dt.datetime(2026, 11, 25, 6, 0, 0, tzinfo=dt.UTC)
    times = [start + dt.timedelta(seconds=s) for s in (0, 1, 59, 60, 3600, 86400, 86400 * 40, 86400 * 400)]
    ids = [new_cycle_id(when) for when in reversed(times)]
    assert sorted(ids) == [new_id for new_id in reversed(ids)]   # later times sort later
    assert len({new_cycle_id(start) for _ in range(50)}) > 40    # the random tail keeps one second's ids apart
