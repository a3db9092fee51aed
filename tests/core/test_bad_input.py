"""Bad input: one clear line on stderr, exit 2, nothing submitted, no ledger data lost."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.core.core_helpers import factory, run

QUEUES = """
    [DEFAULT]
    enabled = True
    wmsstatusplugin = None
    batchstatusplugin = Local
    batchsubmitplugin = Local
    schedplugin = Fixed
    sched.fixed.pilotspercycle = 1
    executable = /bin/true

    [Q1]
    """
RECORD = {"apfctl": 1, "queue": "Q1", "cycle": "20261125T060000Z-0001",
          "decision": {"pilots": 1, "msg": "Fixed:in=0,ret=1", "trace": []}}


def nothing_submitted(state: Path) -> bool:
    return not (state / "local").exists() or not list((state / "local").rglob("*.json"))


def one_error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("apfctl: error:")]
    assert len(errors) == 1, stderr
    assert "Traceback" not in stderr
    return errors[0]


STATUS = {"apfctl": 1, "queue": "Q1", "cycle": "20261125T060000Z-0001",
          "wms": {"plugin": None, "ok": True, "time": "2026-11-25T06:00:01Z", "queue": None, "ready": 0,
                  "notready": 0, "running": 0, "done": 0, "failed": 0, "status": None, "error": None},
          "batch": {"plugin": "Local", "ok": True, "time": "2026-11-25T06:00:01Z", "pending": 0, "held": 0,
                    "running": 0, "exiting": 0, "done_1h": 0, "fault_1h": 0, "error": None}}
DECIDED = dict(STATUS, decision={"pilots": 1, "msg": "Fixed:in=0,ret=1",
                                 "trace": [{"rule": "Fixed", "in": 0, "out": 1, "msg": "Fixed:in=0,ret=1"}]})


def changed(record: dict, path: str, value: object) -> bytes:
    """The record as a JSON line, with the field at ``path`` (dotted, [i] for list items) set to ``value``."""
    record = json.loads(json.dumps(record))
    *parents, last = path.split(".")
    target = record
    for key in parents:
        name, _, index = key.partition("[")
        target = target[name] if not index else target[name][int(index[:-1])]
    target[last] = value
    return json.dumps(record).encode() + b"\n"


# (the third line of the input, the error said for it): one case per kind of bad line
BAD_LINES = [
    (b'{"apfctl": 1, "queue": "Q1", "cycle": "20261125T06\n',
     'in.jsonl:3: malformed JSON: the line ends before the JSON does (truncated after 50 characters: '
     '... 1, "queue": "Q1", "cycle": "20261125T06)'),
    (b'{"apfctl": 1, queue: "Q1"}\n',
     'in.jsonl:3: malformed JSON: unexpected character, expected a string key at column 15 (near '
     '{"apfctl": 1, queue: "Q1"})'),
    (b'\x89PNG\r\n\x1a\n\x00\x00\n', "in.jsonl:3: not UTF-8 text: byte 0x89 at byte 1 of the line"),
    (b'[1, 2]\n', "in.jsonl:3: must be a JSON object, got [1,2] (field record)"),
    (changed(STATUS, "apfctl", 2), "in.jsonl:3: must be 1: a record of schema version 2, which this apfctl does "
     "not read (it reads version 1 only), got 2 (field apfctl)"),
    (changed(STATUS, "batch.time", "yesterday"),
     'in.jsonl:3: must be an ISO time like 2026-11-25T06:00:01Z, got "yesterday" (field batch.time)'),
    (changed(STATUS, "batch.pending", 10**12),
     "in.jsonl:3: must be an integer 0..1,000,000,000, got 1000000000000 (field batch.pending)"),
    (changed(STATUS, "wms.ready", "x" * 500),
     'in.jsonl:3: must be an integer 0..1,000,000,000, got "' + "x" * 56 + '... (field wms.ready)'),
    (changed(DECIDED, "decision.trace", ["Fixed"]), 'in.jsonl:3: must be an object, got "Fixed" '
     "(field decision.trace[0])"),
    (changed(DECIDED, "decision.trace[0].out", "1"),
     'in.jsonl:3: must be an integer -9,007,199,254,740,992..9,007,199,254,740,992, got "1" '
     "(field decision.trace[0].out)"),
    (changed(DECIDED, "decision.pilots", 5_000_000),
     "in.jsonl:3: must be an integer -1,000,000..1,000,000, got 5000000 (field decision.pilots)"),
    (changed(STATUS, "cycle", "$(rm -rf /)"), 'in.jsonl:3: must be a cycle id (letters, digits and _ . : - only, '
     'at most 64), got "$(rm -rf /)" (field cycle)'),
]


@pytest.mark.parametrize(("stage", "good"), [("decide", STATUS), ("submit", DECIDED)])
@pytest.mark.parametrize(("line", "expected"), BAD_LINES, ids=[e.split(": ", 1)[1][:40] for _, e in BAD_LINES])
def test_a_bad_line_stops_the_stage_before_anything_is_written(tmp_path: Path, stage: str, good: dict, line: bytes,
                                                                expected: str) -> None:
    config = factory(tmp_path, QUEUES)
    first = json.dumps(good).encode() + b"\n"
    (tmp_path / "in.jsonl").write_bytes(first + b"\n" + line + first)
    result = run([stage, str(tmp_path / "in.jsonl")], config=config, state=tmp_path / "s")
    assert result.returncode == 2
    assert one_error_line(result.stderr) == f"apfctl: error: {tmp_path}/{expected}"
    assert result.stdout == ""                    # not even the good first line
    assert nothing_submitted(tmp_path / "s")


def test_a_good_input_is_decided_and_submitted(tmp_path: Path) -> None:
    """The counterpart of the bad lines above: the same good lines pass both stages."""
    config = factory(tmp_path, QUEUES)
    (tmp_path / "in.jsonl").write_text(json.dumps(STATUS) + "\n")
    decided = run(["decide", str(tmp_path / "in.jsonl")], config=config, state=tmp_path / "s")
    assert decided.returncode == 0, decided.stderr
    assert json.loads(decided.stdout)["decision"]["pilots"] == 1
    submitted = run(["submit"], config=config, state=tmp_path / "s", stdin=decided.stdout)
    assert submitted.returncode == 0, submitted.stderr
    assert json.loads(submitted.stdout)["submission"]["submitted"] == 1


def test_malformed_json_line(tmp_path: Path) -> None:
    config = factory(tmp_path, QUEUES)
    good = json.dumps(RECORD)
    result = run(["submit"], config=config, state=tmp_path / "s", stdin=f"{good}\n{{broken\n")
    assert result.returncode == 2
    assert one_error_line(result.stderr) == ("apfctl: error: <stdin>:2: malformed JSON: unexpected character, "
                                             "expected a string key at column 2 (near {broken)")
    assert nothing_submitted(tmp_path / "s")  # the good first line was not submitted either


def test_record_for_unknown_queue(tmp_path: Path) -> None:
    config = factory(tmp_path, QUEUES)
    record = dict(RECORD, queue="ELSEWHERE")
    for stage in ("decide", "submit"):
        result = run([stage], config=config, state=tmp_path / "s", stdin=json.dumps(record))
        assert result.returncode == 2
        assert "'ELSEWHERE' is not in the configuration" in one_error_line(result.stderr)
    assert nothing_submitted(tmp_path / "s")


def test_missing_config_file(tmp_path: Path) -> None:
    result = run(["cycle", "--all", "--config", str(tmp_path / "nope.conf")], config=None, state=tmp_path / "s")
    assert result.returncode == 2
    assert "nope.conf: config file not found" in one_error_line(result.stderr)


def test_syntax_error_in_queues_file(tmp_path: Path) -> None:
    config = factory(tmp_path, QUEUES + "\n    garbage without equals\n")
    result = run(["cycle", "--all"], config=config, state=tmp_path / "s")
    assert result.returncode == 2
    assert "queues.conf:12: cannot parse line 'garbage without equals'" in one_error_line(result.stderr)
    assert nothing_submitted(tmp_path / "s")


@pytest.mark.parametrize(("line", "expected"), [
    ("sched.fixed.pilotspercycle = lots", "[Q1] sched.fixed.pilotspercycle = 'lots': not an integer"),
    ("schedplugin = Fixd", "[Q1] schedplugin = 'Fixd': unknown sched plugin 'Fixd'; did you mean Fixed?"),
    ("batchsubmitplugin = Nowhere", "[Q1] batchsubmitplugin = 'Nowhere': unknown batchsubmit plugin"),
])
def test_bad_values_for_the_queue_asked_for(tmp_path: Path, line: str, expected: str) -> None:
    config = factory(tmp_path, QUEUES + f"    {line}\n")
    result = run(["cycle", "-q", "Q1"], config=config, state=tmp_path / "s")
    assert result.returncode == 2
    message = one_error_line(result.stderr)
    assert expected in message and "queues.conf:11" in message
    assert nothing_submitted(tmp_path / "s")


def test_with_all_a_broken_queue_is_skipped_and_the_others_go_on(tmp_path: Path) -> None:
    config = factory(tmp_path, QUEUES + "    [BROKEN]\n    sched.fixed.pilotspercycle = lots\n")
    result = run(["cycle", "--all"], config=config, state=tmp_path / "s")
    assert result.returncode == 1
    assert "[BROKEN] sched.fixed.pilotspercycle = 'lots'" in result.stderr
    assert [json.loads(line)["queue"] for line in result.stdout.splitlines()] == ["Q1"]


def test_corrupt_ledger_is_reported_and_left_untouched(tmp_path: Path) -> None:
    config = factory(tmp_path, QUEUES)
    state = tmp_path / "s"
    state.mkdir()
    garbage = b"this is not a database" * 100
    (state / "ledger.sqlite").write_bytes(garbage)
    result = run(["cycle", "--all"], config=config, state=state)
    assert result.returncode == 2
    assert "is corrupt" in one_error_line(result.stderr)
    assert (state / "ledger.sqlite").read_bytes() == garbage
    assert nothing_submitted(state)


def test_locked_ledger_is_reported(tmp_path: Path) -> None:
    config = factory(tmp_path, QUEUES, extra="ledger.timeout = 0.2")
    state = tmp_path / "s"
    assert run(["cycle", "--all"], config=config, state=state).returncode == 0
    holder = sqlite3.connect(state / "ledger.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = run(["submit"], config=config, state=state, stdin=json.dumps(dict(RECORD, cycle="other")))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 2
    assert "is locked by another process" in one_error_line(result.stderr)
    rows = sqlite3.connect(state / "ledger.sqlite").execute("SELECT COUNT(*) FROM records").fetchone()[0]
    assert rows == 1


def test_usage_error_exits_2(tmp_path: Path) -> None:
    result = run(["status"], config=factory(tmp_path, QUEUES), state=tmp_path / "s")
    assert result.returncode == 2
    assert "give --queue Q" in result.stderr


def test_debug_shows_a_traceback(tmp_path: Path) -> None:
    result = run(["cycle", "--all", "--debug", "--config", str(tmp_path / "nope.conf")], config=None,
                 state=tmp_path / "s")
    assert result.returncode == 1   # the interpreter's code for an uncaught exception: the traceback is the point
    assert result.stderr.rstrip().splitlines()[-1] == (
        f"apfctl.errors.ConfigError: {tmp_path / 'nope.conf'}: config file not found")
