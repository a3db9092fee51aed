"""HTCondor pilots know their worker: HARVESTER_ID and HARVESTER_WORKER_ID from a submit macro over ProcId.

The expansion is checked by the real ``condor_submit -dry-run`` (HTCondor's own submit
language, no schedd needed): on PATH, or in APFCTL_CONDOR_BIN. Under CI a missing
condor_submit is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from apfctl.workers import WorkerBlock
from tests.condor.condor_helpers import loaded, queue_section, submit_plugin

CYCLE = "20261201T120000Z-0abc"


def condor_submit() -> str | None:
    """APFCTL_CONDOR_BIN's, else the tests' pools' (make test), else the one on PATH."""
    folder = os.environ.get("APFCTL_CONDOR_BIN")
    if folder and (Path(folder) / "condor_submit").is_file():
        return str(Path(folder) / "condor_submit")
    pools = os.environ.get("APFCTL_CONDOR_POOLS")
    if pools and Path(pools).is_file():
        from tests.condor.real_pools import Pools

        return Pools.from_env_file(pools).tool("condor_submit")
    return shutil.which("condor_submit")


def description(tmp_path: Path, first: int, n: int) -> str:
    ld = loaded(tmp_path, queue_section("CE_Q", body="executable = /bin/true\n"))
    plugin = submit_plugin(ld, "CE_Q")
    plugin.workers = WorkerBlock("factory-1", first, n)
    return plugin.describe(n, CYCLE)


def test_the_description_takes_worker_ids_from_procid(tmp_path):
    text = description(tmp_path, 41, 3)
    assert "ApfctlWorkerFirst = 41" in text
    assert "ApfctlWorkerID = $(ApfctlWorkerFirst) + $(Process)" in text
    environment = next(line for line in text.splitlines() if line.startswith("environment"))
    assert "HARVESTER_ID=factory-1" in environment and "HARVESTER_WORKER_ID=$INT(ApfctlWorkerID)" in environment


def test_real_condor_submit_gives_each_pilot_its_worker_id(tmp_path):
    tool = condor_submit()
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs condor_submit (PATH or APFCTL_CONDOR_BIN)")
        pytest.skip("needs condor_submit on PATH or in APFCTL_CONDOR_BIN")
    submit_file = tmp_path / "pilots.sub"
    submit_file.write_text(description(tmp_path, 41, 3))
    config = tmp_path / "condor_config"
    config.write_text("")
    ads = tmp_path / "ads"
    result = subprocess.run([tool, "-dry-run", str(ads), str(submit_file)], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "CONDOR_CONFIG": str(config)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    environments = re.findall(r'^Environment\s*=\s*"(.*)"$', ads.read_text(), re.MULTILINE)
    ids = [re.search(r"HARVESTER_WORKER_ID=(\S+)", env).group(1) for env in environments]
    assert ids == ["41", "42", "43"]
    assert all("HARVESTER_ID=factory-1" in env for env in environments)
