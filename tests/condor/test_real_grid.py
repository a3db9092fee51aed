"""Grid pilots for real: HTCondor-C to the CE pool, the blahp to the local Slurm, cloud mode.

The CE pool stands in for an HTCondor-CE (``CondorCE``: ``grid_resource = condor <schedd>
<collector>``); the blahp submits to the project's system-wide Slurm (``CondorBatch``:
``grid_resource = batch slurm``), shared with other tests, so only this test's jobs are
looked at. Pilots are counted on the factory side, as the factory sees them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from apfctl.record import new_cycle_id
from apfctl.stages.status import collect
from tests.condor.condor_helpers import OWNER, batch, loaded, real_section, submit_plugin
from tests.condor.real_pools import IN_CI, wait_for

pytestmark = pytest.mark.condor_pool


def token(real) -> str:
    path = real.folder / "pilot.token"
    path.write_text("eyJhbGciOiJub25lIn0.e30.\n")   # HTCondor-C with FS auth does not read it
    path.chmod(0o644)
    return str(path)


def test_condorce_pilots_run_on_the_ce_pool_and_are_counted_on_the_factory_side(real):
    queue = real.queue("CE")
    body = (f"batchsubmit.condorce.gridresource = {real.pools.ce_schedd}\n"
            f"batchsubmit.condorce.port = {real.pools.ce_port}\n"
            f"batchsubmit.condorce.scitokens_file = {token(real)}\n")
    ld = loaded(real.folder, real_section(queue, real.pilot(0), plugin="CondorCE", body=body))
    ids = submit_plugin(ld, queue).submit(2, new_cycle_id()).ids
    [ad] = real.jobs(f"ClusterId == {ids[0].split('.')[0]} && ProcId == 0", ["GridResource", "JobUniverse"])
    assert ad["JobUniverse"] == 9
    assert ad["GridResource"] == f"condor {real.pools.ce_schedd} {real.pools.ce_schedd}:{real.pools.ce_port}"
    wait_for(lambda: len(real.jobs(projection=["ExitCode"], history=True)) == 2,
             "the factory to see the pilots complete", timeout=240)
    # they ran on the CE pool: completed there (still queued until the factory's gridmanager
    # lets go of them, or already in the CE's history)
    ce = real.ce_schedd()
    fields = ["ClusterId", "ProcId", "ExitCode"]
    ran = {(ad["ClusterId"], ad["ProcId"]): ad.get("ExitCode") for ad in
           [*ce.query(constraint=f"{real.mine()} && JobStatus == 4", projection=fields),
            *ce.history(constraint=real.mine(), projection=fields)]}
    assert sorted(ran.values()) == [0, 0]
    counts = batch(ld, queue)
    assert (counts["done_1h"], counts["fault_1h"]) == (2, 0)


def slurm_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    return subprocess.run(["sinfo", "-h"], capture_output=True, timeout=30, check=False).returncode == 0


def test_condorbatch_pilots_run_as_slurm_jobs_through_the_blahp(real):
    if not slurm_up():
        if IN_CI:
            pytest.fail("CI needs the local Slurm (scripts/slurm-local.sh)", pytrace=False)
        pytest.skip("no local Slurm (scripts/slurm-local.sh)")
    queue = real.queue("BLAH")
    ld = loaded(real.folder, real_section(queue, real.pilot(0), plugin="CondorBatch",
                                     body="batchsubmit.condorbatch.batch = slurm\n"))
    ids = submit_plugin(ld, queue).submit(1, new_cycle_id()).ids
    assert len(ids) == 1
    # the gridmanager hands the job to the blahp, which sbatches it: GridJobId names the Slurm job
    [ad] = wait_for(lambda: real.jobs(projection=["GridJobId", "ExitCode"], history=True),
                    "the Slurm job to complete", timeout=300)
    found = re.search(r"^batch slurm .*\bslurm/\d+/(\d+)$", ad["GridJobId"])
    assert found, ad["GridJobId"]
    assert ad["ExitCode"] == 0
    accounting = subprocess.run(["sacct", "-n", "-X", "-P", "-j", found.group(1), "-o", "State,User,JobName"],
                                capture_output=True, text=True, timeout=60, check=False)
    if accounting.returncode == 0:   # (a Slurm without accounting has only its job-completion log)
        state, user, name = accounting.stdout.strip().split("|")
        assert (state, user, name[:3]) == ("COMPLETED", OWNER, "bl_"), accounting.stdout   # the blahp's job
    counts = batch(ld, queue)
    assert (counts["done_1h"], counts["fault_1h"]) == (1, 0)


def test_cloud_mode_reads_user_jobs_of_one_pool_and_submits_pilots_to_the_other(real):
    """Overlay/cloud mode: user jobs wait on the CE pool; the factory sizes its pilots to them."""
    import htcondor2

    user_queue, queue = real.queue("USERS"), real.queue("VMS")
    ce = real.ce_schedd()
    jobs = htcondor2.Submit({"executable": "/bin/true", "requirements": "False",
                             "+MATCH_APF_QUEUE": f'"{user_queue}"'})
    ce.submit(jobs, count=3)
    port = real.pools.ce_port
    body = (f"wmsstatusplugin = Condor\nwmsqueue = {user_queue}\n"
            f"wmsstatus.condor.scheddhost = {real.pools.ce_schedd}\n"
            f"wmsstatus.condor.collectorhost = 127.0.0.1\nwmsstatus.condor.collectorport = {port}\n"
            "batchsubmit.condorlocal.condor_attributes.requirements = False\n")
    ld = loaded(real.folder, real_section(queue, real.pilot(0), body=body).replace("schedplugin = Fixed\n"
                "sched.fixed.pilots = 0\n", "schedplugin = Ready\n"))
    [record] = collect(ld, [queue])
    assert record["wms"].get("ready") == 3, json.dumps(record["wms"])
    from apfctl.stages.decide import Decider

    decided = Decider(ld).decide(record)
    assert decided["decision"]["pilots"] == 3
    submit_plugin(ld, queue).submit(3, new_cycle_id())
    [again] = collect(ld, [queue])
    assert (again["wms"]["ready"], again["batch"]["pending"]) == (3, 3)


def test_cloud_mode_with_wmsqueue_any_does_not_count_the_factorys_own_pilots_as_work(real):
    """Defect: 3 user jobs grew to 21 VMs in 3 cycles when pilots shared the pool with them."""
    import htcondor2

    queue = real.queue("ANYVM")
    users = htcondor2.Submit({"executable": "/bin/true", "requirements": "False",
                              "+MATCH_APF_QUEUE": f'"{real.queue("USERJOBS")}"'})
    real.schedd.submit(users, count=3)
    body = "wmsstatusplugin = Condor\nwmsqueue = ANY\nbatchsubmit.condorlocal.condor_attributes.requirements = False\n"
    ld = loaded(real.folder, real_section(queue, real.pilot(0), body=body))
    before = collect(ld, [queue])[0]["wms"]["ready"]
    submit_plugin(ld, queue).submit(3, new_cycle_id())
    after = collect(ld, [queue])[0]["wms"]["ready"]
    assert after == before   # our 3 idle pilots are not waiting work
