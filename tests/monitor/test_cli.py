"""``apfctl monitor`` as a process, on a real ledger: plain, JSON, Prometheus file, filters, bad input."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from apfctl.ledger import Ledger
from tests.monitor.monitor_helpers import record, write_factory

APFCTL = [sys.executable, "-m", "apfctl"]


@pytest.fixture
def factory(tmp_path, monkeypatch):
    config = write_factory(tmp_path / "conf", {"BNL_1": {}, "BNL_2": {"apfqueue.sleep": "60"}, "CERN_1": {},
                                               "OFF": {"enabled": "False"}})
    state = tmp_path / "state"
    monkeypatch.setenv("APFCTL_CONFIG", str(config))
    monkeypatch.setenv("APFCTL_STATE_DIR", str(state))
    return state


def now():
    return dt.datetime.now(dt.UTC)


def store(state, *records):
    with Ledger(state) as ledger:
        ledger.store(records)


def run(*args, check=True):
    result = subprocess.run([*APFCTL, "monitor", *args], capture_output=True, text=True, timeout=60,
                            env=os.environ.copy())
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_missing_ledger_says_no_cycles_yet_and_creates_nothing(factory):
    result = run()
    assert "no cycles yet" in result.stdout
    assert [line.split()[0] for line in result.stdout.splitlines()[3:6]] == ["BNL_1", "BNL_2", "CERN_1"]
    assert "\x1b" not in result.stdout            # stdout is a pipe: plain text, no control codes
    assert not factory.exists()                   # monitoring is read-only


def test_plain_table_from_the_ledger_with_a_queue_no_longer_configured(factory):
    store(factory, record("BNL_1", 30, now=now()), record("BNL_1", 1, now=now(), submitted=4),
          record("BNL_2", 10, now=now()), record("RETIRED_Q", 5, now=now()))
    lines = run("--wide").stdout.splitlines()
    rows = {line.split()[0]: line for line in lines[3:]}
    assert set(rows) == {"BNL_1", "BNL_2", "CERN_1", "RETIRED_Q"}
    assert rows["BNL_1"].split()[7:9] == ["4", "13"]           # last cycle submitted 4; 4 + 9 in two hours
    assert "STALE" in rows["BNL_2"]                            # 10 min > 2 x 60 s
    assert "never" in rows["CERN_1"]
    assert "(not configured)" in rows["RETIRED_Q"]
    assert "no cycles yet" not in "\n".join(lines)


def test_json_with_queue_patterns_and_sort(factory):
    store(factory, record("BNL_1", 1, now=now(), pending=2), record("BNL_2", 1, now=now(), pending=7),
          record("CERN_1", 1, now=now(), pending=50))
    document = json.loads(run("--format", "json", "-q", "BNL_*", "--sort", "pending").stdout)
    assert [row["queue"] for row in document["queues"]] == ["BNL_2", "BNL_1"]
    assert document["factory"] == "test-factory" and document["source"] == "ledger"
    result = run("-q", "NOPE*", "--format", "json")
    assert json.loads(result.stdout)["queues"] == [] and "no queue matches NOPE*" in result.stderr


def test_prometheus_file_is_written_atomically_and_counters_only_grow(factory, tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    def submitted_total(path):
        families = {f.name: f for f in text_string_to_metric_families(path.read_text())}
        return {s.labels["queue"]: s.value for s in families["apfctl_pilots_submitted"].samples
                if s.name.endswith("_total")}

    out = tmp_path / "textfile" / "apfctl.prom"
    out.parent.mkdir()
    store(factory, record("BNL_1", 1, now=now(), submitted=5))
    run("--format", "prometheus", "--output", str(out))
    first = submitted_total(out)
    assert first["BNL_1"] == 5 and first["CERN_1"] == 0
    run("--format", "prometheus", "--output", str(out))
    assert submitted_total(out) == first                          # the same cycle is counted once
    store(factory, record("BNL_1", 0, now=now() + dt.timedelta(seconds=1), submitted=3),
          record("CERN_1", 0, now=now(), submitted=2))
    run("--format", "prometheus", "--output", str(out))
    assert submitted_total(out) == {**first, "BNL_1": 8, "CERN_1": 2}
    assert [p.name for p in out.parent.iterdir()] == ["apfctl.prom"]    # no temporary file left


def test_output_to_an_unwritable_place_is_one_line(factory, tmp_path):
    result = run("--format", "json", "--output", str(tmp_path / "no" / "such" / "dir" / "f.json"), check=False)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "cannot write" in result.stderr


def test_live_counts_come_from_the_batch_system(factory):
    store(factory, record("BNL_1", 1, now=now(), pending=99))
    document = json.loads(run("--live", "--format", "json", "-q", "BNL_1").stdout)
    row = document["queues"][0]
    assert document["source"] == "live"
    assert row["pending"] == 0                 # the Local backend has no pilots, whatever the ledger said
    assert row["msg"].startswith("Ready:")     # the last msg still comes from the ledger


def test_bad_cycle_interval_is_a_config_error(tmp_path, monkeypatch):
    config = write_factory(tmp_path / "conf", {"A": {"apfqueue.sleep": "often"}})
    monkeypatch.setenv("APFCTL_CONFIG", str(config))
    monkeypatch.setenv("APFCTL_STATE_DIR", str(tmp_path / "state"))
    result = run(check=False)
    assert result.returncode == 2
    assert "apfqueue.sleep" in result.stderr and "Traceback" not in result.stderr


def test_several_factories_in_one_table_and_one_metrics_file(tmp_path, monkeypatch):
    from prometheus_client.parser import text_string_to_metric_families

    specs = []
    for name, queues in (("east", ["SHARED", "EAST_ONLY"]), ("west", ["SHARED"])):
        config = write_factory(tmp_path / name, {queue: {} for queue in queues}, factory_id=name)
        store(tmp_path / f"{name}-state", *(record(queue, 1, now=now(), pending=len(name + queue))
                                            for queue in queues))
        specs += ["--factory", f"{config}={tmp_path / f'{name}-state'}"]
    monkeypatch.delenv("APFCTL_CONFIG", raising=False)
    lines = run(*specs).stdout.splitlines()
    assert lines[0].startswith("factory east, west, 3 queues")
    assert [line.split()[0] for line in lines[3:]] == ["east:EAST_ONLY", "east:SHARED", "west:SHARED"]
    assert [line.split()[0] for line in run(*specs, "-q", "west:*").stdout.splitlines()[3:]] == ["west:SHARED"]
    text = run(*specs, "--format", "prometheus").stdout
    families = {f.name: f for f in text_string_to_metric_families(text)}
    pending = {(s.labels["factory"], s.labels["queue"]): s.value for s in families["apfctl_pilots"].samples
               if s.labels["state"] == "pending"}
    assert pending == {("east", "SHARED"): 10, ("east", "EAST_ONLY"): 13, ("west", "SHARED"): 10}
    assert len(families["apfctl_pilots_submitted"].samples) == 3        # one _total per queue (classic format)
    assert {s.labels["factory"] for s in families["apfctl_counters_start_timestamp_seconds"].samples} == {"east",
                                                                                                         "west"}
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families

    text = run(*specs, "--format", "openmetrics").stdout
    families = {f.name: f for f in openmetrics_families(text)}
    assert len(families["apfctl_pilots_submitted"].samples) == 6        # _total and _created per queue


def test_live_asks_a_real_panda_server_nothing_unless_asked_for_the_wms(tmp_path, monkeypatch, httpserver):
    """No column shows WMS numbers: a refresh must not query PanDA (or any WMS) for nothing."""
    from apfctl_panda import testkit

    testkit.serve_panda(httpserver)
    config = write_factory(tmp_path / "conf", {"Q1": {"wmsstatusplugin": "Panda", "wmsqueue": "BNL_PROD",
                                                      "wmsstatus.panda.baseurl": httpserver.url_for("/").rstrip("/"),
                                                      "wmsstatus.panda.retries": "0"}})
    monkeypatch.setenv("APFCTL_CONFIG", str(config))
    monkeypatch.setenv("APFCTL_STATE_DIR", str(tmp_path / "state"))
    for _ in range(2):
        document = json.loads(run("--once", "--live", "--format", "json").stdout)
        assert document["source"] == "live" and [row["queue"] for row in document["queues"]] == ["Q1"]
    assert testkit.fetches(httpserver) == {}
    run("--once", "--live", "--wms", "--format", "json")
    assert sum(testkit.fetches(httpserver).values()) >= 1


def test_wms_without_live_is_a_usage_error(factory):
    result = run("--once", "--wms", check=False)
    assert result.returncode == 2 and "--wms" in result.stderr and "--live" in result.stderr
