"""scripts/slurm-local-stop.sh leaves alone what scripts/slurm-local.sh did not start (no cluster needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

STOP = Path(__file__).resolve().parents[2] / "scripts" / "slurm-local-stop.sh"


@pytest.mark.skipif(os.geteuid() != 0, reason="slurm-local-stop.sh runs as root")
def test_a_slurmstepd_is_left_alone_when_slurmd_was_not_ours(tmp_path: Path) -> None:
    runstate = tmp_path / "run"
    runstate.mkdir()
    (runstate / "started").write_text("")          # slurm-local.sh started nothing
    script = tmp_path / "stop.sh"
    text = STOP.read_text()
    assert "RUNSTATE=/run/apfctl-slurm-local\n" in text
    script.write_text(text.replace("RUNSTATE=/run/apfctl-slurm-local\n", f"RUNSTATE={runstate}\n"))
    stepd = tmp_path / "slurmstepd"                   # a process named like a site's job step
    shutil.copy(shutil.which("sleep") or "/bin/sleep", stepd)
    step = subprocess.Popen([str(stepd), "60"])
    try:
        result = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "slurmd: not started by slurm-local.sh, left alone" in result.stdout
        assert "slurmstepd" not in result.stdout
        assert step.poll() is None
    finally:
        step.kill()
        step.wait()
