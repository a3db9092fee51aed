"""Real cycles (``apfctl cycle``, Local pilots as processes) reported to a local stand-in of PanDA's Harvester API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from apfctl_local import pilotstate
from apfctl_pandareport.testkit import HarvesterStandIn
from pytest_httpserver import HTTPServer

from tests.support import wait_for

PAYLOAD = """#!/bin/sh
out=$1
env | grep -E '^(APFCID|HARVESTER_ID|HARVESTER_WORKER_ID)=' | sort > "$out/$APFCID.part"
mv "$out/$APFCID.part" "$out/$APFCID.env"
while [ ! -e "$out/$APFCID.go" ]; do sleep 0.05; done
exit "$(cat "$out/$APFCID.go")"
"""

QUEUES = """
[DEFAULT]
enabled = True
wmsstatusplugin = File
wmsstatus.file.path = wms.json
batchstatusplugin = Local
batchsubmitplugin = Local
batchsubmit.local.slots = 8
schedplugin = Ready
executable = {payload}
executable.arguments = {out}

[UCORE]
wmsqueue = BNL_UCORE
resourcetypes = SCORE, MCORE
corecount = 8
maxrss = 16000
monitorsection = panda

[SILENT]
wmsqueue = OTHER
"""

MONITOR = """[panda]
monitorplugin = PandaReport
pandareport.baseurl = {url}
pandareport.timeout = 2
pandareport.budget = 4
pandareport.batchsize = {batchsize}
"""


@pytest.fixture
def standin(httpserver: HTTPServer) -> HarvesterStandIn:
    server = HarvesterStandIn(httpserver)
    yield server
    server.released.set()


def apfctl(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, APFCTL_CONFIG=str(tmp_path / "apfctl.conf"), APFCTL_STATE_DIR=str(tmp_path / "state"),
               CONDOR_CONFIG="/dev/null")
    return subprocess.run([sys.executable, "-m", "apfctl", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def setup(tmp_path: Path, url: str, batchsize: int = 100, score: int = 2, mcore: int = 1) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    script = tmp_path / "payload.sh"
    script.write_text(PAYLOAD)
    script.chmod(0o755)
    (tmp_path / "queues.conf").write_text(QUEUES.format(payload=script, out=out))
    (tmp_path / "monitor.conf").write_text(MONITOR.format(url=url, batchsize=batchsize))
    work(tmp_path, score, mcore)
    (tmp_path / "apfctl.conf").write_text(f"[Factory]\nfactoryId = apfctl-test-1\nbaseLogDir = {tmp_path / 'logs'}\n"
                                          "queueConf = queues.conf\nmonitorConf = monitor.conf\n")
    return out


def work(tmp_path: Path, score: int, mcore: int) -> None:
    (tmp_path / "wms.json").write_text(json.dumps({
        "BNL_UCORE": {"ready": score + mcore, "types": {"SCORE": {"ready": score}, "MCORE": {"ready": mcore}}},
        "OTHER": {"ready": 0}}))


def local_pilots(tmp_path: Path, queue: str = "UCORE") -> dict[str, dict]:
    return {state["id"]: state for _, state in pilotstate.scan(tmp_path / "state" / "local" / queue)}


def test_a_cycle_reports_its_workers_their_statistics_and_a_heartbeat(tmp_path, standin):
    out = setup(tmp_path, standin.url())
    result = apfctl(tmp_path, "cycle", "--all")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert standin.names() == ["heartbeat", "update_workers", "report_worker_statistics"]
    assert standin.bodies("heartbeat")[0]["harvester_id"] == "apfctl-test-1"
    assert standin.bodies("heartbeat")[0]["data"]["sw_version"].startswith("apfctl-")
    [update] = standin.bodies("update_workers")
    assert update["harvester_id"] == "apfctl-test-1"
    workers = update["workers"]
    pilots = local_pilots(tmp_path)
    assert sorted(w["workerID"] for w in workers) == [1, 2, 3]
    assert {w["batchID"] for w in workers} == set(pilots)
    by_type = {}
    for w in workers:
        assert w["queueName"] == w["computingSite"] == "BNL_UCORE"
        assert w["computingElement"] == "UCORE" and w["jobType"] == "ANY"
        assert w["status"] in ("submitted", "running")
        assert w["submitTime"].startswith("datetime/20") and w["endTime"] is None
        by_type.setdefault(w["resourceType"], []).append((w["nCore"], w["minRamCount"]))
    assert by_type == {"SCORE": [(1, 2000)] * 2, "MCORE": [(8, 16000)]}
    # every pilot knows its worker: HARVESTER_ID and the worker id that PanDA got with its batch id
    envs = wait_for(lambda: sorted(out.glob("*.env")) if len(list(out.glob("*.env"))) == 3 else None,
                    what="three pilots to write their environment")
    told = {}
    for path in envs:
        env = dict(line.split("=", 1) for line in path.read_text().splitlines())
        assert env["HARVESTER_ID"] == "apfctl-test-1"
        told[env["APFCID"]] = int(env["HARVESTER_WORKER_ID"])
    assert told == {w["batchID"]: w["workerID"] for w in workers}
    [stats] = standin.bodies("report_worker_statistics")
    assert stats["harvester_id"] == "apfctl-test-1" and stats["panda_queue"] == "BNL_UCORE"
    table = json.loads(stats["statistics"])
    assert set(table) == {"ANY"} and set(table["ANY"]) == {"SCORE", "MCORE"}
    assert sum(table["ANY"]["SCORE"].values()) == 2 and sum(table["ANY"]["MCORE"].values()) == 1

    # the pilots end (two well, one badly); nothing new is submitted: only their state changes go out
    work(tmp_path, 0, 0)
    codes = {}
    for n, pilot_id in enumerate(sorted(told)):
        codes[pilot_id] = 3 if n == 0 else 0
        (out / f"{pilot_id}.go").write_text(str(codes[pilot_id]))
    wait_for(lambda: all(s.get("ended") for s in local_pilots(tmp_path).values()), what="the pilots to end")
    standin.calls.clear()
    result = apfctl(tmp_path, "cycle", "--all")
    assert result.returncode == 0, result.stderr
    assert standin.names() == ["heartbeat", "update_workers", "report_worker_statistics"]
    [update] = standin.bodies("update_workers")
    ended = {w["batchID"]: w for w in update["workers"]}
    assert set(ended) == set(told)
    for pilot_id, worker in ended.items():
        assert worker["status"] == ("failed" if codes[pilot_id] else "finished")
        assert worker["workerID"] == told[pilot_id]
        assert worker["startTime"].startswith("datetime/") and worker["endTime"].startswith("datetime/")
    table = json.loads(standin.bodies("report_worker_statistics")[0]["statistics"])
    assert table == {"ANY": {"SCORE": {"submitted": 0, "running": 0}, "MCORE": {"submitted": 0, "running": 0}}}

    # a third cycle with no change sends no worker at all
    standin.calls.clear()
    assert apfctl(tmp_path, "cycle", "--all").returncode == 0
    assert standin.names() == ["heartbeat", "report_worker_statistics"]


def test_workers_go_in_batches_and_ids_stay_unique_across_cycles(tmp_path, standin):
    setup(tmp_path, standin.url(), batchsize=2, score=4, mcore=1)
    assert apfctl(tmp_path, "cycle", "--all").returncode == 0
    updates = standin.bodies("update_workers")
    assert [len(u["workers"]) for u in updates] == [2, 2, 1]
    assert [w["workerID"] for u in updates for w in u["workers"]] == [1, 2, 3, 4, 5]
    work(tmp_path, 6, 1)      # 2 more SCORE and 0 more MCORE pilots wanted beside the pending ones... at most
    standin.calls.clear()
    assert apfctl(tmp_path, "cycle", "--all").returncode == 0
    new = [w["workerID"] for u in standin.bodies("update_workers") for w in u["workers"] if w["workerID"] > 5]
    assert new and new == list(range(6, 6 + len(new)))
