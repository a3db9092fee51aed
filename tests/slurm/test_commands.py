"""Running Slurm's commands: the environment they see and output they cannot decode (no cluster needed)."""

from __future__ import annotations

import stat
from pathlib import Path

from apfctl_slurm.commands import COMMANDS, SlurmCommands

from apfctl.errors import BackendError


def fake_commands(tmp_path: Path, body: str) -> SlurmCommands:
    script = tmp_path / "fake-slurm"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return SlurmCommands(tuple((command, str(script)) for command in COMMANDS), None, 10.0)


def test_the_operators_slurm_variables_do_not_reach_the_commands(tmp_path, monkeypatch):
    for name in ("SBATCH_PARTITION", "SBATCH_ACCOUNT", "SQUEUE_FORMAT", "SQUEUE_ALL", "SACCT_FORMAT",
                 "SACCT_FEDERATION", "SCANCEL_BATCH", "SLURM_CLUSTERS"):
        monkeypatch.setenv(name, "operator")
    monkeypatch.setenv("KEPT_VARIABLE", "yes")
    commands = fake_commands(tmp_path, "env")
    for command in COMMANDS:
        seen = dict(line.split("=", 1) for line in commands.run(command).stdout.splitlines() if "=" in line)
        assert "operator" not in seen.values(), command
        assert seen["KEPT_VARIABLE"] == "yes"
        assert (seen["SLURM_TIME_FORMAT"], seen["LC_ALL"]) == ("standard", "C")


def test_output_that_is_not_utf8_is_replaced_not_raised(tmp_path):
    commands = fake_commands(tmp_path, r"printf 'job\377name\n'; printf 'bad \377 message\n' >&2; exit 1")
    result = commands.run("squeue")
    assert result.stdout == "job\ufffdname\n"
    error = commands.fail("squeue", result)
    assert isinstance(error, BackendError) and "bad \ufffd message" in str(error)
