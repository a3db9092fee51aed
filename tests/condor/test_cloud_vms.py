"""Cloud mode for real: VMs through HTCondor's EC2 grid type, joining the user pool, retired gracefully.

The factory pool submits each VM as an EC2 grid job to a local EC2 API (moto, in this test
process); HTCondor's EC2 GAHP starts the instance there. For each instance the test starts
what the VM image would: a startd advertising the instance id that joins the user pool
(the suite's second pool). User jobs wait in the user pool for such a startd
(``requirements`` on ``EC2InstanceID``), run on it, and the factory then drains the VMs
through the ``htcondor2`` bindings and removes their grid jobs: the instances end terminated.
"""

from __future__ import annotations

import json

import pytest

from apfctl.record import new_cycle_id
from apfctl.stages.decide import Decider
from apfctl.stages.status import collect
from tests.condor.cloud_helpers import EC2API, VMStartd, owned_by_pool_user
from tests.condor.condor_helpers import loaded, real_section, submit_plugin
from tests.condor.real_pools import wait_for

pytestmark = pytest.mark.condor_pool


@pytest.fixture(scope="session")
def ec2():
    """One EC2 API for the session: it outlives every test's clean-up (removed VMs' instances are terminated)."""
    api = EC2API()
    yield api
    api.close()


@pytest.fixture
def vms(real):
    """Start "VMs" (startds for instance ids) in the user pool; all stopped after the test."""
    started: list[VMStartd] = []

    def start(instance: str) -> VMStartd:
        vm = VMStartd(real.pools.release, real.pools.ce_config, real.folder / f"vm-{instance}", instance).start()
        started.append(vm)
        return vm

    yield start
    for vm in started:
        vm.stop()


def keys(real) -> tuple[str, str]:
    access = real.folder / "access.key"
    access.write_text("AKIAEXAMPLE\n")
    secret = real.folder / "secret.key"
    secret.write_text("not-a-secret\n")
    return str(owned_by_pool_user(access, 0o600)), str(owned_by_pool_user(secret, 0o600))


def cloud_queue(real, ec2, queue: str, users: str, extra: str = "") -> str:
    access, secret = keys(real)
    body = (f"wmsstatusplugin = Condor\nwmsqueue = {users}\n"
            f"wmsstatus.condor.scheddhost = {real.pools.ce_schedd}\n"
            f"wmsstatus.condor.collectorhost = 127.0.0.1\nwmsstatus.condor.collectorport = {real.pools.ce_port}\n"
            f"batchsubmit.condorec2.gridresource = {ec2.url}\n"
            f"batchsubmit.condorec2.ami_id = {ec2.image()}\n"
            "batchsubmit.condorec2.instance_type = t2.micro\n"
            f"batchsubmit.condorec2.access_key_id = {access}\n"
            f"batchsubmit.condorec2.secret_access_key = {secret}\n"
            f"batchsubmit.condorec2.vm.collector = 127.0.0.1:{real.pools.ce_port}\n") + extra
    return real_section(queue, "/bin/true", plugin="CondorEC2", body=body).replace(
        "schedplugin = Fixed\nsched.fixed.pilots = 0\n", "schedplugin = VMsForWork\n")


def instances_of(real) -> dict[str, str]:
    """Grid job id -> instance id, for this test's VMs that have one."""
    return {f"{ad['ClusterId']}.{ad['ProcId']}": ad["EC2InstanceName"]
            for ad in real.jobs("EC2InstanceName =!= undefined", ["ClusterId", "ProcId", "EC2InstanceName"])}


def cycle(ld, queue: str) -> dict:
    """One factory cycle of the queue: status, decide, submit (or retire) through the stages."""
    from apfctl.ledger import Ledger
    from apfctl.stages.submit import Submitter

    decided = Decider(ld).decide(vm_section(ld, queue))
    with Ledger(ld.context.state_dir) as ledger:
        return Submitter(ld, ledger).submit(json.loads(json.dumps(decided)))


def vm_section(ld, queue: str) -> dict:
    [record] = collect(ld, [queue])
    assert record["batch"]["ok"], json.dumps(record["batch"])
    return record


def test_vms_boot_join_run_the_user_jobs_then_drain_and_end_terminated(real, ec2, vms):
    import htcondor2

    users, queue = real.queue("USERS"), real.queue("CLOUD")
    ce = real.ce_schedd()
    jobs = htcondor2.Submit({"executable": "/bin/sleep", "arguments": "2", "should_transfer_files": "IF_NEEDED",
                             "requirements": "TARGET.EC2InstanceID =!= undefined",
                             "+MATCH_APF_QUEUE": f'"{users}"', "log": str(real.folder / "users.log")})
    ce.submit(jobs, count=2)
    ld = loaded(real.folder, cloud_queue(real, ec2, queue, users,
                                         "batchsubmit.condorec2.user_data = role=worker pool=test\n"))
    first = cycle(ld, queue)   # two idle user jobs: two VMs
    assert first["wms"]["ready"] == 2 and first["decision"]["pilots"] == 2
    assert first["submission"]["submitted"] == 2, json.dumps(first["submission"])

    # the instances start; while no startd has joined, the VMs are booting: pending for decide
    found = wait_for(lambda: len(got := instances_of(real)) == 2 and got, "two EC2 instances", timeout=180)
    booting = vm_section(ld, queue)
    assert booting["batch"]["vms"]["pending"] == 2 and booting["batch"]["pending"] == 2
    assert Decider(ld).decide(booting)["decision"]["pilots"] == 0   # no second round while they boot
    described = ec2.instances()
    for instance in found.values():
        assert described[instance]["InstanceType"] == "t2.micro"
        assert ec2.user_data(instance) == "role=worker pool=test"

    # each "VM" boots its startd, which joins the user pool; the user jobs run on them
    for instance in found.values():
        vms(instance)
    wait_for(lambda: len(list(ce.history(constraint=f'MATCH_APF_QUEUE == "{users}"',
                                         projection=["ExitCode"]))) == 2,
             "the user jobs to run on the VMs", timeout=240)
    ran_on = {ad.get("LastRemoteHost") for ad in ce.history(constraint=f'MATCH_APF_QUEUE == "{users}"',
                                                             projection=["LastRemoteHost"])}
    assert all(host and "vm-i-" in host for host in ran_on), ran_on

    up = wait_for(lambda: (r := vm_section(ld, queue))["batch"]["vms"]["idle"] == 2 and r, "two idle VMs")
    listed = {vm["instance"]: vm for vm in up["batch"]["vms"]["list"]}
    assert set(listed) == set(found.values())
    assert all(vm["state"] == "idle" and vm["startd"] for vm in listed.values())
    assert up["batch"]["running"] == 2 and up["batch"]["pending"] == 0

    # the work is done: the next cycle retires both; their masters are told to shut the startds down peacefully
    pool = htcondor2.Collector(f"127.0.0.1:{real.pools.ce_port}")
    wait_for(lambda: len(pool.query(htcondor2.AdType.Master, constraint="EC2InstanceID =!= undefined",
                                    projection=["Name"])) == 2, "the VMs' masters to advertise their instance")
    retired = cycle(ld, queue)
    assert retired["decision"]["pilots"] == -2, retired["decision"]["msg"]
    assert sorted(retired["submission"]["ids"]) == sorted(found) and retired["submission"]["retired"] == 2
    assert instances_of(real) == found   # drained, not removed: the grid jobs stay until the startds leave
    # once their startds have left the pool, the VMs are gone: the next cycle removes their grid jobs
    left = wait_for(lambda: (r := vm_section(ld, queue))["batch"]["vms"]["gone"] == 2 and r,
                    "both startds to leave the pool")
    assert left["batch"]["retiring"] == 2
    assert {vm["why"] for vm in left["batch"]["vms"]["list"]} == {"its startd left the pool after retirement"}
    removed = cycle(ld, queue)
    assert sorted(removed["submission"]["ids"]) == sorted(found), json.dumps(removed["submission"])
    wait_for(lambda: all(ec2.instances()[i]["State"]["Name"] == "terminated" for i in found.values()),
             "the instances to be terminated", timeout=180)
    history = wait_for(lambda: len(h := real.jobs(projection=["RemoveReason"], history=True)) == 2 and h,
                       "the removed grid jobs to leave the queue", timeout=180)
    assert all(ad["RemoveReason"].startswith("apfctl retire") for ad in history)


def test_a_vm_that_never_joins_and_one_whose_startd_dies_are_removed_and_terminated(real, ec2, vms):
    queue = real.queue("LOST")
    ld = loaded(real.folder, cloud_queue(real, ec2, queue, real.queue("NOBODY"),
                                         "batchsubmit.condorec2.vm.boot_timeout = 20\n"))
    plugin = submit_plugin(ld, queue)
    plugin.submit(2, new_cycle_id())
    found = wait_for(lambda: len(got := instances_of(real)) == 2 and got, "two EC2 instances", timeout=180)
    never, dies = sorted(found.values())
    vm = vms(dies)
    wait_for(lambda: any(v["state"] == "idle" for v in vm_section(ld, queue)["batch"]["vms"]["list"]),
             "the second VM's startd to join")
    vm.stop()   # its startd dies (leaves the pool), never told to retire
    gone = wait_for(lambda: (r := vm_section(ld, queue))["batch"]["vms"]["gone"] == 2 and r,
                    "both VMs to be gone (boot timeout)", timeout=120)
    whys = {v["instance"]: v["why"] for v in gone["batch"]["vms"]["list"]}
    assert all("boot timeout (20 s)" in why for why in whys.values()), whys
    [action] = plugin.clean()
    assert action["what"] == "vm_gone" and sorted(action["ids"]) == sorted(found) and action["succeeded"] == 2
    wait_for(lambda: all(ec2.instances()[i]["State"]["Name"] == "terminated" for i in (never, dies)),
             "both instances to be terminated", timeout=180)


def test_an_ec2_endpoint_that_is_down_gives_no_vms_and_the_reason(real, ec2):
    import socket

    from apfctl.errors import BackendError

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    queue = real.queue("DOWN")
    text = cloud_queue(real, ec2, queue, real.queue("NOBODY")).replace(ec2.url, f"http://127.0.0.1:{closed}/")
    ld = loaded(real.folder, text)
    with pytest.raises(BackendError, match=rf"EC2 endpoint http://127.0.0.1:{closed}/ does not answer"):
        submit_plugin(ld, queue).submit(1, new_cycle_id())
    assert real.jobs(projection=["ClusterId"]) == []


def test_idle_jobs_no_vm_could_match_are_reported_apart_and_are_not_ready_work(real, ec2):
    import htcondor2

    users, queue = real.queue("PICKY"), real.queue("MATCHVM")
    ce = real.ce_schedd()
    for requirements in ("TARGET.EC2InstanceID =!= undefined", "TARGET.EC2InstanceID =!= undefined",
                         "TARGET.EC2InstanceID =!= undefined && TARGET.Memory >= 100000"):
        ce.submit(htcondor2.Submit({"executable": "/bin/true", "requirements": requirements, "hold": "False",
                                    "+MATCH_APF_QUEUE": f'"{users}"', "request_memory": "100"}), count=1)
    machine = real.folder / "vm.ad"
    machine.write_text('[ EC2InstanceID = "i-template"; Memory = 2048; Cpus = 1; Disk = 10000000; '
                       'Arch = "X86_64"; OpSys = "LINUX"; HasFileTransfer = true; '
                       'CondorVersion = "$CondorVersion: 25.14.0 2026-12-01 $" ]\n')
    ld = loaded(real.folder, cloud_queue(real, ec2, queue, users, f"wmsstatus.condor.machinead = {machine}\n"))
    record = vm_section(ld, queue)
    assert (record["wms"]["ready"], record["wms"]["unmatchable"]) == (2, 1), json.dumps(record["wms"])
    assert Decider(ld).decide(record)["decision"]["pilots"] == 2   # VMs for the jobs a VM can run only


def test_a_spot_price_makes_spot_instances_at_that_price(real, ec2):
    queue = real.queue("SPOT")
    ld = loaded(real.folder, cloud_queue(real, ec2, queue, real.queue("NOBODY"),
                                         "batchsubmit.condorec2.spot_price = 0.5\n"))
    submit_plugin(ld, queue).submit(1, new_cycle_id())
    [instance] = wait_for(lambda: list(instances_of(real).values()), "the spot instance", timeout=180)
    requests = {r.get("InstanceId"): r for r in ec2.client().describe_spot_instance_requests()["SpotInstanceRequests"]}
    assert float(requests[instance]["SpotPrice"]) == 0.5
    assert ec2.instances()[instance].get("InstanceLifecycle") == "spot"
