"""Failures heard on stderr in every output format; runs that do nothing say why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reliability.reliability_helpers import Factory, no_traceback


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_one_stderr_line_per_failing_queue_in_every_format(tmp_path: Path, fmt: str) -> None:
    factory = Factory(tmp_path, {"RQ_A": {"wmsstatus.file.path": str(tmp_path / "missing.json")}, "RQ_B": {}})
    result = factory.run("cycle", "--all", "--format", fmt)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("apfctl: error: queue ")]
    assert lines == [f"apfctl: error: queue RQ_A: status: wms status failed (File WMS: {tmp_path}/missing.json: "
                     "no such file)"]
    status = factory.run("status", "--all", "--format", fmt)
    assert status.stderr.count("apfctl: error: queue RQ_A: status:") == 1


def test_a_failed_submission_is_said_on_stderr(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": {"batchsubmit.slurm.partition": "nosuch"}})
    result = factory.run("cycle", "--all", "--format", "json")
    assert result.returncode == 1
    assert "apfctl: error: queue RQ_A: submit: sbatch failed" in result.stderr


def test_each_config_error_is_said_once(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": {"slurm.bindir": "/nonexistent", "slurm.timeout": "0"}})
    check = factory.run("config", "check")
    assert check.returncode == 2
    assert check.stderr.count("/nonexistent is not a folder") == 1
    cycle = factory.run("cycle", "--all")
    assert cycle.stderr.count("/nonexistent is not a folder") == 1


def test_no_queues_says_why(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": {"enabled": "False"}})
    assert "no queue is enabled" in factory.run("cycle", "--all").stderr
    factory = Factory(tmp_path / "bad", {"RQ_A": {"slurm.timeout": "0"}})
    assert "every selected queue has configuration errors: RQ_A" in factory.run("cycle", "--all").stderr


def test_explain_does_not_call_a_failed_wms_read_nothing_to_do(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": {"wmsstatus.file.path": str(tmp_path / "missing.json")}})
    status = factory.run("status", "-q", "RQ_A")
    explained = factory.run("decide", "--explain", stdin=status.stdout)
    assert "nothing to do" not in explained.stdout
    assert "decision: no pilots: status unknown (wms status failed" in explained.stdout


def test_a_disabled_queue_named_with_q_is_said(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": {"enabled": "False"}, "RQ_B": {}})
    cycled = factory.run("cycle", "-q", "RQ_A", "--dry-run")
    assert "queue RQ_A is not enabled" in cycled.stderr
    check = factory.run("config", "check", "-q", "RQ_A", "-q", "RQ_B")
    assert "1 enabled queue(s) and 1 disabled (RQ_A) checked" in check.stdout
    no_traceback(check)


def test_json_output_of_decide_has_stderr_lines_too(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": {}})
    record = {"apfctl": 1, "queue": "RQ_A", "cycle": "c1",
              "wms": {"plugin": "File", "ok": False, "error": "the WMS is down"},
              "batch": {"plugin": "Slurm", "ok": True, "pending": 0, "held": 0, "running": 0, "exiting": 0,
                        "done_1h": 0, "fault_1h": 0}}
    result = factory.run("decide", "--format", "json", stdin=json.dumps(record) + "\n")
    assert result.returncode == 1
    assert "apfctl: error: queue RQ_A: status: wms status failed (the WMS is down)" in result.stderr
    assert json.loads(result.stdout)["decision"]["pilots"] == 0
