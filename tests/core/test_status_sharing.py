"""Status plugins are shared per endpoint: one query serves every queue that uses it."""

from __future__ import annotations

import json
import time
from pathlib import Path

from apfctl.config.loader import load
from apfctl.ledger import Ledger
from apfctl.stages.status import collect
from tests.core.core_helpers import factory, write


def config_for(tmp: Path, wms_url: str, queues: int) -> Path:
    sections = "".join(f"[Q{i}]\nwmsqueue = SITE_{i}\n\n" for i in range(queues))
    return factory(tmp, f"""[DEFAULT]
enabled = True
wmsstatusplugin = File
wmsstatus.file.path = {wms_url}
batchstatusplugin = Local
batchsubmitplugin = Local
schedplugin = Ready
executable = /bin/true

""" + sections)


def test_one_fetch_serves_every_queue_of_an_endpoint(tmp_path: Path, httpserver) -> None:
    document = {f"SITE_{i}": {"ready": i, "status": "online"} for i in range(50)}
    httpserver.expect_request("/wms.json").respond_with_json(document)
    loaded = load(str(config_for(tmp_path, httpserver.url_for("/wms.json"), 50)), tmp_path / "state")
    records = collect(loaded, loaded.enabled_queues())
    assert len(httpserver.log) == 1
    assert [r["wms"]["ready"] for r in records] == list(range(50))
    assert {r["cycle"] for r in records} == {records[0]["cycle"]}
    assert all(r["batch"]["ok"] and r["batch"]["factory_total"] == 0 for r in records)


def test_a_dead_endpoint_fails_only_its_queues(tmp_path: Path, httpserver) -> None:
    good = write(tmp_path / "good.json", json.dumps({"SITE_0": {"ready": 2}}))
    cfg = config_for(tmp_path, "http://127.0.0.1:9/nothing-listens-here.json", 2)
    text = (tmp_path / "queues.conf").read_text() + f"[GOOD]\nwmsqueue = SITE_0\nwmsstatus.file.path = {good}\n"
    (tmp_path / "queues.conf").write_text(text)
    loaded = load(str(cfg), tmp_path / "state")
    by_queue = {r["queue"]: r for r in collect(loaded, loaded.enabled_queues())}
    assert by_queue["GOOD"]["wms"]["ok"] is True and by_queue["GOOD"]["wms"]["ready"] == 2
    for name in ("Q0", "Q1"):
        assert by_queue[name]["wms"]["ok"] is False and by_queue[name]["wms"]["error"]


def test_ledger_keeps_records_for_the_retention_period(tmp_path: Path) -> None:
    with Ledger(tmp_path) as ledger:
        ledger.store([{"apfctl": 1, "queue": "Q", "cycle": "old"}])
        ledger._run("UPDATE records SET time = ?", (time.time() - 3 * 86400,))
        ledger.store([{"apfctl": 1, "queue": "Q", "cycle": "new"}])
        assert ledger.prune(keep_days=2) == 1
        assert [r["cycle"] for r in ledger.records("Q")] == ["new"]
        assert ledger.latest()["Q"]["cycle"] == "new"


def test_submitted_total_comes_from_the_ledger(tmp_path: Path) -> None:
    good = write(tmp_path / "wms.json", json.dumps({"SITE_0": {"ready": 0}, "SITE_1": {"ready": 0}}))
    loaded = load(str(config_for(tmp_path, str(good), 2)), tmp_path / "state")
    assert [r["batch"]["submitted_total"] for r in collect(loaded, ["Q0", "Q1"])] == [0, 0]
    with Ledger(tmp_path / "state") as ledger:
        for cycle, ids in (("c1", ["a", "b"]), ("c2", ["c"])):
            ledger.claim_submission("Q0", cycle)
            ledger.finish_submission("Q0", cycle, ids)
        ledger.claim_submission("Q0", "c3")
        ledger.finish_submission("Q0", "c3", [], state="failed")
    assert [r["batch"]["submitted_total"] for r in collect(loaded, ["Q0", "Q1"])] == [3, 0]
