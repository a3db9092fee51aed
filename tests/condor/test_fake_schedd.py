"""The fake schedd behaves like htcondor2.Schedd for what the plugins use."""

from __future__ import annotations

import re

import pytest

htcondor2 = pytest.importorskip("htcondor2")
classad2 = pytest.importorskip("classad2")

from apfctl_condor.testing import FakeSchedd  # noqa: E402

DESCRIPTION = """\
universe = vanilla
Dir = /logs/BNL/
+MATCH_APF_QUEUE = "BNL"
MY.ApfctlCycle = "c1"
executable = /usr/bin/runpilot.sh
arguments = -q BNL -n $(Process)
output = $(Dir)/$(Cluster).$(Process).out
environment = "APFCID=$(Cluster).$(Process) A=1"
request_memory = 2000
queue 1
"""


@pytest.fixture
def schedd():
    return FakeSchedd(clock=lambda: 1_700_000_000.0)


def test_submit_builds_job_ads_from_a_real_submit_description(schedd):
    result = schedd.submit(htcondor2.Submit(DESCRIPTION), count=3)
    assert (result.cluster(), result.first_proc(), result.num_procs()) == (1, 0, 3)
    ad = schedd.jobs[(1, 2)]
    assert ad["MATCH_APF_QUEUE"] == "BNL"
    assert ad["ApfctlCycle"] == "c1"
    assert ad["Args"] == "-q BNL -n 2"
    assert ad["Out"] == "/logs/BNL//1.2.out"
    assert ad["Environment"] == "A=1 APFCID=1.2"   # sorted by name, as the real schedd keeps it
    assert ad["RequestMemory"] == 2000
    assert ad["JobUniverse"] == 5
    assert (ad["ClusterId"], ad["ProcId"], ad["JobStatus"], ad["QDate"]) == (1, 2, 1, 1_700_000_000)
    assert schedd.submit(htcondor2.Submit(DESCRIPTION)).cluster() == 2   # count from the queue statement
    assert len(schedd.jobs) == 4


def test_submit_refuses_anything_but_a_submit_object(schedd):
    with pytest.raises(TypeError):
        schedd.submit({"executable": "/bin/true"}, count=1)


def test_query_evaluates_constraints_and_projects(schedd):
    schedd.submit(htcondor2.Submit(DESCRIPTION), count=2)
    schedd.add_job({"MATCH_APF_QUEUE": "CERN", "JobStatus": 2})
    ads = schedd.query('MATCH_APF_QUEUE == "BNL"', projection=["ProcId", "MATCH_APF_QUEUE"])
    assert [dict(ad) for ad in ads] == [{"ProcId": 0, "MATCH_APF_QUEUE": "BNL"},
                                        {"ProcId": 1, "MATCH_APF_QUEUE": "BNL"}]
    assert len(schedd.query("JobStatus == 2")) == 1
    assert len(schedd.query(classad2.ExprTree("NoSuchAttr == 3"))) == 0   # undefined is not a match
    assert len(schedd.query(limit=2)) == 2
    assert len(schedd.query()) == 3
    assert schedd.query("JobStatus == 1", callback=lambda ad: ad["ClusterId"]) == [1, 1]


def test_act_remove_hold_release_and_edit(schedd):
    schedd.submit(htcondor2.Submit(DESCRIPTION), count=3)
    held = schedd.act(htcondor2.JobAction.Hold, ["1.0", "1.1"], ("testing", None))
    assert held["TotalSuccess"] == 2
    assert schedd.jobs[(1, 0)]["JobStatus"] == 5 and schedd.jobs[(1, 0)]["NumHolds"] == 1
    released = schedd.act(htcondor2.JobAction.Release, "1.0")
    assert released["TotalSuccess"] == 1 and schedd.jobs[(1, 0)]["JobStatus"] == 1
    again = schedd.act(htcondor2.JobAction.Release, "1.0")
    assert again["TotalBadStatus"] == 1
    removed = schedd.act(htcondor2.JobAction.Remove, ["1.2", "7.0"], ("apfctl retire", None))
    assert (removed["TotalSuccess"], removed["TotalNotFound"]) == (1, 1)
    assert (1, 2) not in schedd.jobs
    assert schedd.history_ads[-1]["RemoveReason"] == "apfctl retire (by user apf)"   # the schedd names who acted
    assert schedd.edit(["1.0", "1.1"], "Foo", '"bar"') == 2
    assert schedd.jobs[(1, 1)]["Foo"] == "bar"
    assert schedd.act(htcondor2.JobAction.Remove, 'JobStatus == 5')["TotalSuccess"] == 1


def test_act_drops_a_plain_str_reason_like_htcondor2(schedd):
    """htcondor2 25.x reads ``reason`` only as None or a (reason, code) tuple."""
    schedd.submit(htcondor2.Submit(DESCRIPTION), count=2)
    schedd.act(htcondor2.JobAction.Remove, ["1.0"], "apfctl retire")
    schedd.act(htcondor2.JobAction.Remove, ["1.1"], ("apfctl retire", None))
    reasons = {ad["ProcId"]: ad.get("RemoveReason") for ad in schedd.history_ads}
    assert reasons == {0: None, 1: "apfctl retire (by user apf)"}


def test_history_since_stops_at_the_first_match_newest_first(schedd):
    for proc in range(4):
        schedd.add_job({"MATCH_APF_QUEUE": "BNL"}, cluster=10 + proc)
    for proc in range(4):
        schedd.finish(f"{10 + proc}.0", exit_code=proc)
    assert [ad["ClusterId"] for ad in schedd.history()] == [13, 12, 11, 10]
    assert [ad["ClusterId"] for ad in schedd.history(since=11)] == [13, 12]
    assert [ad["ClusterId"] for ad in schedd.history(since="12.0")] == [13]
    assert [ad["ClusterId"] for ad in schedd.history("ExitCode > 0", since="ExitCode == 1")] == [13, 12]
    assert [ad["ClusterId"] for ad in schedd.history(match=1)] == [13]


@pytest.mark.parametrize("kind, text", [("unreachable", "Failed to connect"), ("timeout", "timed out")])
def test_injected_failures_raise_like_the_bindings(schedd, kind, text):
    schedd.fail("query", kind, times=1)
    with pytest.raises(htcondor2.HTCondorException, match=text):
        schedd.query()
    assert schedd.query() == []   # healed after one failure


def test_partial_failure_of_act_and_submit(schedd):
    schedd.fail("*", "partial")
    result = schedd.submit(htcondor2.Submit(DESCRIPTION), count=4)
    assert result.num_procs() == 2
    answer = schedd.act(htcondor2.JobAction.Remove, ["1.0", "1.1"])
    assert (answer["TotalSuccess"], answer["TotalError"]) == (1, 1)


def test_bad_expression_in_a_description_is_refused(schedd):
    with pytest.raises(htcondor2.HTCondorException, match="Parse error in expression"):
        schedd.submit(htcondor2.Submit({"executable": "/bin/true", "+Broken": "1 +* ("}), count=1)


def test_a_collector_on_this_host_with_a_port_of_its_own_locates_the_schedd():
    """A second pool on one host (127.0.0.1:9701) is asked where its schedd is, not bypassed."""
    from apfctl_condor.schedd import Endpoint

    assert Endpoint("ce.example.org", collectorhost="127.0.0.1", collectorport=9701).uses_collector
    assert not Endpoint("ce.example.org").uses_collector
    assert str(Endpoint("ce", collectorhost="127.0.0.1", collectorport=9701)) == \
        "schedd ce via collector 127.0.0.1:9701"


@pytest.mark.parametrize("description, words", [
    ({"arguments": "1"}, "No 'executable' parameter was provided"),
    ({"executable": "/bin/true", "universe": "grid"}, "grid_resource attribute not defined for grid universe job"),
    ({"executable": "/bin/true", "universe": "grid", "grid_resource": "gt2 ce/jobmanager"},
     "Invalid value 'gt2' for grid type"),
    ({"executable": "/bin/true", "universe": "bogus"}, "I don't know about the 'bogus' universe."),
])
def test_the_fake_refuses_what_condor_submit_refuses_in_its_words(description, words):
    """The same descriptions were refused by the real schedd (HTCondor 25.14) with these words."""
    import htcondor2
    from apfctl_condor.testing import FakeSchedd

    with pytest.raises(htcondor2.HTCondorException, match=re.escape(words)):
        FakeSchedd().submit(htcondor2.Submit(description), count=1)


@pytest.mark.condor_pool
@pytest.mark.parametrize("description, words", [
    ({"arguments": "1"}, "No 'executable' parameter was provided"),
    ({"executable": "/bin/true", "universe": "grid", "grid_resource": "gt2 ce/jobmanager"},
     "Invalid value 'gt2' for grid type"),
])
def test_the_real_schedd_refuses_the_same_descriptions(real, description, words):
    import htcondor2

    with pytest.raises(htcondor2.HTCondorException, match=re.escape(words)):
        real.schedd.submit(htcondor2.Submit(description), count=1)
