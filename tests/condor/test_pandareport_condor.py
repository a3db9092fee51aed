"""HTCondor pilots through the real submit stage (fake schedd), reported to the Harvester API stand-in."""

from __future__ import annotations

import time

import pytest
from apfctl_pandareport.testkit import HarvesterStandIn
from pytest_httpserver import HTTPServer

from apfctl.ledger import Ledger
from apfctl.stages.publish import publish
from apfctl.stages.submit import Submitter
from tests.condor.condor_helpers import loaded, queue_section, write

CYCLE = "20261201T120000Z-0abc"


@pytest.fixture
def standin(httpserver: HTTPServer):
    server = HarvesterStandIn(httpserver)
    yield server
    server.released.set()


def test_condor_pilots_state_changes_reach_panda(tmp_path, pool, standin):
    write(tmp_path / "monitor.conf", f"[panda]\nmonitorplugin = PandaReport\npandareport.baseurl = {standin.url()}\n")
    ld = loaded(tmp_path, queue_section("CE_Q", body="wmsqueue = CE_SITE\nmonitorsection = panda\n"),
                extra="monitorConf = monitor.conf")
    record = {"apfctl": 1, "queue": "CE_Q", "cycle": CYCLE, "decision": {"pilots": 3, "msg": "", "trace": []}}
    with Ledger(ld.context.state_dir) as ledger:
        record = Submitter(ld, ledger).submit(record)
    ids = record["submission"]["ids"]
    assert len(ids) == 3
    schedd = pool.schedd()
    for batch_id in ids:   # the ids themselves come from $INT, which condor_submit expands (test_worker_ids.py)
        environment = schedd.jobs[tuple(map(int, batch_id.split(".")))]["Environment"]
        assert "HARVESTER_ID=test-factory" in environment and "HARVESTER_WORKER_ID=" in environment
    publish(ld, [record])
    [update] = standin.bodies("update_workers")
    assert [(w["batchID"], w["workerID"], w["status"]) for w in update["workers"]] == [
        (batch_id, n + 1, "submitted") for n, batch_id in enumerate(ids)]

    now = int(time.time())
    schedd.set(ids[0], JobStatus=2, JobCurrentStartDate=now)
    schedd.finish(ids[1], exit_code=0)
    schedd.finish(ids[2], exit_code=2)
    standin.calls.clear()
    publish(ld, [record])
    [update] = standin.bodies("update_workers")
    states = {w["batchID"]: (w["status"], w["startTime"] is not None, w["endTime"] is not None)
              for w in update["workers"]}
    assert states == {ids[0]: ("running", True, False), ids[1]: ("finished", False, True),
                      ids[2]: ("failed", False, True)}
