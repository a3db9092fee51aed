"""The committed completion scripts are what the click application generates now."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from apfctl.cli.completions import SHELLS, script

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("shell", "filename"), SHELLS.items())
def test_completion_script_is_current(shell: str, filename: str) -> None:
    committed = (ROOT / "completions" / filename).read_text()
    assert committed == script(shell), f"completions/{filename} is stale: run `make completions`"


def test_bash_completion_completes_subcommands() -> None:
    env = dict(os.environ, _APFCTL_COMPLETE="bash_complete", COMP_WORDS="apfctl cy", COMP_CWORD="1")
    result = subprocess.run([sys.executable, "-m", "apfctl"], env=env, capture_output=True, text=True, timeout=30)
    assert "plain,cycle" in result.stdout
