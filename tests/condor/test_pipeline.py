"""End to end in one process: status -> decide -> submit through the core stages, on fake schedds."""

from __future__ import annotations

import json
from pathlib import Path

from apfctl_condor.schedd import Endpoint

from apfctl.ledger import Ledger
from apfctl.stages.cycle import run_cycle
from apfctl.stages.decide import Decider
from apfctl.stages.status import collect
from apfctl.stages.submit import Submitter
from tests.condor.condor_helpers import loaded, queue_section

POOL = Endpoint("pool.example.org")
REMOTE = Endpoint("schedd02.example.org")
CYCLE = "20261125T060000Z-3f2a"
QUEUES = (queue_section("VM_A", body="wmsstatus.condor.scheddhost = pool.example.org\nwmsqueue = A\n")
          + queue_section("VM_B", "CondorCE", body="""
wmsstatus.condor.scheddhost = pool.example.org
wmsqueue = B
batchstatus.condor.scheddhost = schedd02.example.org
batchsubmit.condorce.gridresource = ce01.example.org
"""))


def work(pool, queue: str, idle: int) -> None:
    for _ in range(idle):
        pool.schedd(POOL).add_job({"MATCH_APF_QUEUE": queue, "JobStatus": 1})


def pilots(schedd, queue: str, status: int, n: int) -> None:
    for _ in range(n):
        schedd.add_job({"MATCH_APF_QUEUE": queue, "ApfctlFactory": "test-factory", "JobStatus": status})


def schema_validator():
    import jsonschema

    schema = json.loads((Path(__file__).parents[2] / "apfctl" / "schema" / "record-v1.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def test_status_decide_submit_and_the_same_record_submitted_twice_submits_once(tmp_path, pool):
    ld = loaded(tmp_path, QUEUES)
    work(pool, "A", 7)
    work(pool, "B", 4)
    pilots(pool.schedd(), "VM_A", 1, 2)
    pilots(pool.schedd(), "VM_A", 5, 1)
    pilots(pool.schedd(REMOTE), "VM_B", 2, 3)

    records = collect(ld, ["VM_A", "VM_B"], CYCLE)
    by_queue = {r["queue"]: r for r in records}
    assert by_queue["VM_A"]["wms"]["ready"] == 7
    assert (by_queue["VM_A"]["batch"]["pending"], by_queue["VM_A"]["batch"]["held"]) == (2, 1)
    assert by_queue["VM_A"]["batch"]["held_reasons"] == [{"code": None, "subcode": None, "count": 1,
                                                          "example": None}]
    assert by_queue["VM_B"]["batch"]["running"] == 3
    assert pool.schedd(POOL).calls == ["query"]          # one WMS query for both queues
    assert pool.schedd().calls == ["query", "history"]   # one status query per schedd
    assert pool.schedd(REMOTE).calls == ["query", "history"]

    decider = Decider(ld)
    decided = [decider.decide(r) for r in records]
    assert [r["decision"]["pilots"] for r in decided] == [5, 4]

    with Ledger(ld.context.state_dir) as ledger:
        submitted = [Submitter(ld, ledger).submit(json.loads(json.dumps(r))) for r in decided]
        again = [Submitter(ld, ledger).submit(json.loads(json.dumps(r))) for r in decided]
    assert [r["submission"]["submitted"] for r in submitted] == [5, 4]
    assert submitted[0]["submission"]["ids"] == ["4.0", "4.1", "4.2", "4.3", "4.4"]
    assert [r["submission"]["submitted"] for r in again] == [0, 0]
    assert all(r["submission"]["skipped"] for r in again)
    assert pool.schedd().calls.count("submit") == 1 and pool.schedd(REMOTE).calls.count("submit") == 1
    ce_pilot = pool.schedd(REMOTE).jobs[(4, 0)]
    assert ce_pilot["GridResource"] == "condor ce01.example.org ce01.example.org:9619"
    assert ce_pilot["ApfctlCycle"] == CYCLE

    # A second factory host without this ledger still finds the stamped pilots.
    other_state = tmp_path / "other-state"
    with Ledger(other_state) as ledger:
        ld.context.state_dir = other_state
        third = Submitter(ld, ledger).submit(json.loads(json.dumps(decided[0])))
    assert third["submission"]["submitted"] == 0
    assert "already has pilots" in third["submission"]["skipped"]
    assert pool.schedd().calls.count("submit") == 1

    validator = schema_validator()
    for record in [*submitted, *again, third]:
        assert list(validator.iter_errors(record)) == []


def test_an_unreachable_schedd_fails_its_queues_and_the_others_go_on(tmp_path, pool):
    ld = loaded(tmp_path, QUEUES)
    work(pool, "A", 3)
    work(pool, "B", 3)
    pool.schedd(REMOTE).fail("*", "unreachable")

    result = run_cycle(ld, ["VM_A", "VM_B"], cycle=CYCLE)

    by_queue = {r["queue"]: r for r in result.records}
    failed = by_queue["VM_B"]
    assert failed["batch"]["ok"] is False
    assert "schedd schedd02.example.org:9618: query failed" in failed["batch"]["error"]
    assert failed["decision"]["pilots"] == 0
    assert by_queue["VM_A"]["batch"]["ok"] is True
    assert by_queue["VM_A"]["submission"]["submitted"] == 3
    for record in result.records:
        assert list(schema_validator().iter_errors(record)) == []


def test_negative_decisions_retire_through_the_submit_stage(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("VM_A", body="wmsstatus.condor.scheddhost = pool.example.org\n"
                                                     "wmsqueue = A\n", sched="Fixed")
                .replace("schedplugin = Fixed", "schedplugin = Fixed\nsched.fixed.pilotspercycle = -2"))
    pilots(pool.schedd(), "VM_A", 1, 3)
    result = run_cycle(ld, ["VM_A"], cycle=CYCLE)
    record = result.records[0]
    assert record["decision"]["pilots"] == -2, record["decision"]
    assert record["submission"]["retired"] == 2
    assert len(pool.schedd().jobs) == 1


def test_dry_run_shows_the_exact_description_and_submits_nothing(tmp_path, pool):
    ld = loaded(tmp_path, QUEUES)
    work(pool, "A", 2)
    result = run_cycle(ld, ["VM_A"], dry_run=True, cycle=CYCLE)
    submission = result.records[0]["submission"]
    assert submission["dry_run"] is True
    assert submission["description"].endswith("queue 2\n")
    assert '+ApfctlCycle = "20261125T060000Z-3f2a"' in submission["description"]
    assert "submit" not in pool.schedd().calls
