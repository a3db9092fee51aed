"""Installing on a factory host: ``make dist``'s wheel into a clean virtual environment by
scripts/install-host.sh, then ``apfctl --help`` and a demo cycle from it, and the installed
systemd units checked by ``systemd-analyze verify`` (where systemd is installed)."""

from __future__ import annotations

import getpass
import grp
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list(out.glob("apfctl-*.tar.gz"))) == 1
    (found,) = out.glob("apfctl-*.whl")
    return found


def test_the_wheel_installs_on_a_host_and_runs_a_demo_cycle(wheel, tmp_path):
    root = tmp_path / "host"
    env = {**os.environ, "APFCTL_PREFIX": str(root / "opt" / "apfctl"), "APFCTL_ETC": str(root / "etc" / "apfctl"),
           "APFCTL_STATE": str(root / "var" / "lib" / "apfctl"), "APFCTL_LOGS": str(root / "var" / "log" / "apfctl"),
           "APFCTL_USER": getpass.getuser(), "APFCTL_CREATE_USER": "no", "SYSTEMD_DIR": str(root / "systemd"),
           "PYTHON": shutil.which("python3") or "python3"}
    env.pop("VIRTUAL_ENV", None)
    installed = subprocess.run(["bash", str(REPO / "scripts" / "install-host.sh"), str(wheel)], env=env,
                               capture_output=True, text=True, timeout=900)
    assert installed.returncode == 0, installed.stderr[-3000:]
    apfctl = root / "opt" / "apfctl" / "bin" / "apfctl"
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("APFCTL_", "VIRTUAL_ENV"))}
    helped = subprocess.run([str(apfctl), "--help"], env=clean, capture_output=True, text=True, timeout=60,
                            cwd=tmp_path)
    assert helped.returncode == 0 and "serve" in helped.stdout and "cycle" in helped.stdout
    where = subprocess.run([str(root / "opt" / "apfctl" / "bin" / "python"), "-c",
                            "import apfctl, sys; print(apfctl.__file__)"], capture_output=True, text=True, timeout=60,
                           cwd=tmp_path)
    assert where.stdout.startswith(str(root / "opt" / "apfctl"))     # the wheel's copy, not this checkout
    demo = subprocess.run([str(apfctl), "cycle", "--all", "--format", "json"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env={**clean, "APFCTL_CONFIG": "embedded:demo",
                                            "APFCTL_STATE_DIR": str(tmp_path / "demo-state")})
    assert demo.returncode == 0, demo.stderr
    records = [json.loads(line) for line in demo.stdout.splitlines()]
    assert records and all("decision" in record and "submission" in record for record in records)

    config = root / "etc" / "apfctl" / "apfctl.conf"
    assert "[Factory]" in config.read_text()
    units = sorted((root / "systemd").iterdir())
    assert {unit.name for unit in units} >= {"apfctl-cycle.service", "apfctl-cycle.timer", "apfctl-serve.service"}
    cycle_unit = (root / "systemd" / "apfctl-cycle.service").read_text()
    assert f"ExecStart={apfctl} cycle --all" in cycle_unit and f"APFCTL_CONFIG={config}" in cycle_unit
    shipped = "".join(unit.read_text().replace(str(root), "ROOT") for unit in units)
    for path in ("/opt/apfctl", "/etc/apfctl/", "/var/lib/apfctl", "/var/log/apfctl"):   # each the one chosen
        assert not re.search(f"(?<!ROOT){path}", shipped), path
    assert f"Group={grp.getgrgid(os.getgid()).gr_name}" in cycle_unit
    _serve_from_the_installed_wheel(apfctl, config, root, clean, tmp_path)
    if shutil.which("systemd-analyze") is None:
        # make test installs it as root (systemd, in SYSTEM_TOOLS); in CI a missing one is a failure
        assert os.environ.get("CI") != "true", "CI needs systemd-analyze (apt-get install systemd)"
        pytest.skip("systemd-analyze missing: the units were not verified")
    verified = subprocess.run(["systemd-analyze", "verify", *map(str, units)], capture_output=True, text=True,
                              timeout=120)
    assert verified.returncode == 0, verified.stderr


def _serve_from_the_installed_wheel(apfctl: Path, config: Path, root: Path, env: dict[str, str],
                                    cwd: Path) -> None:
    """The plain install serves the page and its assets (package data, core dependencies)."""
    process = subprocess.Popen([str(apfctl), "serve", "--port", "0"], cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True,
                               env={**env, "APFCTL_CONFIG": str(config), "APFCTL_STATE_DIR": str(root / "state")})
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert "on http://127.0.0.1:" in line, line + process.stderr.read()
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        for path, kind in (("/", "text/html"), ("/-/static/app.js", "text/javascript")):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as answer:
                assert answer.status == 200 and answer.headers["Content-Type"].startswith(kind), path
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_the_install_script_names_python3_venv_when_it_is_missing(tmp_path):
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\ncase \"$*\" in *ensurepip*) exit 1;; esac\nexec python3 \"$@\"\n")
    fake.chmod(0o755)
    result = subprocess.run(["bash", str(REPO / "scripts" / "install-host.sh")], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "PYTHON": str(fake)})
    assert result.returncode == 2 and "apt-get install python3-venv" in result.stderr


@pytest.mark.parametrize(("unit", "variable"), [("apfctl-serve.service", "APFCTL_SERVE_HOST"),
                                                ("apfctl-logserver.service", "APFCTL_LOGSERVER_HOST")])
def test_the_server_units_listen_on_127_0_0_1_unless_etc_default_says_otherwise(unit, variable):
    text = (REPO / "contrib" / "systemd" / unit).read_text()
    assert f"Environment={variable}=127.0.0.1\n" in text
    assert text.index(f"Environment={variable}=") < text.index("EnvironmentFile=-/etc/default/apfctl")
    assert f"--host ${{{variable}}}" in text
    assert f"`{variable}=0.0.0.0`" in (REPO / "docs" / "operations.md").read_text()
