"""``apfctl config check`` for the PanDA report: the monitor section's keys and the instance id."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def check(tmp_path: Path, factory: str, monitor: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "queues.conf").write_text("[Q]\nenabled = True\nwmsstatusplugin = None\nbatchstatusplugin = Local\n"
                                          "batchsubmitplugin = Local\nschedplugin = Ready\nmonitorsection = panda\n")
    (tmp_path / "monitor.conf").write_text("[panda]\nmonitorplugin = PandaReport\n" + monitor)
    (tmp_path / "apfctl.conf").write_text(f"[Factory]\n{factory}queueConf = queues.conf\nmonitorConf = monitor.conf\n")
    env = dict(os.environ, APFCTL_CONFIG=str(tmp_path / "apfctl.conf"), APFCTL_STATE_DIR=str(tmp_path / "state"),
               CONDOR_CONFIG="/dev/null")
    return subprocess.run([sys.executable, "-m", "apfctl", "config", "check"], capture_output=True, text=True,
                          env=env, timeout=60)


def test_a_good_section_and_an_explicit_harvester_id_pass(tmp_path):
    result = check(tmp_path, "factoryId = f1\nharvesterID = CERN_apfctl_A\n",
                   "pandareport.baseurl = https://pandaserver.cern.ch:25443\npandareport.timeout = 3\n")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_bad_key_names_the_section_and_key(tmp_path):
    result = check(tmp_path, "factoryId = f1\n", "pandareport.timeout = soon\npandareport.batchsize = 0\n")
    assert result.returncode != 0
    text = result.stdout + result.stderr
    assert "pandareport.timeout" in text and "soon" in text and "pandareport.batchsize" in text
    assert "Traceback" not in text


def test_a_factory_id_panda_cannot_take_is_reported_with_what_is_sent(tmp_path):
    result = check(tmp_path, "factoryId = my factory#1\n", "")
    text = result.stdout + result.stderr
    assert "[Factory] factoryId = 'my factory#1' is reported to PanDA as 'my_factory_1'" in text
