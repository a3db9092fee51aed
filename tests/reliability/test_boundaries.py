"""Values from outside, checked for type and range before use or storage; submit's own caps.

A bad value is that source's failure for that queue (``ok: false``, the reason naming the
field and value), said on stderr, never a traceback and never after a submission began.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apfctl_slurm.testing import canned_command

from apfctl.config.loader import load
from apfctl.stages.decide import Decider
from tests.reliability.reliability_helpers import Factory, no_traceback

CAPPED = {"schedplugin": "Ready, MaxPerCycle", "sched.maxpercycle.maximum": "2"}


def test_a_count_past_64_bits_fails_that_queue_before_anything_is_submitted(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": dict(CAPPED), "RQ_B": dict(CAPPED)})
    factory.write_wms({"RQ_A": 2**70, "RQ_B": 3})
    result = factory.run("cycle", "--all")
    no_traceback(result)
    assert result.returncode == 1
    assert f"RQ_A.ready = {2**70} is not a count" in result.stderr
    records = {r["queue"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert records["RQ_A"]["wms"]["ok"] is False and records["RQ_A"]["decision"]["pilots"] == 0
    assert records["RQ_B"]["submission"]["submitted"] == 2   # the other queue carries on
    assert {queue for queue, _ in factory.pilots()} == {"RQ_B"}
    history = factory.run("history", "--since", "1h")
    assert {json.loads(line)["queue"] for line in history.stdout.splitlines()} == {"RQ_A", "RQ_B"}


@pytest.mark.parametrize("bad", ["-3", "2.5", "\"7\"", "true"])
def test_a_wms_count_of_the_wrong_type_or_sign_names_the_field(tmp_path: Path, bad: str) -> None:
    factory = Factory(tmp_path, {"RQ_A": dict(CAPPED)})
    factory.wms.write_text(f'{{"RQ_A": {{"ready": 1, "running": {bad}}}}}')
    result = factory.run("status", "-q", "RQ_A")
    no_traceback(result)
    record = json.loads(result.stdout)
    assert result.returncode == 1 and record["wms"]["ok"] is False
    assert "running" in record["wms"]["error"] and "queue RQ_A: status:" in result.stderr


def _decide(factory: Factory, batch: dict[str, object], queue: str = "RQ_A") -> int:
    loaded = load(str(factory.config), str(factory.state))
    record = {"apfctl": 1, "queue": queue, "cycle": "20261201T000000Z-0001",
              "wms": {"plugin": "File", "ok": True, "ready": 100, "notready": 0, "running": 0, "done": 0,
                      "failed": 0, "status": None, "error": None},
              "batch": {"plugin": "Slurm", "ok": True, "pending": 0, "held": 0, "running": 0, "exiting": 0,
                        "done_1h": 0, "fault_1h": 0, "error": None, **batch}}
    decided = Decider(loaded).decide(record)["decision"]
    assert type(decided["pilots"]) is int
    return decided["pilots"]


@pytest.mark.parametrize("total", [-500, 2.5, "3", None])
def test_max_to_submit_is_not_passed_on_a_total_that_is_not_a_count(tmp_path: Path, total: object) -> None:
    factory = Factory(tmp_path, {"RQ_A": {"schedplugin": "Ready, MaxToSubmit", "sched.maxtosubmit.maximum": "10"}})
    assert _decide(factory, {"submitted_total": total}) == 0
    assert _decide(factory, {"submitted_total": 4}) == 6


@pytest.mark.parametrize("total", [-300, 0.5, [1]])
def test_max_per_factory_is_not_passed_on_a_total_that_is_not_a_count(tmp_path: Path, total: object) -> None:
    factory = Factory(tmp_path, {"RQ_A": {"schedplugin": "Ready, MaxPerFactory"}},
                      factory_extra="maxperfactory.maximum = 10\n")
    assert _decide(factory, {"factory_total": total}) == 0
    assert _decide(factory, {"factory_total": 7}) == 3


def _edited(factory: Factory, queue: str, pilots: int) -> str:
    status = factory.run("status", "-q", queue)
    record = json.loads(factory.run("decide", stdin=status.stdout).stdout)
    record["decision"]["pilots"] = pilots
    return json.dumps(record) + "\n"


def test_submit_caps_a_record_by_the_queues_own_limits(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": {"submit.maximum": "3"}, "RQ_B": dict(CAPPED)})
    beyond = factory.run("submit", stdin=_edited(factory, "RQ_A", 2**63 - 1))   # past the record's own range
    assert beyond.returncode == 2 and "decision.pilots" in beyond.stderr and not factory.pilots()
    huge = _edited(factory, "RQ_A", 10**6)
    result = factory.run("submit", stdin=huge)
    assert result.returncode == 0, result.stderr
    section = json.loads(result.stdout)["submission"]
    assert section["submitted"] == 3 and section["capped"] == "3 by submit.maximum = 3 per cycle"
    assert "asks for 1000000 pilots; 3 by submit.maximum" in result.stderr
    edited = _edited(factory, "RQ_B", 50)   # MaxPerCycle is in RQ_B's chain: its maximum holds
    assert json.loads(factory.run("submit", stdin=edited).stdout)["submission"]["submitted"] == 2
    assert sorted(factory.pilots().values()) == [2, 3]


def test_the_default_ceiling_is_a_thousand(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": {}})
    result = factory.run("submit", "--dry-run", stdin=_edited(factory, "RQ_A", 10**6))
    no_traceback(result)
    assert json.loads(result.stdout)["submission"]["capped"] == "1000 by submit.maximum = 1000 per cycle"
    retire = factory.run("submit", "--dry-run", stdin=_edited(factory, "RQ_A", -(10**6)))
    no_traceback(retire)
    assert json.loads(retire.stdout)["submission"]["capped"].startswith("-1000 by submit.maximum")


def test_squeue_garbage_with_exit_0_is_a_failure_not_no_pilots(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": {}})
    squeue = canned_command(tmp_path / "canned", "squeue", "<html>Service Unavailable</html>\n")
    factory.queues["RQ_A"]["slurm.squeue"] = str(squeue)
    factory.write()
    result = factory.run("cycle", "--all")
    no_traceback(result)
    record = json.loads(result.stdout)
    assert result.returncode == 1 and record["batch"]["ok"] is False
    assert "squeue printed what apfctl did not ask for (exit 0): line 1 '<html>" in record["batch"]["error"]
    assert record["decision"]["pilots"] == 0 and not factory.pilots()
