"""Small builders for core tests: config files on disk and the apfctl command as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

APFCTL = [sys.executable, "-m", "apfctl"]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def factory(tmp: Path, queues: str, extra: str = "", name: str = "queues.conf") -> Path:
    """A factory file with one queue file beside it."""
    write(tmp / name, queues)
    return write(tmp / "apfctl.conf", f"""
        [Factory]
        factoryId = test-factory
        baseLogDir = {tmp / 'logs'}
        queueConf = {name}
        {extra}
        """)


def run(args: list[str], *, config: Path | None, state: Path, stdin: str | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, APFCTL_STATE_DIR=str(state), CONDOR_CONFIG="/dev/null")
    if config is not None:
        env["APFCTL_CONFIG"] = str(config)
    return subprocess.run([*APFCTL, *args], input=stdin, capture_output=True, text=True, env=env, timeout=timeout)
