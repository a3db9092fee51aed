"""``apfctl config check`` on resource-type settings: errors name file, queue, key and value."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

BASE = """
[DEFAULT]
enabled = True
batchstatusplugin = Local
batchsubmitplugin = Local
schedplugin = Ready
wmsstatusplugin = None
executable = /bin/true

[GOOD]
resourcetypes = SCORE, MCORE
corecount = 8
maxrss = 16000
maxWorkers = 100
"""


def check(tmp_path: Path, queues: str, factory_extra: str = "") -> subprocess.CompletedProcess[str]:
    (tmp_path / "queues.conf").write_text(BASE + textwrap.dedent(queues))
    (tmp_path / "apfctl.conf").write_text(f"[Factory]\nfactoryId = f\nqueueConf = queues.conf\n{factory_extra}")
    env = dict(os.environ, APFCTL_CONFIG=str(tmp_path / "apfctl.conf"), APFCTL_STATE_DIR=str(tmp_path / "state"),
               CONDOR_CONFIG="/dev/null")
    return subprocess.run([sys.executable, "-m", "apfctl", "config", "check"], capture_output=True, text=True,
                          env=env, timeout=60)


def test_good_unified_queue_passes(tmp_path: Path):
    result = check(tmp_path, "")
    assert result.returncode == 0, result.stderr
    assert "unknown key" not in result.stdout + result.stderr


def test_each_bad_value_is_named_with_file_line_queue_key_and_value(tmp_path: Path):
    result = check(tmp_path, """
        [BAD_TYPE]
        resourcetypes = SCORE, XCORE

        [BAD_CORES]
        resourcetypes = MCORE
        corecount = 0

        [BAD_LIMIT]
        nQueueLimitWorker = lots
        """)
    assert result.returncode == 2
    err = result.stdout + result.stderr
    assert "queues.conf:17 [BAD_TYPE] resourcetypes = 'SCORE, XCORE': unknown resource type 'XCORE'" in err
    assert "queues.conf:21 [BAD_CORES] corecount = '0': must be a positive integer up to 1024" in err
    assert "[BAD_LIMIT] nQueueLimitWorker = 'lots': not an integer" in err
    assert "Traceback" not in err


def test_bad_type_definition_in_the_factory_file(tmp_path: Path):
    result = check(tmp_path, "", factory_extra="resourcetype.MCORE.maxcore = many\n")
    assert result.returncode == 2
    assert "apfctl.conf:4 [Factory] resourcetype.MCORE.maxcore = 'many': not an integer" in result.stdout + \
        result.stderr
