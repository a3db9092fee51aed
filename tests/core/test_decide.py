"""The decision chain engine: order, trace, message, and never a pilot on unknown status."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from core_helpers import factory

from apfctl.config.loader import load
from apfctl.stages.decide import Decider

QUEUES = """
[DEFAULT]
enabled = True
wmsstatusplugin = None
batchstatusplugin = Local
batchsubmitplugin = Local
executable = /bin/true

[CHAIN]
schedplugin = Ready, MaxPerCycle, MinPerCycle, MaxPending
sched.ready.offset = 4
sched.maxpercycle.maximum = 50
sched.minpercycle.minimum = 0
sched.maxpending.maximum = 25

[FIXED]
schedplugin = Fixed, MaxPerCycle
sched.fixed.pilotspercycle = 7
"""

STATUS = {
    "apfctl": 1, "queue": "CHAIN", "cycle": "c1",
    "wms": {"plugin": "File", "ok": True, "queue": "CHAIN", "ready": 100, "notready": 0, "running": 8, "done": 0,
            "failed": 0, "status": "online", "error": None},
    "batch": {"plugin": "Local", "ok": True, "pending": 10, "held": 0, "running": 8, "exiting": 0, "done_1h": 0,
              "fault_1h": 0, "error": None},
}


@pytest.fixture
def decider(tmp_path: Path) -> Decider:
    return Decider(load(str(factory(tmp_path, QUEUES)), tmp_path / "state"))


def test_chain_runs_in_order_from_zero_with_apf_messages(decider: Decider) -> None:
    decision = decider.decide(copy.deepcopy(STATUS))["decision"]
    assert decision["pilots"] == 15
    assert decision["msg"] == (
        "Ready:in=0,activated=100,offset=4,pending=10,ret=86;"
        "MaxPerCycle:in=86,maxpercycle=50,ret=50;"
        "MinPerCycle:in=50,minpercycle=0,ret=50;"
        "MaxPending:in=50,pending=10,maxpending=25,ret=15")
    assert [(s["rule"], s["in"], s["out"]) for s in decision["trace"]] == [
        ("Ready", 0, 86), ("MaxPerCycle", 86, 50), ("MinPerCycle", 50, 50), ("MaxPending", 50, 15)]


@pytest.mark.parametrize(("change", "reason"), [
    (lambda r: r.pop("wms"), "wms status missing"),
    (lambda r: r.pop("batch"), "batch status missing"),
    (lambda r: r.update(batch={"plugin": "Local", "ok": False, "error": "schedd down, retry=3"}),
     "batch status failed (schedd down retry 3)"),
    (lambda r: r.update(wms={"plugin": "Panda", "ok": False, "error": "HTTP 500"}), "wms status failed (HTTP 500)"),
])
def test_unknown_status_gives_zero_pilots_with_the_reason(decider: Decider, change, reason: str) -> None:
    record = copy.deepcopy(STATUS)
    change(record)
    decision = decider.decide(record)["decision"]
    assert decision["pilots"] == 0
    assert decision["msg"] == f"Status:comment={reason},ret=0"
    assert decision["trace"][0]["rule"] == "Status"


def test_fixed_rule_ignores_input(decider: Decider) -> None:
    record = copy.deepcopy(STATUS) | {"queue": "FIXED"}
    decision = decider.decide(record)["decision"]
    assert decision["pilots"] == 7
    assert decision["msg"] == "Fixed:in=0,ret=7;MaxPerCycle:comment=Not set,in=7"


def test_a_failing_rule_yields_zero_not_a_guess(decider: Decider, monkeypatch: pytest.MonkeyPatch) -> None:
    chain = decider.chain("CHAIN")

    def broken(n: int, record: dict) -> tuple[int, str]:
        raise ZeroDivisionError("division by zero")

    chain[1] = ("MaxPerCycle", broken)
    decision = decider.decide(copy.deepcopy(STATUS))["decision"]
    assert decision["pilots"] == 0
    assert decision["trace"][-1]["error"] is True
    assert "rule failed (division by zero)" in decision["msg"]


def test_other_sections_are_kept(decider: Decider) -> None:
    record = copy.deepcopy(STATUS) | {"note": {"by": "operator"}}
    assert decider.decide(record)["note"] == {"by": "operator"}
