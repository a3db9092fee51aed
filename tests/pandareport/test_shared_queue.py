"""Two factories, one PanDA queue: ``wmsstatus.panda.share = auto`` against stand-ins of PanDA's job
statistics and Harvester API on one local server, with a Harvester instance and a second apfctl reporting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from apfctl_panda.testkit import serve_panda
from apfctl_pandareport.testkit import HarvesterStandIn
from pytest_httpserver import HTTPServer

SITE = "BNL_SHARED"
QUEUES = """
[SHARED]
enabled = True
wmsqueue = {site}
wmsstatusplugin = Panda
wmsstatus.panda.baseurl = {url}
wmsstatus.panda.retries = 0
wmsstatus.panda.share = auto
batchstatusplugin = Local
batchsubmitplugin = Local
executable = /bin/true
schedplugin = Ready
monitorsection = panda
"""


@pytest.fixture
def panda(httpserver: HTTPServer) -> HarvesterStandIn:
    serve_panda(httpserver, detailed={SITE: {"SCORE": {"managed": {"activated": 9, "running": 4}}}},
                statuses={SITE: "online"})
    server = HarvesterStandIn(httpserver)
    yield server
    server.released.set()


def factory(tmp_path: Path, name: str, url: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "queues.conf").write_text(QUEUES.format(site=SITE, url=url))
    (folder / "monitor.conf").write_text(f"[panda]\nmonitorplugin = PandaReport\npandareport.baseurl = {url}\n"
                                         "pandareport.timeout = 2\npandareport.budget = 4\n")
    (folder / "apfctl.conf").write_text(f"[Factory]\nfactoryId = {name}\nbaseLogDir = {folder / 'logs'}\n"
                                        "queueConf = queues.conf\nmonitorConf = monitor.conf\n")
    return folder


def apfctl(folder: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, APFCTL_CONFIG=str(folder / "apfctl.conf"), APFCTL_STATE_DIR=str(folder / "state"),
               CONDOR_CONFIG="/dev/null")
    return subprocess.run([sys.executable, "-m", "apfctl", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=120)


def wms(folder: Path) -> dict:
    result = apfctl(folder, "status", "--queue", "SHARED")
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout.splitlines()[0])["wms"]


def pilots(folder: Path) -> int:
    status = apfctl(folder, "status", "--queue", "SHARED")
    decided = apfctl(folder, "decide", stdin=status.stdout)
    return json.loads(decided.stdout.splitlines()[0])["decision"]["pilots"]


def test_the_queues_work_is_divided_by_the_factories_panda_reports(tmp_path, panda):
    url = panda.url()
    b = factory(tmp_path, "apfctl-b", url)
    alone = wms(b)
    assert (alone["ok"], alone["ready"], alone["factories"]) == (True, 9, 1)

    # a Harvester instance reports for the same queue, as Harvester does (its JSON-string statistics)
    harvester = requests.post(f"{url}/api/v1/harvester/report_worker_statistics", timeout=5, json={
        "harvester_id": "CERN_central_B", "panda_queue": SITE,
        "statistics": json.dumps({"managed": {"SCORE": {"running": 4, "submitted": 2}}})})
    assert harvester.json() == {"success": True, "message": "OK", "data": None}
    two = wms(b)
    assert (two["ready"], two["factories"], two["running"]) == (5, 2, 4)   # ceil(9 / 2); running is not divided
    assert pilots(b) == 5

    # a second apfctl takes its share in a real cycle and reports: now three factories share the queue
    a = factory(tmp_path, "apfctl-a", url)
    cycle = apfctl(a, "cycle", "--all")
    assert cycle.returncode == 0, cycle.stderr
    record = json.loads(cycle.stdout.splitlines()[0])
    assert (record["wms"]["factories"], record["decision"]["pilots"], record["submission"]["submitted"]) == (2, 5, 5)
    assert set(panda.stats[SITE]) == {"CERN_central_B", "apfctl-a"}
    three = wms(b)
    assert (three["ready"], three["factories"]) == (3, 3)
    assert pilots(b) == 3
    assert wms(a)["factories"] == 2       # apfctl-a counts itself once, listed or not
    explained = apfctl(b, "decide", "--explain", stdin=apfctl(b, "status", "--queue", "SHARED").stdout)
    assert "wms ready=3 status=online (this factory's share of 3 factories)" in explained.stdout


@pytest.mark.parametrize("answer, says", [
    ({"success": True, "message": "", "data": {SITE: ["not", "an", "object"]}}, "the entry of 'BNL_SHARED' is list"),
    ({"success": True, "message": "", "data": {SITE: {"bad id\nx": {}}}}, "is not a plain name"),
    ({"success": False, "message": "SSL secure connection is required", "data": None}, "SSL secure connection"),
])
def test_an_unusable_worker_statistics_answer_fails_the_shared_queue_only(tmp_path, httpserver, answer, says):
    serve_panda(httpserver, detailed={SITE: {"SCORE": {"managed": {"activated": 9}}}}, statuses={SITE: "online"})
    httpserver.expect_request("/api/v1/harvester/get_worker_statistics").respond_with_json(answer)
    b = factory(tmp_path, "apfctl-b", httpserver.url_for("/").rstrip("/"))
    section = wms(b)
    assert section["ok"] is False and says in section["error"], section
    assert pilots(b) == 0     # nothing submitted on an unknown share
