"""The demo pilot shipped with the embedded demo: POSIX sh, short, reproducible fate per pilot id."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

DEMO_PILOT = Path(__file__).resolve().parents[2] / "apfctl" / "demo" / "demo-pilot.sh"


def run(*args: str, pilot_id: str = "C1.DEMO_SITE_A.0") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "APFCID": pilot_id, "FACTORYQUEUE": "DEMO_SITE_A", "APFFID": "demo", "APFCTL_CYCLE": "C1"}
    return subprocess.run(["sh", str(DEMO_PILOT), *args], env=env, capture_output=True, text=True, timeout=30,
                          check=False)


def test_it_is_an_executable_posix_script() -> None:
    assert os.access(DEMO_PILOT, os.X_OK)
    assert subprocess.run(["sh", "-n", str(DEMO_PILOT)], check=False).returncode == 0


def test_it_says_who_it_is_and_succeeds_without_failures() -> None:
    done = run("--queue", "DEMO_SITE_A", "--sleep", "0", "--fail-rate", "0")
    assert done.returncode == 0, done.stderr
    assert "demo pilot C1.DEMO_SITE_A.0: queue DEMO_SITE_A, factory demo, cycle C1" in done.stdout


def test_it_always_fails_at_a_hundred_percent() -> None:
    done = run("--sleep", "0", "--fail-rate", "100")
    assert done.returncode == 1 and "failed (simulated" in done.stderr


def test_a_pilots_fate_depends_only_on_its_id() -> None:
    fates = [run("--sleep", "0", "--fail-rate", "50", pilot_id=f"C1.Q.{n}").returncode for n in range(12)]
    assert set(fates) == {0, 1}
    assert fates == [run("--sleep", "0", "--fail-rate", "50", pilot_id=f"C1.Q.{n}").returncode for n in range(12)]


@pytest.mark.parametrize("args", [["--fail-rate", "101"], ["--sleep", "5-2"], ["--bogus"], ["--sleep"]])
def test_bad_arguments_exit_2_with_usage(args: list[str]) -> None:
    done = run(*args)
    assert done.returncode == 2 and "usage: demo-pilot.sh" in done.stderr
