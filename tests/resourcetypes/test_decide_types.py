"""Deciding unified queues per resource type: one chain per type, then the queue-wide limits."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from apfctl.config.loader import load
from apfctl.errors import RecordError
from apfctl.record import read_records
from apfctl.stages.decide import Decider

QUEUES = """
[DEFAULT]
enabled = True
wmsstatusplugin = File
wmsstatus.file.path = wms.json
batchstatusplugin = Local
batchsubmitplugin = Local
executable = /bin/true
schedplugin = Ready

[UCORE]
resourcetypes = SCORE, MCORE
corecount = 8
maxrss = 16000

[LIMITED]
resourcetypes = SCORE, MCORE
corecount = 8
maxrss = 16000
nQueueLimitWorker = 10

[BNL-MCORE]
resourcetype = MCORE
corecount = 4
maxrss = 6000

[PLAIN]
"""


@pytest.fixture
def decider(tmp_path: Path) -> Decider:
    (tmp_path / "queues.conf").write_text(QUEUES)
    (tmp_path / "wms.json").write_text("{}")
    (tmp_path / "apfctl.conf").write_text("[Factory]\nfactoryId = t\nqueueConf = queues.conf\n")
    return Decider(load(str(tmp_path / "apfctl.conf"), tmp_path / "state"))


def wms(**types: int) -> dict:
    return {"plugin": "File", "ok": True, "queue": "X", "ready": sum(types.values()), "notready": 0, "running": 0,
            "done": 0, "failed": 0, "status": "online", "error": None,
            "types": {rt: {"ready": n, "notready": 0, "running": 0, "done": 0, "failed": 0} for rt, n in types.items()}}


def batch(pending: int = 0, running: int = 0, **typed_pending: int) -> dict:
    return {"plugin": "Local", "ok": True, "pending": pending, "held": 0, "running": running, "exiting": 0,
            "done_1h": 0, "fault_1h": 0, "error": None,
            "types": {rt: {"pending": n, "held": 0, "running": 0, "exiting": 0} for rt, n in typed_pending.items()}}


def record(queue: str, wms_section: dict, batch_section: dict) -> dict:
    return {"apfctl": 1, "queue": queue, "cycle": "20261201T000000Z-0001", "wms": wms_section, "batch": batch_section}


def test_the_chain_runs_once_per_type_on_that_types_counts(decider: Decider):
    decision = decider.decide(record("UCORE", wms(SCORE=10, MCORE=4), batch(2, SCORE=2)))["decision"]
    assert decision["pilots"] == 12
    score, mcore = decision["types"]["SCORE"], decision["types"]["MCORE"]
    assert (score["pilots"], score["cores"], score["memory"]) == (8, 1, 2000)
    assert (mcore["pilots"], mcore["cores"], mcore["memory"]) == (4, 8, 16000)
    assert score["msg"] == "Ready:in=0,activated=10,offset=0,pending=2,ret=8"   # APF's message, unchanged
    assert mcore["msg"] == "Ready:in=0,activated=4,offset=0,pending=0,ret=4"
    assert decision["msg"] == f"SCORE.{score['msg']};MCORE.{mcore['msg']}"
    assert [(step["type"], step["rule"], step["out"]) for step in decision["trace"]] == [
        ("SCORE", "Ready", 8), ("MCORE", "Ready", 4)]


def test_queue_wide_limits_trim_the_types_proportionally(decider: Decider):
    # nQueueLimitWorker 10, 2 queued: 8 for the queue; SCORE 8 and MCORE 4 wanted -> 5 and 3
    decision = decider.decide(record("LIMITED", wms(SCORE=10, MCORE=4), batch(2, SCORE=2)))["decision"]
    assert {rt: t["pilots"] for rt, t in decision["types"].items()} == {"SCORE": 5, "MCORE": 3}
    assert decision["pilots"] == 8
    score_steps = [step for step in decision["trace"] if step["type"] == "SCORE"]
    assert score_steps[-1] == {"rule": "Limits", "in": 8, "out": 5, "type": "SCORE",
                               "msg": "Limits:comment=queue-wide limits of 2 types,in=8,ret=5"}


def test_untyped_pilots_count_in_every_types_view(decider: Decider):
    from apfctl.explain import render_queue

    # 5 pending of which 2 are SCORE: 3 untyped may be of any type
    decided = decider.decide(record("UCORE", wms(SCORE=10, MCORE=4), batch(5, SCORE=2)))
    assert {rt: t["pilots"] for rt, t in decided["decision"]["types"].items()} == {"SCORE": 5, "MCORE": 1}
    assert "untyped pilots: pending=3 held=0 running=0 exiting=0" in render_queue(decided)   # shown as such


def test_apf_style_single_type_section_is_sized_by_its_own_keys(decider: Decider):
    decision = decider.decide(record("BNL-MCORE", wms(MCORE=3), batch()))["decision"]
    assert decision["types"] == {"MCORE": {"pilots": 3, "msg": "Ready:in=0,activated=3,offset=0,pending=0,ret=3",
                                           "cores": 4, "memory": 6000}}
    assert decision["trace"] == [{"rule": "Ready", "in": 0, "out": 3, "type": "MCORE",
                                  "msg": "Ready:in=0,activated=3,offset=0,pending=0,ret=3"}]


def test_untyped_queue_is_decided_as_before(decider: Decider):
    decision = decider.decide(record("PLAIN", wms(SCORE=10), batch(2)))["decision"]
    assert "types" not in decision and decision["pilots"] == 8


def test_no_per_type_counts_means_no_pilots(decider: Decider):
    section = wms(SCORE=10)
    decision = decider.decide(record("UCORE", section, batch()))["decision"]
    assert decision["pilots"] == 0
    assert decision["types"]["MCORE"]["msg"] == "Status:comment=wms status has no counts for resource type MCORE,ret=0"


def test_failed_status_gives_each_type_zero_with_the_reason(decider: Decider):
    failed = {"plugin": "File", "ok": False, "error": "no such file"}
    decision = decider.decide(record("UCORE", failed, batch()))["decision"]
    assert decision["pilots"] == 0 and set(decision["types"]) == {"SCORE", "MCORE"}
    assert all("wms status failed (no such file)" in t["msg"] for t in decision["types"].values())


def test_decided_records_pass_the_validator_and_bad_ones_are_refused(decider: Decider):
    decided = decider.decide(record("UCORE", wms(SCORE=10, MCORE=4), batch(2, SCORE=2)))
    line = orjson.dumps(decided)
    assert [r for _, r in read_records(io.BytesIO(line), require=("decision",))] == [decided]
    bad_cases = [
        (("decision", "types", "MCORE", "cores"), 0, "decision.types.MCORE.cores"),
        (("decision", "types", "MCORE", "pilots"), 10**7, "decision.types.MCORE.pilots"),
        (("decision", "pilots"), 99, "decision.pilots"),
        (("wms", "types", "SCORE", "ready"), -1, "wms.types.SCORE.ready"),
        (("batch", "types", "SCORE", "pending"), 10**10, "batch.types.SCORE.pending"),
    ]
    for path, value, field in bad_cases:
        broken = orjson.loads(line)
        target = broken
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        with pytest.raises(RecordError) as caught:
            list(read_records(io.BytesIO(orjson.dumps(broken))))
        assert caught.value.field == field and caught.value.line == 1
    broken = orjson.loads(line)
    broken["wms"]["types"]["score"] = broken["wms"]["types"].pop("SCORE")
    with pytest.raises(RecordError, match=r"must be a resource type name .* got \"score\" .field wms.types.score"):
        list(read_records(io.BytesIO(orjson.dumps(broken))))


def test_explain_shows_a_table_per_type_with_its_size_and_counts(decider: Decider):
    from apfctl.explain import render_queue

    decided = decider.decide(record("LIMITED", wms(SCORE=10, MCORE=4), batch(2, SCORE=2)))
    text = render_queue(decided)
    assert "decision: submit 8 in all\n" in text and "untyped" not in text
    assert "SCORE (1 cores, 2000 MB): submit 5 (limited by Limits); ready=10 pending=2 held=0 running=0" in text
    assert "MCORE (8 cores, 16000 MB): submit 3 (limited by Limits); ready=4" in text
    score_block = text.split("SCORE (")[1].split("MCORE (")[0]
    assert "Ready" in score_block and "activated=10" in score_block and "queue-wide limits of 2 types" in score_block


def test_replay_sees_a_per_type_change_even_when_the_total_is_equal(decider: Decider):
    from apfctl.replay import compare, render_replay

    stored = decider.decide(record("UCORE", wms(SCORE=10, MCORE=4), batch(2, SCORE=2)))
    moved = orjson.loads(orjson.dumps(stored))
    moved["decision"]["types"]["SCORE"]["pilots"] = 9
    moved["decision"]["types"]["MCORE"]["pilots"] = 3
    (result,) = compare([moved], decider.decide)
    assert result.differing == 1 and result.stored_pilots == result.candidate_pilots == 12
    text = render_replay([result], "candidate.conf")
    assert "SCORE/Ready 0->8  MCORE/Ready 0->4  [SCORE=8 MCORE=4]" in text   # the candidate's, per type
    assert "[SCORE=9 MCORE=3]" in text
