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


def test_malformed_json_line(tmp_path: Path) -> None:
    config = factory(tmp_path, QUEUES)
    good = json.dumps(RECORD)
    result = run(["submit"], config=config, state=tmp_path / "s", stdin=f"{good}\n{{broken\n")
    assert result.returncode == 2
    assert "<stdin>:2: malformed JSON" in one_error_line(result.stderr)
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
    assert result.returncode != 0 and "Traceback" in result.stderr
