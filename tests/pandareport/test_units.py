"""Pure parts: the share of a shared queue, the worker fields, the call merging, worker id blocks."""

from __future__ import annotations

import json

import pytest
from apfctl_panda.sharing import factories, share
from apfctl_pandareport import calls as api

from apfctl.errors import BackendError
from apfctl.ledger import Ledger
from apfctl.outbox import Call, bound
from apfctl.workers import WorkerBlock, WorkerLedger


def test_share_rounds_up_per_type_and_leaves_other_counts():
    counts = {"ready": 9, "running": 4, "types": {"SCORE": {"ready": 7, "running": 3}, "MCORE": {"ready": 0}}}
    assert share(counts, 2) == {"ready": 5, "running": 4, "factories": 2,
                                "types": {"SCORE": {"ready": 4, "running": 3}, "MCORE": {"ready": 0}}}
    assert share(counts, 1)["ready"] == 9


def test_factories_count_ourselves_once():
    stats = {"S": {"h1": {}, "me": {}}, "T": {}}
    assert factories(stats, "S", "me") == 2
    assert factories(stats, "T", "me") == 1
    assert factories(stats, "UNKNOWN", "me") == 1
    with pytest.raises(BackendError, match="the entry of 'S' is int"):
        factories({"S": 3}, "S", "me")


def test_worker_fields_and_times_as_pandas_workerspec_reads_them():
    row = {"worker_id": 7, "batch_id": "12_0", "queue": "Q", "status": "running", "resource_type": None, "cores": None,
           "memory": None, "submitted": 0.0, "started": 1.5, "ended": None}
    spec = api.worker_spec(row, "SITE", "managed", "host.example")
    assert spec["submitTime"] == "datetime/1970-01-01 00:00:00.000000"
    assert spec["startTime"] == "datetime/1970-01-01 00:00:01.500000"
    assert (spec["workerID"], spec["batchID"], spec["resourceType"], spec["endTime"]) == (7, "12_0", "ANY", None)


def test_statistics_is_a_json_string_with_every_served_type():
    call = api.statistics("h", "SITE", "managed", {"MCORE": {"running": 2}, "Undefined": {"submitted": 1}},
                          ["SCORE", "MCORE"])
    assert json.loads(call.json["statistics"]) == {"managed": {
        "SCORE": {"submitted": 0, "running": 0}, "MCORE": {"submitted": 0, "running": 2},
        "ANY": {"submitted": 1, "running": 0}}}


def test_keyed_calls_keep_their_newest_place_and_body():
    old = [Call("POST", "/hb", json=1, key="heartbeat"), Call("POST", "/w", json="w1"),
           Call("POST", "/s", json="s1", key="statistics:S")]
    new = [Call("POST", "/hb", json=2, key="heartbeat"), Call("POST", "/w", json="w2"),
           Call("POST", "/s", json="s2", key="statistics:S")]
    assert [c.json for c in api.merge(old, new)] == ["w1", 2, "w2", "s2"]
    assert [c.json for c in bound(api.merge(old, new), 2)[0]] == ["w2", "s2"]


def test_worker_ids_are_blocks_unique_per_ledger(tmp_path):
    with Ledger(tmp_path) as ledger:
        workers = WorkerLedger(ledger)
        assert workers.peek() == 1
        first, second = workers.allocate("h", 3), workers.allocate("h", 2)
        assert (list(first.ids()), list(second.ids()), workers.peek()) == ([1, 2, 3], [4, 5], 6)
    with Ledger(tmp_path) as ledger:           # another process later: the counter is in the file
        assert WorkerLedger(ledger).allocate("h", 1).first == 6
    block = WorkerBlock("h", 10, 2)
    assert block.environment(1) == {"HARVESTER_ID": "h", "HARVESTER_WORKER_ID": "11"}
    with pytest.raises(IndexError):
        block.environment(2)


def test_final_states_stay_final(tmp_path):
    with Ledger(tmp_path) as ledger:
        workers = WorkerLedger(ledger)
        workers.record("Q", "c", None, {"b1": 1})
        workers.update("Q", {"b1": ("finished", 1.0, 2.0)})
        workers.update("Q", {"b1": ("running", 1.0, None)})
        assert workers.unreported(["Q"])[0]["status"] == "finished"
        assert workers.open_batch_ids("Q")[0] == []


def test_a_slurm_array_task_computes_its_worker_id(tmp_path):
    import subprocess

    from apfctl_slurm.script import BatchScript
    from apfctl_slurm.tags import Tag

    text = BatchScript(Tag("fid", "Q", "c1"), 3, tmp_path, None, "/usr/bin/env", [], {},
                       workers=WorkerBlock("fid", 41, 3)).text()
    assert 'export HARVESTER_WORKER_ID="$((41 + SLURM_ARRAY_TASK_ID))"' in text
    script = tmp_path / "pilot.sh"
    script.write_text(text)
    seen = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=30,
                          env={"SLURM_ARRAY_JOB_ID": "7", "SLURM_ARRAY_TASK_ID": "2", "PATH": "/usr/bin:/bin"})
    assert "HARVESTER_ID=fid" in seen.stdout.splitlines() and "HARVESTER_WORKER_ID=43" in seen.stdout.splitlines()


def test_local_pilot_states_in_pandas_words(tmp_path):
    from apfctl_local import pilotstate
    from apfctl_pandareport.states import local_states

    from apfctl.config.model import FactoryConfig, Origin, QueueConfig, RawValue
    from apfctl.interfaces import FactoryContext

    factory = FactoryContext(config=FactoryConfig("Factory", {"factoryId": RawValue("f", Origin("x", 1))}),
                             state_dir=tmp_path)
    queue = QueueConfig("Q", {})
    folder = pilotstate.queue_dir(tmp_path, "Q")
    folder.mkdir(parents=True)
    pilots = {"p0": {}, "p1": {"started": 10.0}, "p2": {"started": 10.0, "ended": 20.0, "exit_code": 0},
              "p3": {"started": 10.0, "ended": 20.0, "exit_code": 1}, "p4": {"removed": 30.0},
              "p5": {"started": 10.0, "ended": 25.0, "lost": True}, "other": {}}
    for pilot_id, fields in pilots.items():
        pilotstate.write_state(pilotstate.state_path(folder, pilot_id), {"id": pilot_id, **fields})
    assert local_states(queue, factory, ["p0", "p1", "p2", "p3", "p4", "p5", "gone"], 0.0, {}) == {
        "p0": ("submitted", None, None), "p1": ("running", 10.0, None), "p2": ("finished", 10.0, 20.0),
        "p3": ("failed", 10.0, 20.0), "p4": ("cancelled", None, 30.0), "p5": ("missed", 10.0, 25.0)}
