"""The Harvester rule: Harvester's pull-mode worker count per type, then the queue-wide trim.

Every number below is worked by hand from worker_adjuster.py's define_num_workers and
db_proxy.py's get_worker_limits (see docs/resource-types.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from apfctl.config.loader import load
from apfctl.stages.decide import Decider

QUEUES = """
[DEFAULT]
enabled = True
wmsstatusplugin = File
wmsstatus.file.path = wms.json
batchstatusplugin = Local
batchsubmitplugin = Local
executable = /bin/true
schedplugin = Harvester

[HARV]
resourcetypes = SCORE, MCORE
corecount = 8
maxrss = 16000
nQueueLimitWorker = 10
maxWorkers = 20

[HARV_NOJOBS]
resourcetypes = SCORE, MCORE
corecount = 8
maxrss = 16000
nQueueLimitWorker = 10
noPilotsWhenNoActiveJobs = True

[HARV_RATIO]
resourcetypes = SCORE, MCORE
corecount = 8
maxrss = 16000
nQueueLimitWorker = 100
nQueueLimitWorkerRatio = 50
nQueueLimitWorkerMin = 4
nQueueLimitWorkerCores = 30

[PLAIN]
nQueueLimitWorker = 5
"""


@pytest.fixture
def decider(tmp_path: Path) -> Decider:
    (tmp_path / "queues.conf").write_text(QUEUES)
    (tmp_path / "wms.json").write_text("{}")
    (tmp_path / "apfctl.conf").write_text("[Factory]\nfactoryId = t\nqueueConf = queues.conf\n")
    return Decider(load(str(tmp_path / "apfctl.conf"), tmp_path / "state"))


def record(queue: str, activated: dict[str, int], pending: dict[str, int], running: dict[str, int],
           status: str = "online", untyped_pending: int = 0) -> dict:
    zero = {"notready": 0, "done": 0, "failed": 0}
    return {"apfctl": 1, "queue": queue, "cycle": "20261201T000000Z-0001",
            "wms": {"plugin": "File", "ok": True, "queue": queue, "ready": sum(activated.values()), "running": 0,
                    "status": status, "error": None, **zero,
                    "types": {rt: {"ready": n, "running": 0, **zero} for rt, n in activated.items()}},
            "batch": {"plugin": "Local", "ok": True, "pending": sum(pending.values()) + untyped_pending, "held": 0,
                      "running": sum(running.values()), "exiting": 0, "done_1h": 0, "fault_1h": 0, "error": None,
                      "types": {rt: {"pending": pending.get(rt, 0), "held": 0, "running": running.get(rt, 0),
                                     "exiting": 0} for rt in activated}}}


def pilots(decision: dict) -> dict[str, int]:
    return {rt: typed["pilots"] for rt, typed in decision["types"].items()}


def test_per_type_numbers_then_the_queue_wide_trim(decider: Decider):
    # SCORE: 3 queued + 10 running; target min(10, 50) = 10 -> 7, maxWorkers headroom 20 - 13 = 7 -> 7.
    # MCORE: 1 queued + 4 running; target min(10, 2) = 2 -> 1.
    # queue: queued headroom 10 - 4 = 6, maxWorkers headroom 20 - 4 - 14 = 2: 8 trimmed to 2:
    # 7*2/8 = 1 r 6, 1*2/8 = 0 r 2 -> the one left to SCORE.
    decision = decider.decide(record("HARV", {"SCORE": 50, "MCORE": 2}, {"SCORE": 3, "MCORE": 1},
                                     {"SCORE": 10, "MCORE": 4}))["decision"]
    steps = {(step["type"], step["rule"]): step for step in decision["trace"]}
    assert steps[("SCORE", "Harvester")]["out"] == 7 and steps[("MCORE", "Harvester")]["out"] == 1
    assert steps[("SCORE", "Harvester")]["msg"] == (
        "Harvester:comment=target 10 less queued 3,in=0,activated=50,queued=3,running=10,ret=7")
    assert pilots(decision) == {"SCORE": 2, "MCORE": 0} and decision["pilots"] == 2


def test_offline_site_gets_nothing(decider: Decider):
    decision = decider.decide(record("HARV", {"SCORE": 50, "MCORE": 2}, {}, {}, status="offline"))["decision"]
    assert pilots(decision) == {"SCORE": 0, "MCORE": 0}
    assert decision["types"]["SCORE"]["msg"].startswith("Harvester:comment=queue status offline")


def test_no_activated_job_gives_one_pilot_unless_no_pilots_when_no_active_jobs(decider: Decider):
    idle = ({"SCORE": 0, "MCORE": 0}, {}, {})
    assert pilots(decider.decide(record("HARV", *idle))["decision"]) == {"SCORE": 1, "MCORE": 1}
    assert pilots(decider.decide(record("HARV_NOJOBS", *idle))["decision"]) == {"SCORE": 0, "MCORE": 0}


def test_ratio_min_and_cores_limit(decider: Decider):
    # 6 running: 50% = 3 < Min 4, so the queued limit is min(100, 4) = 4 and per type ceil(4 / 2) = 2.
    # cores: no ratio, 30; queued cores 0. SCORE target min(2, 40) = 2; MCORE (8 cores) min(2, 9) = 2,
    # capped by 30 // 8 = 3: 2. The queue: 4 queued at most, 2 + 2 = 4; cores 2 + 16 = 18 <= 30.
    decision = decider.decide(record("HARV_RATIO", {"SCORE": 40, "MCORE": 9}, {}, {"SCORE": 6}))["decision"]
    assert pilots(decision) == {"SCORE": 2, "MCORE": 2}


def test_untyped_pilots_count_as_queued_for_every_type(decider: Decider):
    # 3 untyped pending: each type sees 3 queued; SCORE min(10, 50) - 3 = 7, MCORE min(10, 2) - 3 < 0 = 0.
    # queue: 10 - 3 = 7 queued headroom, maxWorkers 20 - 3 = 17: SCORE 7.
    decision = decider.decide(record("HARV", {"SCORE": 50, "MCORE": 2}, {}, {}, untyped_pending=3))["decision"]
    assert pilots(decision) == {"SCORE": 7, "MCORE": 0}


def test_an_untyped_queue_uses_the_rule_on_its_totals(decider: Decider):
    plain = record("PLAIN", {"SCORE": 100}, {}, {}, untyped_pending=2)
    del plain["wms"]["types"], plain["batch"]["types"]
    decision = decider.decide(plain)["decision"]
    assert decision["pilots"] == 3 and "types" not in decision   # min(5, 100) - 2
