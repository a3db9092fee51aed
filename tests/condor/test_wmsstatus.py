"""Condor WMS status: a pool's idle and running jobs as a queue's work (APF's overlay mode)."""

from __future__ import annotations

import pytest
from apfctl_condor.wmsstatus import CondorWMSStatus
from condor_helpers import loaded, queue_section

from apfctl.errors import BackendError

POOL = "wmsstatus.condor.scheddhost = pool.example.org\n"


def ask(ld, names):
    queues = [ld.queue(name) for name in names]
    endpoint = CondorWMSStatus.endpoint(queues[0], ld.context)
    return CondorWMSStatus(endpoint, ld.context).query(queues)


def fill(schedd, key="MATCH_APF_QUEUE"):
    for value, status in [("A", 1), ("A", 1), ("A", 0), ("A", 2), ("A", 6), ("A", 5), ("A", 4), ("B", 1)]:
        schedd.add_job({key: value, "JobStatus": status})


def test_idle_jobs_are_ready_work_grouped_by_the_queue_attribute(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("VM_A", body=POOL + "wmsqueue = A\n")
                + queue_section("VM_B", body=POOL + "wmsqueue = B\n")
                + queue_section("VM_ANY", body=POOL + "wmsqueue = ANY\n"))
    schedd = pool.schedd(CondorWMSStatus.endpoint(ld.queue("VM_A"), ld.context)[0])
    fill(schedd)
    answers = ask(ld, ["VM_A", "VM_B", "VM_ANY"])
    assert answers["VM_A"] == {"queue": "A", "ready": 3, "notready": 1, "running": 2, "done": 0, "failed": 0,
                               "status": None}
    assert (answers["VM_B"]["ready"], answers["VM_B"]["running"]) == (1, 0)
    assert (answers["VM_ANY"]["ready"], answers["VM_ANY"]["running"]) == (4, 2)
    assert schedd.calls == ["query"]


def test_a_configured_queues_key(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("VM_A", body=POOL + "wmsqueue = A\nwmsstatus.condor.queueskey = Site\n"))
    fill(pool.schedd(CondorWMSStatus.endpoint(ld.queue("VM_A"), ld.context)[0]), key="Site")
    assert ask(ld, ["VM_A"])["VM_A"]["ready"] == 3


def test_a_bad_queues_key_is_a_config_error(tmp_path):
    from apfctl.config.validate import check

    ld = loaded(tmp_path, queue_section("VM_A", body="wmsstatus.condor.queueskey = Site || true\n"))
    assert any("wmsstatus.condor.queueskey" in str(e) for e in check(ld).errors)


def test_an_unreachable_pool_fails_its_queues(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("VM_A", body=POOL))
    pool.schedd(CondorWMSStatus.endpoint(ld.queue("VM_A"), ld.context)[0]).fail("query", "timeout")
    with pytest.raises(BackendError, match="timed out"):
        ask(ld, ["VM_A"])


def test_cloud_mode_does_not_count_this_factorys_own_pilots_as_work(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("VM_ANY", body=POOL + "wmsqueue = ANY\n"))
    schedd = pool.schedd(CondorWMSStatus.endpoint(ld.queue("VM_ANY"), ld.context)[0])
    for _ in range(3):
        schedd.add_job({"MATCH_APF_QUEUE": "USER", "JobStatus": 1})
        schedd.add_job({"MATCH_APF_QUEUE": "VM_ANY", "ApfctlFactory": "test-factory", "JobStatus": 1})
    schedd.add_job({"MATCH_APF_QUEUE": "VM_ANY", "ApfctlFactory": "another-factory", "JobStatus": 1})
    assert ask(ld, ["VM_ANY"])["VM_ANY"]["ready"] == 4   # user jobs and another factory's pilots
