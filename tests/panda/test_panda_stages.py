"""Panda queues through apfctl's own stages and commands: status, decide, exit codes, imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from apfctl_panda import api, testkit
from pytest_httpserver import HTTPServer

from apfctl.config.loader import load
from apfctl.stages.decide import Decider
from apfctl.stages.status import collect

QUEUE_DEFAULTS = """[DEFAULT]
enabled = True
wmsstatusplugin = Panda
wmsstatus.panda.baseurl = {url}
wmsstatus.panda.retries = 0
batchstatusplugin = Local
batchsubmitplugin = Local
schedplugin = Ready, StatusTest, StatusOffline
sched.statustest.pilots = 1
executable = /bin/true
"""


def write_config(tmp_path: Path, url: str, sections: dict[str, dict[str, str]]) -> Path:
    text = QUEUE_DEFAULTS.format(url=url)
    for name, values in sections.items():
        text += f"\n[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in values.items())
    (tmp_path / "queues.conf").write_text(text)
    factory = tmp_path / "apfctl.conf"
    factory.write_text("[Factory]\nfactoryId = panda-test\nqueueConf = queues.conf\n")
    return factory


def test_100_queues_cost_one_fetch_per_endpoint_through_the_status_stage(httpserver: HTTPServer, tmp_path: Path):
    testkit.serve_panda(httpserver)
    sites = list(testkit.realistic_statuses())
    sections = {f"Q{i:03d}": {"wmsqueue": sites[i % len(sites)]} for i in range(100)}
    sections["Q000"]["wmsstatus.panda.labels"] = "managed"
    loaded = load(str(write_config(tmp_path, httpserver.url_for("/").rstrip("/"), sections)), tmp_path / "state")
    records = collect(loaded, loaded.enabled_queues())
    assert len(records) == 100 and all(r["wms"]["ok"] for r in records)
    assert testkit.fetches(httpserver) == {api.SITE_SPECS: 1, api.JOB_STATS: 1, api.DETAILED_JOB_STATS: 1}


def test_site_status_drives_statustest_and_statusoffline(httpserver: HTTPServer, tmp_path: Path):
    testkit.serve_panda(httpserver)
    sections = {"ONLINE": {"wmsqueue": "BNL_PROD"}, "TEST": {"wmsqueue": "CERN_TEST"},
                "OFFLINE": {"wmsqueue": "MWT2_OFF"}, "IDLE": {"wmsqueue": "IDLE_SITE"}}
    loaded = load(str(write_config(tmp_path, httpserver.url_for("/").rstrip("/"), sections)), tmp_path / "state")
    decider = Decider(loaded)
    decided = {r["queue"]: decider.decide(r)["decision"] for r in collect(loaded, loaded.enabled_queues())}
    assert decided["ONLINE"]["pilots"] == 152
    assert decided["TEST"]["pilots"] == 1 and "StatusTest:comment=test" in decided["TEST"]["msg"]
    assert decided["OFFLINE"]["pilots"] == 0 and "StatusOffline:comment=offline" in decided["OFFLINE"]["msg"]
    assert decided["IDLE"]["pilots"] == 0 and "activated=0" in decided["IDLE"]["msg"]


def apfctl(*args: str, stdin: str = "", env_extra: dict[str, str] | None = None,
           python_flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, *python_flags, "-m", "apfctl", *args], input=stdin, text=True,
                          capture_output=True, env=env, timeout=120, check=False)


def test_unreachable_server_fails_its_queues_with_exit_1_and_others_go_on(httpserver: HTTPServer, tmp_path: Path):
    testkit.serve_panda(httpserver)
    sections = {"GOOD": {"wmsqueue": "BNL_PROD"},
                "DOWN": {"wmsqueue": "BNL_PROD", "wmsstatus.panda.baseurl": "http://localhost:1"}}
    config = write_config(tmp_path, httpserver.url_for("/").rstrip("/"), sections)
    status = apfctl("status", "--all", "--config", str(config))
    assert status.returncode == 1, status.stderr
    records = {r["queue"]: r for r in map(json.loads, status.stdout.splitlines())}
    assert records["GOOD"]["wms"]["ok"] is True
    assert records["DOWN"]["wms"] == {**records["DOWN"]["wms"], "ok": False,
                                      "error": "cannot connect to localhost:1: [Errno 111] Connection refused"}
    decide = apfctl("decide", "--config", str(config), stdin=status.stdout)
    decided = {r["queue"]: r["decision"] for r in map(json.loads, decide.stdout.splitlines())}
    assert decided["DOWN"]["pilots"] == 0 and decided["GOOD"]["pilots"] == 152


@pytest.mark.parametrize("command", ["--help", "decide"])
def test_requests_is_not_imported_by_help_or_decide(httpserver: HTTPServer, tmp_path: Path, command: str):
    testkit.serve_panda(httpserver)
    config = write_config(tmp_path, httpserver.url_for("/").rstrip("/"), {"ONE": {"wmsqueue": "BNL_PROD"}})
    stdin = ""
    if command == "decide":
        stdin = apfctl("status", "--all", "--config", str(config)).stdout
        assert json.loads(stdin)["wms"]["ok"] is True
    result = apfctl(*([command, "--config", str(config)] if command == "decide" else [command]), stdin=stdin,
                    python_flags=("-X", "importtime"))
    assert result.returncode == 0, result.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "apfctl" in imported
    assert not {"requests", "urllib3"} & imported


def test_plugin_modules_import_without_requests():
    code = ("import sys, apfctl_panda.wmsstatus, apfctl_panda.cric, apfctl_panda.http; "
            "sys.exit(1 if {'requests', 'urllib3'} & set(sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=60).returncode == 0
