"""Replay: the pure comparison, and ``apfctl replay`` on a real ledger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from apfctl.config.loader import load
from apfctl.ledger import Ledger
from apfctl.stages.decide import Decider
from apfctl.stages.replay import compare, latest_per_cycle, render_replay
from tests.sched.sched_helpers import record
from tests.sched.test_chain import WORKED_QUEUE, write_factory


def stored(queue: str, cycle: str, pilots: int | None, ready: int = 10, **kw: Any) -> dict[str, Any]:
    rec = record(ready=ready, **kw)
    rec.update(queue=queue, cycle=cycle)
    if pilots is not None:
        rec["decision"] = {"pilots": pilots, "msg": f"Old:ret={pilots}",
                           "trace": [{"rule": "Old", "in": 0, "out": pilots, "msg": f"Old:ret={pilots}"}]}
    return rec


def ready_minus_two(rec: dict[str, Any]) -> dict[str, Any]:
    """A stand-in candidate: ready - 2; it must see status only."""
    assert "decision" not in rec and "submission" not in rec
    pilots = rec["wms"]["ready"] - 2
    rec["decision"] = {"pilots": pilots, "msg": f"New:ret={pilots}",
                       "trace": [{"rule": "New", "in": 0, "out": pilots, "msg": f"New:ret={pilots}"}]}
    return rec


def test_compare_counts_differences_per_queue() -> None:
    records = [
        stored("A", "c1", 8, ready=10),          # same
        stored("B", "c1", 5, ready=10),          # +3
        stored("A", "c2", 10, ready=10),         # -2
        stored("A", "c3", 0, ready=7),           # +5
        stored("A", "c4", None),                 # no stored decision: skipped
        stored("B", "c2", 9, ready=3, submission={"requested": 9}),  # -8
        stored("A", "c5", 1, ready=1),           # -2 (third difference of A: beyond first=2)
    ]
    a, b = compare(records, ready_minus_two, first=2)
    assert (a.queue, a.cycles, a.differing, a.skipped) == ("A", 4, 3, 1)
    assert (a.stored_pilots, a.candidate_pilots, a.difference, a.absolute_difference) == (19, 20, 1, 9)
    assert [(d.cycle, d.stored["pilots"], d.candidate["pilots"], d.delta) for d in a.first] == [
        ("c2", 10, 8, -2), ("c3", 0, 5, 5)]
    assert (b.cycles, b.differing, b.difference, b.absolute_difference) == (2, 2, -5, 11)
    as_json = json.loads(json.dumps(b.as_dict()))
    assert as_json["difference"] == -5 and as_json["first"][1]["delta"] == -8
    assert as_json["first"][0]["stored"]["msg"] == "Old:ret=5"
    assert as_json["first"][0]["candidate"]["msg"] == "New:ret=8"


def test_compare_skips_records_without_status_and_keeps_last_per_cycle() -> None:
    no_batch = stored("A", "c1", 3)
    del no_batch["batch"]
    earlier = stored("A", "c2", None)
    later = stored("A", "c2", 8)
    assert latest_per_cycle([earlier, no_batch, later]) == [later, no_batch]
    (a,) = compare([no_batch, earlier, later], ready_minus_two)
    assert (a.cycles, a.skipped, a.differing) == (1, 1, 0)


def test_render_replay() -> None:
    results = compare([stored("A", "c1", 3)], ready_minus_two)
    text = render_replay(results, "candidate.conf")
    assert "replayed under candidate.conf; nothing was submitted" in text
    assert "A  cycle c1: stored 3, candidate 8 (+5)" in text
    assert "stored:    Old 0->3" in text and "candidate: New 0->8" in text
    assert render_replay([], "x") == "no stored records to replay in that period"


def test_replay_command_on_a_real_ledger(tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = write_factory(tmp_path, WORKED_QUEUE)
    loaded = load(str(config), str(state))
    decider = Decider(loaded)
    history = []
    for i, pending in enumerate([10, 0, 30]):
        rec = record(ready=100, pending=pending, running=8)
        rec.update(queue="WORKED", cycle=f"c{i}")
        history.append(decider.decide(rec))
    history.append({"apfctl": 1, "queue": "GONE", "cycle": "c9"})
    with Ledger(state) as ledger:
        ledger.store(history)
    candidate = write_factory(tmp_path / "candidate", WORKED_QUEUE.replace(
        "sched.maxpending.maximum = 25", "sched.maxpending.maximum = 20"))
    env = dict(os.environ, APFCTL_STATE_DIR=str(state), CONDOR_CONFIG="/dev/null")
    base = [sys.executable, "-m", "apfctl", "replay", "--since", "1h", "--config", str(candidate)]
    as_json = subprocess.run([*base, "--format", "json"], capture_output=True, text=True, env=env, timeout=60)
    assert as_json.returncode == 0, as_json.stderr
    (result,) = [json.loads(line) for line in as_json.stdout.splitlines()]
    # pending 10: 15 -> 10; pending 0: no limit, 43 both; pending 30: -5 -> -10
    assert (result["queue"], result["cycles"], result["differing"]) == ("WORKED", 3, 2)
    assert (result["difference"], result["absolute_difference"]) == (-10, 10)
    assert result["first"][0]["candidate"]["msg"].endswith("MaxPending:in=43,pending=10,maxpending=20,ret=10")
    assert "GONE is not in the candidate configuration" in as_json.stderr
    table = subprocess.run([*base, "-q", "WORKED"], capture_output=True, text=True, env=env, timeout=60)
    assert table.returncode == 0, table.stderr
    assert "WORKED  cycle c0: stored 15, candidate 10 (-5)" in table.stdout
    with Ledger(state) as ledger:  # nothing was submitted or stored
        assert len(list(ledger.records())) == 4


def test_replay_refuses_a_broken_candidate_and_says_when_there_is_no_ledger(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = dict(os.environ, APFCTL_STATE_DIR=str(state), CONDOR_CONFIG="/dev/null")
    good = write_factory(tmp_path / "good", WORKED_QUEUE)
    command = [sys.executable, "-m", "apfctl", "replay", "--config"]
    empty = subprocess.run([*command, str(good)], capture_output=True, text=True, env=env, timeout=60)
    assert empty.returncode == 0 and "no ledger yet" in empty.stderr
    rec = record(ready=5)
    rec.update(queue="WORKED", cycle="c1", decision={"pilots": 1, "msg": "Old:ret=1", "trace": []})
    with Ledger(state) as ledger:
        ledger.store([rec])
    broken = write_factory(tmp_path / "broken", WORKED_QUEUE.replace("sched.scale.factor = 0.5",
                                                                      "sched.scale.factor = half"))
    refused = subprocess.run([*command, str(broken)], capture_output=True, text=True, env=env, timeout=60)
    assert refused.returncode == 2
    assert "[WORKED] sched.scale.factor = 'half'" in refused.stderr and "Traceback" not in refused.stderr
