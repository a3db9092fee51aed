"""The HTCondor plugins against the real factory pool's schedd (``scripts/condor-pools.sh``).

The same scenarios as the fake-schedd tests: submission, status and history, the hold
policy of ``apfctl clean``, stale idle pilots, retirement and idempotency. Pilots that must
stay idle carry ``requirements = False`` (no slot matches); the others are tiny scripts the
pool's user runs. Every test's queues end in the test's own tag; its jobs are removed after.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from apfctl.ledger import Ledger
from apfctl.record import new_cycle_id
from apfctl.stages.status import collect
from apfctl.stages.submit import Submitter
from tests.condor.condor_helpers import HOLD, NEVER, OWNER, batch, loaded, real_section, submit_plugin
from tests.condor.real_pools import wait_for

pytestmark = pytest.mark.condor_pool
def test_local_pilots_run_and_are_counted_done_fault_and_held_apart(real):
    done, fault, held = real.queue("DONE"), real.queue("FAULT"), real.queue("HELD")
    ld = loaded(real.folder, real_section(done, real.pilot(0)) + real_section(fault, real.pilot(3))
                + real_section(held, real.pilot(0), body="batchsubmit.{p}.condor_attributes = hold = True\n"))
    cycle = new_cycle_id()
    for queue in (done, fault, held):
        assert len(submit_plugin(ld, queue).submit(2, cycle).ids) == 2
    wait_for(lambda: len(real.jobs(projection=["ClusterId"], history=True)) >= 4, "four pilots to finish")
    records = {r["queue"]: r["batch"] for r in collect(ld, [done, fault, held])}
    assert (records[done]["done_1h"], records[done]["fault_1h"]) == (2, 0)
    assert (records[fault]["done_1h"], records[fault]["fault_1h"]) == (0, 2)
    assert records[held]["held"] == 2 and records[held]["pending"] == 0
    [reason] = records[held]["held_reasons"]
    assert reason["code"] == 15 and reason["count"] == 2   # HTCondor's "submitted on hold"
    # the pilots ran as the pool's user and wrote their logs in the queue's log folder
    log_dir, _ = ld.context.queue_log_dir(done)
    assert sorted(p.suffix for p in log_dir.iterdir() if p.name[0].isdigit()).count(".log") == 2


def test_the_same_record_twice_and_a_fresh_ledger_submit_once(real, tmp_path):
    queue = real.queue("IDEM")
    ld = loaded(real.folder, real_section(queue, real.pilot(0), body=NEVER))
    record = {**collect(ld, [queue])[0]}
    record["decision"] = {"pilots": 3, "rule": "test", "reason": "test", "steps": []}
    with Ledger(ld.context.state_dir) as ledger:
        first = Submitter(ld, ledger).submit(json.loads(json.dumps(record)))
        again = Submitter(ld, ledger).submit(json.loads(json.dumps(record)))
    with Ledger(tmp_path / "fresh-state") as fresh:   # the ledger is lost: the schedd's stamps remain
        lost = Submitter(ld, fresh).submit(json.loads(json.dumps(record)))
    assert first["submission"]["submitted"] == 3 and first["submission"]["error"] is None
    assert again["submission"]["submitted"] == 0 and again["submission"]["skipped"]
    assert lost["submission"]["submitted"] == 0 and sorted(lost["submission"]["ids"]) == sorted(
        first["submission"]["ids"])
    assert len(real.jobs(projection=["ClusterId"])) == 3


def submit_at(ld, queue: str, n: int) -> list[str]:
    ids = submit_plugin(ld, queue).submit(n, new_cycle_id()).ids
    time.sleep(1.1)   # QDate has one-second resolution: the next submission is newer
    return ids


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_retirement_removes_idle_pilots_first_in_killorder_with_apfctls_reason(real, order):
    queue = real.queue("RETIRE")
    body = NEVER + f"batchsubmit.{{p}}.overlay.killorder = {order}\n"
    ld = loaded(real.folder, real_section(queue, real.pilot(0), body=body))
    older = submit_at(ld, queue, 2)
    newer = submit_at(ld, queue, 2)
    retired = submit_plugin(ld, queue).retire(2).ids
    assert sorted(retired) == sorted(newer if order == "newest" else older)
    removed = wait_for(lambda: real.jobs("JobStatus == 3", ["RemoveReason"], history=True), "removed pilots")
    assert all(ad["RemoveReason"].startswith("apfctl retire: queue") for ad in removed)
    assert batch(ld, queue)["fault_1h"] == 0   # the factory's own removals are not faults


def test_peaceful_retirement_spares_running_pilots_and_unpeaceful_takes_them(real):
    queue = real.queue("PEACE")
    runs = loaded(real.folder / "a", real_section(queue, real.pilot(0, sleep=300)))
    idle = loaded(real.folder / "b", real_section(queue, real.pilot(0), body=NEVER))
    running = submit_plugin(runs, queue).submit(1, new_cycle_id()).ids
    waiting = submit_plugin(idle, queue).submit(2, new_cycle_id()).ids
    wait_for(lambda: real.jobs("JobStatus == 2", ["ClusterId"]), "the sleeping pilot to run")
    assert sorted(submit_plugin(runs, queue).retire(5).ids) == sorted(waiting)
    assert real.jobs("JobStatus == 2", ["ClusterId"])   # still running
    rough = loaded(real.folder / "c",
                   real_section(queue, real.pilot(0), body="batchsubmit.{p}.overlay.peaceful = False\n"))
    assert submit_plugin(rough, queue).retire(5).ids == running


def test_clean_releases_held_pilots_up_to_maxreleases_then_removes_them(real):
    import htcondor2

    queue, other = real.queue("HOLDS"), real.queue("UNMATCHED")
    policy = "batchsubmit.{p}.clean.held.release = 1\nbatchsubmit.{p}.clean.held.maxreleases = 1\n"
    ld = loaded(real.folder, real_section(queue, real.pilot(0), body=NEVER + policy)
                + real_section(other, real.pilot(0), body="batchsubmit.{p}.condor_attributes = hold = True\n"))
    ids = submit_plugin(ld, queue).submit(2, new_cycle_id()).ids
    submit_plugin(ld, other).submit(1, new_cycle_id())
    real.schedd.act(htcondor2.JobAction.Hold, ids, ("site trouble", None))   # HoldReasonCode 1, NumHolds 1
    first = submit_plugin(ld, queue).clean()
    assert [(a["what"], sorted(a["ids"]), a["succeeded"]) for a in first] == [("release", sorted(ids), 2)]
    released = real.jobs("JobStatus == 1", ["ReleaseReason", "NumHolds"])
    # as the schedd records it: our reason, then who acted
    assert [ad["ReleaseReason"] for ad in released] == [f"{first[0]['reason']} (by user {OWNER})"] * 2
    real.schedd.act(htcondor2.JobAction.Hold, ids, ("site trouble again", None))   # NumHolds 2
    second = submit_plugin(ld, queue).clean()
    assert [(a["what"], sorted(a["ids"])) for a in second] == [("remove_held", sorted(ids))]
    unmatched = submit_plugin(ld, other).clean()
    assert [a["what"] for a in unmatched] == ["remove_held"]
    gone = wait_for(lambda: len(found := real.jobs("JobStatus == 3", ["RemoveReason", "MATCH_APF_QUEUE"],
                                                   history=True)) == 3 and found, "three removed pilots")
    assert {ad["RemoveReason"] for ad in gone} == {f"{second[0]['reason']} (by user {OWNER})",
                                                  f"{unmatched[0]['reason']} (by user {OWNER})"}
    assert batch(ld, queue)["fault_1h"] == 2   # held pilots removed: something went wrong with them


def test_clean_removes_pilots_idle_longer_than_stale_idle(real):
    queue = real.queue("STALE")
    ld = loaded(real.folder, real_section(queue, real.pilot(0), body=NEVER + "batchsubmit.{p}.clean.stale.idle = 1\n"))
    ids = submit_plugin(ld, queue).submit(2, new_cycle_id()).ids
    time.sleep(2.1)
    [action] = submit_plugin(ld, queue).clean()
    assert (action["what"], sorted(action["ids"]), action["succeeded"]) == ("remove_stale", sorted(ids), 2)
    removed = wait_for(lambda: len(found := real.jobs("JobStatus == 3", ["RemoveReason"], history=True)) == 2
                       and found, "stale pilots in the history")
    assert all(ad["RemoveReason"].startswith("apfctl clean: idle longer") for ad in removed)
    counts = batch(ld, queue)
    assert (counts["done_1h"], counts["fault_1h"], counts["pending"]) == (0, 0, 0)


def test_the_apfctl_clean_command_removes_unmatched_held_pilots_on_the_real_schedd(real):
    import subprocess
    import sys

    queue = real.queue("CLI")
    ld = loaded(real.folder, real_section(queue, real.pilot(0), body=HOLD))
    ids = submit_plugin(ld, queue).submit(2, new_cycle_id()).ids
    env = {**os.environ, "APFCTL_STATE_DIR": str(real.folder / "state")}   # CONDOR_CONFIG: the factory pool
    result = subprocess.run([sys.executable, "-m", "apfctl", "clean", "--queue", queue, "--no-logs", "--config",
                             str(real.folder / "apfctl.conf")], capture_output=True, text=True, env=env,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    [action] = [json.loads(line) for line in result.stdout.splitlines()]
    assert (action["what"], sorted(action["ids"]), action["succeeded"]) == ("remove_held", sorted(ids), 2)
    wait_for(lambda: len(real.jobs("JobStatus == 3", ["ClusterId"], history=True)) == 2, "removed held pilots")
