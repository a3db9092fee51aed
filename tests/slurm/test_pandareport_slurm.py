"""Slurm pilots reported to a stand-in of PanDA's Harvester API: worker ids in their environment, their states."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from apfctl_pandareport.testkit import HarvesterStandIn
from pytest_httpserver import HTTPServer

from tests.slurm.slurm_helpers import Site, records, wait_for

pytestmark = pytest.mark.slurm

PILOT = """#!/bin/sh
env | grep -E '^HARVESTER_(ID|WORKER_ID)=' | sort
exit "${1:-0}"
"""


def test_slurm_pilots_know_their_worker_and_panda_sees_them_end(site: Site, httpserver: HTTPServer) -> None:
    standin = HarvesterStandIn(httpserver)
    pilot = site.folder / "harvester-pilot.sh"
    pilot.write_text(PILOT)
    pilot.chmod(0o755)
    site.write({"SL_PANDA": {"sched.fixed.pilotspercycle": "3", "executable": str(pilot),
                             "executable.arguments": "0", "wmsqueue": "SLURM_SITE", "monitorsection": "panda"}})
    (site.folder / "monitor.conf").write_text(f"[panda]\nmonitorplugin = PandaReport\n"
                                              f"pandareport.baseurl = {standin.url()}\n")
    site.config.write_text(site.config.read_text() + f"monitorConf = {site.folder / 'monitor.conf'}\n")
    result = site.apfctl("cycle", "--queue", "SL_PANDA")
    assert result.returncode == 0, result.stderr
    ids = records(result)["SL_PANDA"]["submission"]["ids"]
    [update] = standin.bodies("update_workers")
    workers = {w["batchID"]: w for w in update["workers"]}
    assert sorted(workers) == sorted(ids)
    assert sorted(w["workerID"] for w in workers.values()) == [1, 2, 3]
    assert {w["status"] for w in workers.values()} <= {"submitted", "running", "finished"}

    wait_for(lambda: all(job.category == "done" for job in site.jobs("SL_PANDA")) and len(site.jobs("SL_PANDA")) == 3,
             what="three pilots to end")
    folder = site.logs / f"{dt.datetime.now(dt.UTC):%Y-%m-%d}" / "SL_PANDA"
    for batch_id, worker in workers.items():
        output = (folder / f"{batch_id}.out").read_text()
        assert f"HARVESTER_ID={site.factory_id}\nHARVESTER_WORKER_ID={worker['workerID']}\n" in output

    standin.calls.clear()
    site.write({"SL_PANDA": {"sched.fixed.pilotspercycle": "0", "executable": str(pilot), "wmsqueue": "SLURM_SITE",
                             "monitorsection": "panda"}})
    site.config.write_text(site.config.read_text() + f"monitorConf = {site.folder / 'monitor.conf'}\n")
    assert site.apfctl("cycle", "--queue", "SL_PANDA").returncode == 0
    ended = {w["batchID"]: w for body in standin.bodies("update_workers") for w in body["workers"]}
    assert set(ended) <= set(ids)
    # all that had not been reported finished are now: nothing is left open
    stats = json.loads(standin.bodies("report_worker_statistics")[0]["statistics"])
    assert stats == {"ANY": {"ANY": {"submitted": 0, "running": 0}}}
    assert all(w["status"] == "finished" and w["endTime"].startswith("datetime/") for w in ended.values())
    assert set(ended) | {b for b, w in workers.items() if w["status"] == "finished"} == set(ids)
