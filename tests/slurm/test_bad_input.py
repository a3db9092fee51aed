"""Bad input for the Slurm backend: one clear line naming the queue and the key, no traceback,
and one attempt per cycle."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from tests.slurm.slurm_helpers import Site, records

BAD_VALUES = [
    ("batchsubmit.slurm.time", "2h", "not a Slurm time limit"),
    ("batchsubmit.slurm.memory", "lots", "not a Slurm memory size"),
    ("batchsubmit.slurm.options", "-q normal", "not --name=value"),
    ("batchsubmit.slurm.options", "--array=0-9", "set by apfctl itself"),
    ("batchsubmit.slurm.options", "--partition=x", "set batchsubmit.slurm.partition"),
    ("batchsubmit.slurm.environ", "NOEQUALS", "is not VAR=value"),
    ("batchsubmit.slurm.partition", "a b", "not a Slurm name"),
    ("batchsubmit.slurm.overlay.killorder", "random", "newest, oldest"),
    ("slurm.bindir", "/nonexistent/slurm/bin", "is not a folder"),
    ("batchstatus.slurm.history", "sometimes", "auto, sacct, jobcomp, squeue"),
]


@pytest.mark.parametrize(("key", "value", "message"), BAD_VALUES)
def test_config_check_names_queue_and_key(site: Site, key: str, value: str, message: str) -> None:
    site.write({"SL_GOOD": {}, "SL_WRONG": {key: value}})
    result = site.apfctl("config", "check")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    line = next(line for line in result.stderr.splitlines() if key in line)
    assert "[SL_WRONG]" in line and message in line
    assert "SL_GOOD" not in result.stderr


def test_cycle_skips_a_queue_with_a_bad_time_limit_before_submitting(site: Site) -> None:
    site.write({"SL_WRONG": {"batchsubmit.slurm.time": "1 hour"}, "SL_FINE": {"sched.fixed.pilotspercycle": "0"}})
    result = site.apfctl("cycle", "--all")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert re.search(r"queues.conf:\d+ \[SL_WRONG\] batchsubmit\.slurm\.time = '1 hour': is not a Slurm time limit",
                     result.stderr)
    assert list(records(result)) == ["SL_FINE"]


def test_commands_missing_from_path_fail_the_queue_with_the_key_to_set(site: Site, tmp_path: Path) -> None:
    site.write({"SL_NOCMD": {}})
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = site.apfctl("cycle", "--all", env={"PATH": str(empty)})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    record = records(result)["SL_NOCMD"]
    assert record["batch"]["ok"] is False
    assert record["batch"]["error"] == "squeue not found (not on PATH; set slurm.bindir or slurm.squeue)"
    assert record["decision"]["pilots"] == 0


@pytest.mark.slurm
def test_controller_down_is_one_failed_attempt_per_cycle(site: Site, tmp_path: Path) -> None:
    with socket.socket() as probe:           # a port where no slurmctld listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    conf = Path("/etc/slurm/slurm.conf").read_text()
    down = tmp_path / "slurm.conf"
    down.write_text(re.sub(r"(?m)^SlurmctldPort=.*\n?", "", conf) + f"SlurmctldPort={port}\nMessageTimeout=2\n")
    calls = tmp_path / "calls"
    wrapper = tmp_path / "squeue"
    wrapper.write_text(f'#!/bin/sh\necho call >> {calls}\nexec squeue "$@"\n')
    wrapper.chmod(0o755)
    site.write({"SL_A": {"slurm.squeue": str(wrapper)}, "SL_B": {"slurm.squeue": str(wrapper)}})

    result = site.apfctl("cycle", "--all", env={"SLURM_CONF": str(down)})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    for record in records(result).values():
        assert record["batch"]["ok"] is False
        assert "squeue failed" in record["batch"]["error"]
        assert "Unable to contact slurm controller" in record["batch"]["error"]
        assert record["decision"]["pilots"] == 0 and record["submission"]["submitted"] == 0
    assert calls.read_text().count("call") == 1    # both queues, one squeue, no retries
