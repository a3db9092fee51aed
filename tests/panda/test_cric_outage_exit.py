"""CRIC down with no cached copy: its queues are missing, the local ones cycle, exit 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_cric_outage_without_cache_exits_1_and_local_queues_carry_on(tmp_path: Path) -> None:
    (tmp_path / "wms.json").write_text(json.dumps({"LOCAL_SITE": {"ready": 0}}))
    (tmp_path / "queues.conf").write_text(
        "[LOCAL_Q]\nenabled = True\nwmsstatusplugin = File\nwmsstatus.file.path = wms.json\nwmsqueue = LOCAL_SITE\n"
        "batchstatusplugin = Local\nbatchsubmitplugin = Local\nschedplugin = Ready\nexecutable = /bin/true\n")
    (tmp_path / "apfctl.conf").write_text(
        "[Factory]\nfactoryId = test\nqueueConf = queues.conf\nconfig.queues.plugin = CRIC, File\n"
        f"config.queues.cric.url = {tmp_path / 'no-such-cric.json'}\nconfig.queues.cric.retries = 0\n")
    env = dict(os.environ, APFCTL_CONFIG=str(tmp_path / "apfctl.conf"), APFCTL_STATE_DIR=str(tmp_path / "state"))
    result = subprocess.run([sys.executable, "-m", "apfctl", "cycle", "--all"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "queue source failed" in result.stderr and "no copy is cached" in result.stderr
    assert [json.loads(line)["queue"] for line in result.stdout.splitlines()] == ["LOCAL_Q"]
    check = subprocess.run([sys.executable, "-m", "apfctl", "config", "check"], env=env, capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 1 and "queue source failed" in check.stderr
