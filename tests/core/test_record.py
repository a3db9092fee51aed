"""The record: the lean reader agrees with the published JSON Schema, and errors name line and field."""

from __future__ import annotations

import copy
import io
import json
from importlib import resources

import jsonschema
import pytest

from apfctl.errors import RecordError
from apfctl.record import check, new_cycle_id, read_records

GOOD = {
    "apfctl": 1, "queue": "BNL_ATLAS_1", "cycle": "20261125T060000Z-3f2a",
    "wms": {"plugin": "Panda", "ok": True, "time": "2026-11-25T06:00:01Z", "queue": "BNL_ATLAS_1",
            "ready": 120, "notready": 3, "running": 40, "done": 0, "failed": 0, "status": "online", "error": None},
    "batch": {"plugin": "Condor", "ok": True, "time": "2026-11-25T06:00:01Z", "pending": 3, "held": 1,
              "running": 41, "exiting": 1, "done_1h": 12, "fault_1h": 2, "error": None},
    "decision": {"pilots": 9, "msg": "Ready:in=0,activated=120,offset=0,pending=3,ret=117",
                 "trace": [{"rule": "Ready", "in": 0, "out": 117, "msg": "Ready:..."}]},
    "submission": {"plugin": "CondorOSGCE", "requested": 9, "submitted": 9, "retired": 0,
                   "ids": ["1234.0"], "dry_run": False, "error": None},
    "something_new": {"kept": True},
}


def schema() -> dict:
    return json.loads(resources.files("apfctl").joinpath("schema/record-v1.json").read_text())


def mutate(path: str, value: object) -> dict:
    record = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    target = record
    for key in parents:
        target = target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return record


BAD = [
    ("apfctl", 2), ("apfctl", KeyError), ("queue", ""), ("queue", 5), ("cycle", KeyError),
    ("cycle", "x\ntouch /tmp/pwned"), ("cycle", "$(Cluster)"), ("cycle", ""),
    ("wms.ok", "yes"), ("wms.ready", -1), ("wms.ready", "120"), ("wms.ready", 1.5), ("wms.ready", KeyError),
    ("batch.pending", None), ("batch.ok", KeyError), ("batch.fault_1h", True),
    ("decision.pilots", "9"), ("decision.msg", KeyError), ("decision.trace", {}),
    ("submission.ids", "1234.0"), ("submission.submitted", KeyError), ("submission.dry_run", KeyError),
]
GOOD_VARIANTS = [
    mutate("wms", {"plugin": "Panda", "ok": False, "error": "connection refused"}),
    mutate("batch", {"plugin": "Condor", "ok": False, "error": "schedd unreachable"}),
    mutate("decision.pilots", -4),
    {"apfctl": 1, "queue": "Q", "cycle": "c"},
    GOOD,
]


@pytest.mark.parametrize(("path", "value"), BAD)
def test_lean_check_and_schema_both_reject(path: str, value: object) -> None:
    record = mutate(path, value)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(record, schema())
    with pytest.raises(ValueError) as caught:
        check(record)
    field = str(caught.value).split("\x00")[0]
    assert path.startswith(field) or field.startswith(path.split(".")[0])


@pytest.mark.parametrize("record", GOOD_VARIANTS)
def test_lean_check_and_schema_both_accept(record: dict) -> None:
    jsonschema.validate(record, schema())
    check(record)


def test_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())


def test_reader_names_line_and_field() -> None:
    text = json.dumps(GOOD) + "\n\n" + json.dumps(mutate("batch.pending", "3")) + "\n"
    records = read_records(io.StringIO(text), "in.jsonl")
    assert next(records)[0] == 1
    with pytest.raises(RecordError, match=r"in\.jsonl:3: .*field batch\.pending"):
        next(records)


def test_reader_rejects_malformed_json_with_line() -> None:
    with pytest.raises(RecordError, match=r"<stdin>:2: malformed JSON"):
        list(read_records(io.StringIO(json.dumps(GOOD) + "\n{not json\n")))


def test_reader_requires_sections() -> None:
    with pytest.raises(RecordError, match="field decision"):
        list(read_records(io.StringIO(json.dumps({"apfctl": 1, "queue": "Q", "cycle": "c"})),
                          require=("decision",)))


def test_unknown_fields_are_kept() -> None:
    ((_, record),) = list(read_records(io.StringIO(json.dumps(GOOD))))
    assert record["something_new"] == {"kept": True}


def test_cycle_ids_are_sortable_and_distinct() -> None:
    ids = {new_cycle_id() for _ in range(50)}
    assert len(ids) > 40
    assert all(len(i.split("-")[0]) == 16 and i[8] == "T" for i in ids)
