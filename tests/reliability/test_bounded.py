"""Bounded reads and calls: a size limit on every document, a deadline on every call, killed
process groups, and argument splitting in linear time."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apfctl.bounded import TooLarge, read_file
from apfctl.config import shellwords
from apfctl.errors import BackendError
from tests.reliability.reliability_helpers import Factory, no_traceback
from tests.support import wait_for


def test_dev_zero_as_the_status_file_fails_that_queue_at_the_size_limit(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": {"wmsstatus.file.path": "/dev/zero"}, "RQ_B": {}})
    result = factory.run("cycle", "--all", timeout=60)
    no_traceback(result)
    records = {r["queue"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert result.returncode == 1
    assert "larger than the limit of 67108864 bytes" in records["RQ_A"]["wms"]["error"]
    assert records["RQ_B"]["wms"]["ok"] is True


def test_every_bounded_read_stops_at_its_limit(tmp_path: Path) -> None:
    with pytest.raises(TooLarge, match="larger than the limit of 10 bytes"):
        read_file("/dev/zero", 10)
    (tmp_path / "small").write_bytes(b"0123456789")
    assert read_file(tmp_path / "small", 10) == b"0123456789"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:   # a zombie is dead too
        return stat.read().split(") ")[-1][0] != "Z"


def test_a_slurm_command_that_hangs_is_killed_with_its_children(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": {"slurm.timeout": "1"}})
    pids = tmp_path / "child.pid"
    hanging = tmp_path / "squeue-hangs"
    hanging.write_text(f"#!/bin/sh\nsleep 600 &\necho $! > {pids}\nwait\n")
    hanging.chmod(0o755)
    factory.queues["RQ_A"]["slurm.squeue"] = str(hanging)
    factory.write()
    result = factory.run("status", "-q", "RQ_A")
    no_traceback(result)
    record = json.loads(result.stdout)
    assert record["batch"]["ok"] is False
    assert "squeue did not answer within 1 s and was killed with its children" in record["batch"]["error"]
    child = int(pids.read_text())
    wait_for(lambda: not _alive(child), timeout=10, what="the command's child to be gone")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=" \t\n'\"\\ab$=-", max_size=24))
def test_shellwords_split_as_shlex_does(text: str) -> None:
    try:
        expected: object = shlex.split(text)
    except ValueError:
        expected = ValueError
    try:
        got: object = shellwords.split(text)
    except ValueError:
        got = ValueError
    assert got == expected


def test_a_megabytes_long_argument_line_is_split_in_linear_time(tmp_path: Path) -> None:
    """shlex took 23 s for 1.6 MB (quadratic); 3.2 MB would take minutes. Bounded, not timed."""
    code = ("from apfctl.config import shellwords; words = shellwords.split('a' * 3_200_000 + ' \"b c\" d');"
            "print(len(words), len(words[0]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["3", "3200000"]


def test_a_schedd_call_that_hangs_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from apfctl_condor import schedd

    monkeypatch.setattr(schedd, "CALL_DEADLINE", 0.3)
    release = threading.Event()
    try:
        with pytest.raises(BackendError, match=r"local schedd: query failed: no answer within 0.3 s"):
            schedd.call(schedd.Endpoint(), "query", release.wait, 60)
    finally:
        release.set()
    assert schedd.call(schedd.Endpoint(), "query", lambda: ["ad"]) == ["ad"]


def test_the_count_bound_is_the_records_own() -> None:
    from apfctl.bounded import MAX_COUNT
    from apfctl.record.kinds import COUNT

    assert (COUNT.low, COUNT.high) == (0, MAX_COUNT)
