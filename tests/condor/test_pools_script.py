"""scripts/condor-pools.sh and tests/condor/real_pools.py without starting anything."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.condor.real_pools import SCRIPT, Pools, PoolsUnavailable


def run(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "APFCTL_CONDOR_DIR": str(tmp_path / "pools"), **env})


def test_a_named_htcondor_that_is_not_there_is_an_error_naming_it(tmp_path):
    result = run(tmp_path, "up", APFCTL_HTCONDOR=str(tmp_path / "no-such-release"))
    assert result.returncode == 1
    assert f"APFCTL_HTCONDOR={tmp_path / 'no-such-release'}: no sbin/condor_master there" in result.stderr
    assert not (tmp_path / "pools" / "factory").exists()


def test_two_ports_are_needed(tmp_path):
    release = tmp_path / "release" / "sbin"
    release.mkdir(parents=True)
    (release / "condor_master").write_text("#!/bin/sh\n")
    (release / "condor_master").chmod(0o755)
    result = run(tmp_path, "up", APFCTL_HTCONDOR=str(tmp_path / "release"), APFCTL_CONDOR_PORTS="9711 9711")
    assert result.returncode == 1 and "needs two different ports" in result.stderr


def test_down_with_nothing_up_is_fine_and_env_says_so(tmp_path):
    assert run(tmp_path, "down").returncode == 0
    result = run(tmp_path, "env")
    assert result.returncode == 1 and "no pools up" in result.stderr


def test_a_pools_file_missing_a_setting_is_named(tmp_path):
    env = tmp_path / "pools.env"
    env.write_text("APFCTL_CONDOR_RELEASE=/opt/htcondor\n")
    with pytest.raises(PoolsUnavailable, match="APFCTL_CONDOR_FACTORY_CONFIG is missing"):
        Pools.from_env_file(env)
