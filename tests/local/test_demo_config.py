"""The embedded demo's queues read the demo WMS document and run the demo pilot."""

from __future__ import annotations

from pathlib import Path

from apfctl.config import validate
from apfctl.config.loader import load
from apfctl.stages.status import collect


def test_the_demo_validates_and_every_queue_has_wms_and_batch_status(tmp_path: Path) -> None:
    loaded = load("embedded:demo", state_dir=tmp_path / "state")
    report = validate.check(loaded)
    assert report.errors == [] and report.warnings == []

    records = collect(loaded, loaded.enabled_queues())

    assert {r["queue"] for r in records} == {"DEMO_SITE_A", "DEMO_SITE_B", "DEMO_SITE_C", "DEMO_UCORE"}
    for record in records:
        assert record["wms"]["ok"] and record["wms"]["ready"] > 0, record
        assert record["batch"]["ok"] and record["batch"]["pending"] == 0, record


def test_the_demo_unified_queue_decides_score_and_mcore_pilots_of_different_sizes(tmp_path: Path) -> None:
    from apfctl.stages.decide import Decider

    loaded = load("embedded:demo", state_dir=tmp_path / "state")
    (record,) = collect(loaded, ["DEMO_UCORE"])
    assert set(record["wms"]["types"]) == {"SCORE", "MCORE"}
    decision = Decider(loaded).decide(record)["decision"]
    assert {rt: (t["pilots"], t["cores"], t["memory"]) for rt, t in decision["types"].items()} == {
        "SCORE": (3, 1, 2000), "MCORE": (3, 4, 8000)}   # 4 (MaxPerCycle) and 3, trimmed to 6 over both
