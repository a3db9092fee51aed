"""VM states and the retirement plan: pure functions over job and startd ads (dicts here)."""

from __future__ import annotations

import pytest
from apfctl_condor.cloud import plan_retire
from apfctl_condor.states import BadAttribute
from apfctl_condor.vms import batch_view, counts, vm_states

NOW = 1_800_000_000.0
ATTR = "EC2InstanceID"


def job(proc: int, status: int = 2, instance: str | None = None, age: float = 60, retiring: float | None = None):
    ad = {"ClusterId": 7, "ProcId": proc, "JobStatus": status, "QDate": NOW - age - 10,
          "EnteredCurrentStatus": NOW - age, "GridJobStatus": "running" if instance else None}
    if instance:
        ad["EC2InstanceName"] = instance
    if retiring is not None:
        ad["ApfctlRetiring"] = retiring
    return ad


def slot(instance: str, state: str = "Unclaimed"):
    return {ATTR: instance, "Name": f"slot1@vm-{instance}", "Machine": f"vm-{instance}", "State": state}


def states(jobs, slots, boot_timeout: float = 300):
    return {vm.job: vm for vm in vm_states(jobs, slots, ATTR, boot_timeout, NOW)}


def test_each_vm_state_from_its_grid_job_and_startd():
    jobs = [job(0, status=1, age=5), job(1, instance="i-a"), job(2, instance="i-b"), job(3, instance="i-c"),
            job(4, instance="i-d", retiring=NOW - 30), job(5, instance="i-e", retiring=NOW - 30),
            job(6, instance="i-f", age=600), job(7, status=1, age=600), job(8, status=5, instance="i-h")]
    slots = [slot("i-b"), slot("i-c", "Claimed"), slot("i-c"), slot("i-d", "Claimed"), {"Name": "other"}]
    found = states(jobs, slots)
    assert {k: v.state for k, v in found.items()} == {
        "7.0": "booting", "7.1": "booting", "7.2": "idle", "7.3": "busy", "7.4": "draining", "7.5": "gone",
        "7.6": "gone", "7.7": "gone"}   # 7.8 is held: the batch's held count, not a VM
    assert found["7.3"].startd == "vm-i-c" and found["7.3"].instance == "i-c"
    assert found["7.5"].why == "its startd left the pool after retirement"
    assert "within the boot timeout (300 s)" in found["7.6"].why and "i-f" in found["7.6"].why
    assert found["7.7"].why == "no instance within the boot timeout (300 s)"
    assert counts(found.values()) == {"pending": 2, "idle": 1, "busy": 1, "retiring": 1, "gone": 3}
    # decide: booting VMs are pending; every VM still up costs, so it runs until removed
    assert batch_view(list(found.values())) == {"pending": 2, "running": 6, "retiring": 4}


def test_a_wrong_typed_instance_id_names_the_job_and_attribute():
    with pytest.raises(BadAttribute, match=r"job 7\.0: attribute EC2InstanceName is int"):
        states([{**job(0), "EC2InstanceName": 5}], [])


def test_retirement_removes_gone_vms_then_waiting_ones_then_drains_idle_ones_newest_first():
    jobs = [job(0, instance="i-old", age=900), job(1, instance="i-new", age=100), job(2, instance="i-busy"),
            job(3, status=1, age=5), job(4, instance="i-gone", retiring=NOW - 10)]
    vms = list(states(jobs, [slot("i-old"), slot("i-new"), slot("i-busy", "Claimed")], 3600).values())
    by_id = {f"7.{j['ProcId']}": j for j in jobs}
    plan = plan_retire(vms, by_id, 3, peaceful=True, killorder="newest", drain_grace=0, now=NOW)
    # the gone VM counts against the three; then the one still waiting for an instance; then the newest idle
    assert [vm.job for vm in plan["remove"]] == ["7.4", "7.3"]
    assert [vm.job for vm in plan["drain"]] == ["7.1"]
    oldest = plan_retire(vms, by_id, 4, peaceful=True, killorder="oldest", drain_grace=0, now=NOW)
    assert [vm.job for vm in oldest["drain"]] == ["7.0", "7.1"]   # never the busy one while peaceful


def test_busy_vms_are_drained_only_when_not_peaceful_and_removed_only_after_the_grace():
    jobs = [job(0, instance="i-busy"), job(1, instance="i-draining", retiring=NOW - 100)]
    vms = list(states(jobs, [slot("i-busy", "Claimed"), slot("i-draining", "Claimed")]).values())
    by_id = {f"7.{j['ProcId']}": j for j in jobs}
    peaceful = plan_retire(vms, by_id, 2, peaceful=True, killorder="newest", drain_grace=50, now=NOW)
    assert peaceful == {"remove": [], "drain": []}   # the draining one counts; nothing running is killed
    rough = plan_retire(vms, by_id, 2, peaceful=False, killorder="newest", drain_grace=0, now=NOW)
    assert ([vm.job for vm in rough["remove"]], [vm.job for vm in rough["drain"]]) == ([], ["7.0"])
    graced = plan_retire(vms, by_id, 2, peaceful=False, killorder="newest", drain_grace=50, now=NOW)
    assert [vm.job for vm in graced["remove"]] == ["7.1"]   # draining 100 s > grace 50 s


def test_vms_already_retiring_are_not_retired_twice():
    jobs = [job(0, instance="i-a", retiring=NOW - 5), job(1, instance="i-b")]
    vms = list(states(jobs, [slot("i-a"), slot("i-b")]).values())
    plan = plan_retire(vms, {f"7.{j['ProcId']}": j for j in jobs}, 1, peaceful=True, killorder="newest",
                       drain_grace=0, now=NOW)
    assert plan == {"remove": [], "drain": []}


@pytest.mark.parametrize("ready, running, pending, vms_up, per_vm, out", [
    (2, 0, 0, 0, 1, 2),      # work waits: VMs for it
    (2, 0, 2, 0, 1, 0),      # they boot: nothing more
    (0, 2, 0, 2, 1, 0),      # the jobs run on them
    (0, 0, 0, 2, 1, -2),     # the work is done: retire both
    (5, 0, 0, 1, 2, 2),      # two jobs to a VM: 3 needed, 1 up
])
def test_vms_for_work_sizes_the_vms_to_the_user_jobs(ready, running, pending, vms_up, per_vm, out):
    from tests.sched.sched_helpers import rule as make_rule

    rule = make_rule("VMsForWork", {"sched.vmsforwork.jobs_per_vm": str(per_vm)})
    record = {"wms": {"ok": True, "plugin": "Condor", "ready": ready, "running": running},
              "batch": {"ok": True, "pending": pending, "running": vms_up}}
    n, msg = rule(0, record)
    assert n == out and msg.endswith(f"ret={out}")
    unusable = (0, "VMsForWork:comment=Invalid wmsinfo or batchinfo,in=0,ret=0")
    assert rule(0, {"wms": {"ok": False}, "batch": {}}) == unusable
