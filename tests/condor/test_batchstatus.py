"""Condor batch status: one query per schedd, DESIGN.md's states, finished pilots, hold reasons."""

from __future__ import annotations

import time

import pytest
from apfctl_condor.batchstatus import CondorBatchStatus
from apfctl_condor.schedd import Endpoint
from condor_helpers import loaded, queue_section

from apfctl.errors import BackendError

FID = "test-factory"


def pilot(queue: str, status: int, **attrs):
    return {"MATCH_APF_QUEUE": queue, "ApfctlFactory": FID, "JobStatus": status, **attrs}


def query(ld, queues, since=None):
    queue_configs = [ld.queue(q) for q in queues]
    plugin = CondorBatchStatus(CondorBatchStatus.endpoint(queue_configs[0], ld.context), ld.context)
    return plugin.query(queue_configs, time.time() - 3600 if since is None else since)


def test_states_history_and_hold_reasons(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("BNL") + queue_section("CERN"))
    schedd = pool.schedd()
    for status in (0, 1, 1, 2, 2, 2, 6):
        schedd.add_job(pilot("BNL", status))
    schedd.add_job(pilot("BNL", 5, HoldReasonCode=13, HoldReasonSubCode=2, HoldReason="Transfer input failed"))
    schedd.add_job(pilot("BNL", 5, HoldReasonCode=13, HoldReasonSubCode=2, HoldReason="Transfer input failed 2"))
    schedd.add_job(pilot("BNL", 5, HoldReasonCode=26, HoldReasonSubCode=0, HoldReason="proxy expired"))
    done = schedd.add_job(pilot("BNL", 2))
    fault = schedd.add_job(pilot("BNL", 2))
    retired = schedd.add_job(pilot("BNL", 1))
    killed = schedd.add_job(pilot("BNL", 2))
    schedd.finish(f"{done['ClusterId']}.0", exit_code=0, walltime=1200)
    schedd.finish(f"{fault['ClusterId']}.0", exit_code=1, walltime=30)
    schedd.set(f"{retired['ClusterId']}.0", JobStatus=3, RemoveReason="apfctl retire: queue BNL")
    schedd.leave((retired["ClusterId"], 0))
    schedd.set(f"{killed['ClusterId']}.0", JobStatus=3, RemoveReason="via condor_rm (by user admin)")
    schedd.leave((killed["ClusterId"], 0))
    schedd.add_job(pilot("CERN", 1))
    schedd.add_job(pilot("ELSEWHERE", 1))
    schedd.add_job({"MATCH_APF_QUEUE": "BNL", "ApfctlFactory": "another-factory", "JobStatus": 1})

    answers = query(ld, ["BNL", "CERN"])

    bnl = answers["BNL"]
    assert (bnl.pending, bnl.held, bnl.running, bnl.exiting) == (3, 3, 3, 1)
    outcomes = sorted((f.outcome, f.walltime) for f in bnl.finished)
    assert outcomes == [("done", 1200.0), ("fault", 0.0), ("fault", 30.0), ("removed", 0.0)]
    assert bnl.extra["held_reasons"] == [
        {"code": 13, "subcode": 2, "count": 2, "example": "Transfer input failed"},
        {"code": 26, "subcode": 0, "count": 1, "example": "proxy expired"}]
    cern = answers["CERN"]
    assert (cern.pending, cern.held, cern.running, cern.finished, cern.extra["held_reasons"]) == (1, 0, 0, [], [])
    assert "ELSEWHERE" not in answers


def test_one_query_and_one_history_call_for_every_queue_of_a_schedd(tmp_path, pool):
    ld = loaded(tmp_path, "".join(queue_section(f"Q{i}") for i in range(20)))
    query(ld, [f"Q{i}" for i in range(20)])
    assert pool.schedd().calls == ["query", "history"]
    assert pool.connections == 1


def test_history_before_since_is_not_counted(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("BNL"))
    schedd = pool.schedd()
    old = schedd.add_job(pilot("BNL", 2))
    schedd.finish(f"{old['ClusterId']}.0", exit_code=1)
    assert query(ld, ["BNL"], since=time.time() + 10)["BNL"].finished == []


def test_a_job_that_reached_the_history_late_does_not_end_the_scan(tmp_path, pool):
    """History is in leaving order: an old ad written late must not hide recent ones before it."""
    ld = loaded(tmp_path, queue_section("BNL"))
    schedd = pool.schedd()
    recent = schedd.add_job(pilot("BNL", 2))
    schedd.finish(f"{recent['ClusterId']}.0", exit_code=0)
    late = schedd.add_job(pilot("BNL", 4, EnteredCurrentStatus=int(time.time()) - 2 * 3600, ExitCode=0))
    schedd.leave((late["ClusterId"], 0))
    assert [f.outcome for f in query(ld, ["BNL"])["BNL"].finished] == ["done"]   # only the recent one


def test_a_job_that_ended_but_is_still_queued_counts_once_from_the_history(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("BNL"))
    schedd = pool.schedd()
    ad = schedd.add_job(pilot("BNL", 2))
    schedd.finish(f"{ad['ClusterId']}.0", exit_code=0)
    schedd.jobs[(ad["ClusterId"], 0)] = ad   # still in the queue as completed when queried
    assert len(query(ld, ["BNL"])["BNL"].finished) == 1


def test_label_selection_counts_pilots_of_apf_as_apf_did(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("BNL"), extra="batchstatus.condor.selection = label")
    pool.schedd().add_job({"MATCH_APF_QUEUE": "BNL", "JobStatus": 1})   # submitted by APF: no ApfctlFactory
    assert query(ld, ["BNL"])["BNL"].pending == 1
    ld = loaded(tmp_path, queue_section("BNL"))
    assert query(ld, ["BNL"])["BNL"].pending == 0


def test_remote_schedd_endpoint_from_apf_keys(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("BNL", body="""
        batchstatus.condor.scheddhost = schedd01.example.org
        batchstatus.condor.scheddport = 9619
        batchstatus.condor.collectorhost = collector.example.org
        """))
    endpoint = CondorBatchStatus.endpoint(ld.queue("BNL"), ld.context)
    assert endpoint == Endpoint("schedd01.example.org", 9619, "collector.example.org", 9618)
    pool.schedd(endpoint).add_job(pilot("BNL", 2))
    assert query(ld, ["BNL"])["BNL"].running == 1
    assert pool.schedd().jobs == {}   # the local schedd was not involved


@pytest.mark.parametrize("kind", ["unreachable", "timeout"])
def test_an_unreachable_schedd_raises_a_one_line_backend_error(tmp_path, pool, kind):
    ld = loaded(tmp_path, queue_section("BNL"))
    pool.schedd().fail("query", kind)
    with pytest.raises(BackendError) as caught:
        query(ld, ["BNL"])
    assert "local schedd: query failed" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_schedd_name_that_does_not_resolve(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("BNL", body="batchstatus.condor.scheddhost = nowhere.invalid\n"))
    pool.unresolvable.add("nowhere.invalid")
    with pytest.raises(BackendError, match=r"nowhere\.invalid"):
        query(ld, ["BNL"])


def test_the_real_connector_names_an_unresolvable_host():
    from apfctl_condor.schedd import connect

    with pytest.raises(BackendError, match="does not resolve"):
        connect(Endpoint("no-such-host.invalid", 9618))


def test_a_malformed_schedd_host_is_a_config_error_naming_the_key(tmp_path):
    from apfctl.config.validate import check

    ld = loaded(tmp_path, queue_section("BNL", body="batchstatus.condor.scheddhost = bad host\n"))
    report = check(ld)
    assert any("batchstatus.condor.scheddhost" in str(e) and "BNL" in str(e) for e in report.errors)


def test_the_real_bindings_without_a_schedd_give_one_line_errors(tmp_path):
    """No seam override: htcondor2 itself, on a machine with no HTCondor daemons."""
    ld = loaded(tmp_path, queue_section("BNL"))
    with pytest.raises(BackendError, match="local schedd: cannot be located"):
        query(ld, ["BNL"])
    ld = loaded(tmp_path, queue_section("BNL", body="batchstatus.condor.scheddhost = 127.0.0.2\n"
                                                     "batchstatus.condor.scheddport = 1\n"))
    with pytest.raises(BackendError, match=r"schedd 127\.0\.0\.2:1: query failed: .*Failed to connect"):
        query(ld, ["BNL"])


@pytest.mark.parametrize("where, attrs, named", [
    ("queue", {"JobStatus": "running"}, "attribute JobStatus is str 'running', not an integer"),
    ("queue", {"JobStatus": 5, "HoldReasonCode": "13"}, "attribute HoldReasonCode is str '13', not an integer"),
    ("history", {"CompletionDate": "yesterday"}, "attribute CompletionDate is str 'yesterday', not a number"),
    ("history", {"ExitCode": 1.5}, "attribute ExitCode is float 1.5, not an integer"),
])
def test_ads_with_wrong_typed_attributes_name_the_schedd_job_and_attribute(tmp_path, pool, where, attrs, named):
    """Defect: these gave raw Python errors (float('yesterday'), an unhashable key...)."""
    ld = loaded(tmp_path, queue_section("BNL"))
    schedd = pool.schedd()
    ad = schedd.add_job(pilot("BNL", 2))
    job = f"{ad['ClusterId']}.0"
    if where == "history":
        schedd.finish(job, exit_code=0)
    ad.update(attrs)
    with pytest.raises(BackendError) as caught:
        query(ld, ["BNL"])
    # the status queries project no ids (memory for 200,000 ads): the queue is named
    assert str(caught.value) == f"local schedd: a job of queue BNL: {named}", job


def test_clean_and_retire_name_a_wrong_typed_attribute(tmp_path, pool):
    from condor_helpers import submit_plugin

    ld = loaded(tmp_path, queue_section("BNL", body="batchsubmit.condorlocal.clean.held.release = 13\n"))
    held = pool.schedd().add_job(pilot("BNL", 5, HoldReasonCode=13, NumHolds="twice"))
    with pytest.raises(BackendError, match=rf"local schedd: job {held['ClusterId']}.0: attribute NumHolds is str"):
        submit_plugin(ld, "BNL").clean()
    idle = pool.schedd().add_job(pilot("BNL", 1, QDate="today"))
    with pytest.raises(BackendError, match=rf"local schedd: job {idle['ClusterId']}.0: attribute QDate is str"):
        submit_plugin(ld, "BNL").retire(1)
