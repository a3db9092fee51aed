"""Parallel apfctl processes on one state folder: no duplicate, no lost claim, no "database is locked"."""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.reliability_helpers import Factory, no_traceback

FIXED = {"schedplugin": "Fixed", "sched.fixed.pilotspercycle": "2"}
PARALLEL = 8


def test_parallel_cycles_on_one_state_folder(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": dict(FIXED), "RQ_B": dict(FIXED)})
    processes = [factory.start("cycle", "--all") for _ in range(PARALLEL)]
    results = [process.communicate(timeout=300) for process in processes]
    for process, (_, err) in zip(processes, results, strict=True):
        assert "database is locked" not in err and "Traceback" not in err, err
        assert process.returncode == 0, err
    cycled = [json.loads(line) for out, _ in results for line in out.splitlines()]
    claims = factory.claims()
    assert all(state == "submitted" for state, _ in claims.values()), claims
    pilots = factory.pilots()
    assert len(cycled) == sum(1 for _ in pilots) == len(claims)   # every cycled queue: one claim, its pilots
    for key, count in pilots.items():
        assert count == 2 and claims[key] == ("submitted", 2)


def test_parallel_submits_of_one_record_submit_once(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": dict(FIXED)})
    record = factory.run("decide", stdin=factory.run("status", "-q", "RQ_A").stdout).stdout
    (tmp_path / "record.jsonl").write_text(record)
    processes = [factory.start("submit", str(tmp_path / "record.jsonl")) for _ in range(PARALLEL)]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert "database is locked" not in err and "Traceback" not in err, err
    cycle = json.loads(record)["cycle"]
    assert factory.pilots() == {("RQ_A", cycle): 2}
    assert factory.claims() == {("RQ_A", cycle): ("submitted", 2)}
    no_traceback(factory.run("cycle", "--all"))
