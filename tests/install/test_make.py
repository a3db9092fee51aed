"""``make`` on a fresh Debian: python3-venv installed first (as root), ``make dist`` without the tests' venv."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

FAKE_PYTHON = """#!/bin/sh
# python3 without its venv module until apt-get "installs" python3-venv (the marker file)
case "$*" in
  *ensurepip*) [ -e "{marker}" ];  exit $?;;
  "-m venv "*) mkdir -p "$3/bin"; printf '#!/bin/sh\\nexit 0\\n' > "$3/bin/pip"; chmod +x "$3/bin/pip"; exit 0;;
esac
exec python3 "$@"
"""
FAKE_APT = """#!/bin/sh
echo "$*" >> "{log}"
case "$*" in *install*python3-venv*) touch "{marker}";; esac
"""


def test_make_venv_installs_python3_venv_as_root_or_names_it(tmp_path):
    marker, log = tmp_path / "venv-installed", tmp_path / "apt.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("python3-novenv", FAKE_PYTHON), ("apt-get", FAKE_APT)):
        (bin_dir / name).write_text(text.format(marker=marker, log=log))
        (bin_dir / name).chmod(0o755)
    result = subprocess.run(["make", "--no-print-directory", "venv", f"PYTHON={bin_dir / 'python3-novenv'}",
                             f"VENV={tmp_path / 'venv'}"], cwd=REPO, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    if os.getuid() == 0:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "install -y -qq --no-install-recommends python3-venv" in log.read_text()
        assert (tmp_path / "venv" / ".installed-stamp").exists()
    else:
        assert result.returncode != 0 and not (tmp_path / "venv").exists()
        assert "has no venv module: apt-get install python3-venv" in result.stdout


def test_make_dist_does_not_build_the_test_environment():
    planned = subprocess.run(["make", "-n", "--no-print-directory", "dist"], cwd=REPO, capture_output=True,
                             text=True, timeout=60)
    assert planned.returncode == 0, planned.stderr
    assert "[test]" not in planned.stdout and ".venv/bin" not in planned.stdout
    assert "pip install -q build" in planned.stdout and "-m build --outdir dist" in planned.stdout
