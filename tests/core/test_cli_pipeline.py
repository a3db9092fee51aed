"""The stages as real commands on the Local backend: pilots are real processes that run."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from apfctl.locking import lock_path
from tests.core.core_helpers import factory, run, write
from tests.support import wait_for

PILOT = "#!/bin/sh\necho \"pilot $APFCID ran\"\nsleep ${1:-0}\nexit ${2:-0}\n"


def queues(tmp: Path, *, ready: int = 3, wms: str | None = None, extra: str = "") -> str:
    pilot = write(tmp / "pilot.sh", PILOT)
    pilot.chmod(0o755)
    wms_path = wms or str(write(tmp / "wms.json", json.dumps({"SITE_A": {"ready": ready, "status": "online"},
                                                                "SITE_B": {"ready": 1, "status": "online"}})))
    return f"""
        [DEFAULT]
        enabled = True
        wmsstatusplugin = File
        wmsstatus.file.path = {wms_path}
        batchstatusplugin = Local
        batchsubmitplugin = Local
        batchsubmit.local.slots = 10
        schedplugin = Ready, MaxPerCycle
        sched.maxpercycle.maximum = 5
        executable = {pilot}

        [Q1]
        wmsqueue = SITE_A
        {extra}

        [Q2]
        wmsqueue = SITE_B
        """


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def done_count(config: Path, state: Path, queue: str) -> int:
    result = run(["status", "-q", queue], config=config, state=state)
    (record,) = lines(result.stdout)
    return record["batch"]["done_1h"]


def test_status_decide_submit_pipeline_runs_real_pilots(tmp_path: Path) -> None:
    config = factory(tmp_path, queues(tmp_path))
    state = tmp_path / "state"
    env = dict(os.environ, APFCTL_CONFIG=str(config), APFCTL_STATE_DIR=str(state))
    apfctl = f"{sys.executable} -m apfctl"
    pipeline = subprocess.run(f"{apfctl} status -q Q1 | {apfctl} decide | {apfctl} submit", shell=True,
                              capture_output=True, text=True, env=env, timeout=60)
    assert pipeline.returncode == 0, pipeline.stderr
    (record,) = lines(pipeline.stdout)
    assert record["decision"]["pilots"] == 3
    assert record["submission"]["submitted"] == 3 and len(record["submission"]["ids"]) == 3
    assert wait_for(lambda: done_count(config, state, "Q1") == 3, timeout=30, what="3 pilots done")
    outputs = sorted((tmp_path / "logs").rglob("*.out"))
    assert len(outputs) == 3
    assert all(out.read_text().startswith("pilot ") for out in outputs)
    # the ledger kept what the submit stage produced
    history = run(["history", "-q", "Q1"], config=config, state=state)
    assert lines(history.stdout)[-1]["submission"]["ids"] == record["submission"]["ids"]


def test_submitting_the_same_record_twice_submits_once(tmp_path: Path) -> None:
    config = factory(tmp_path, queues(tmp_path))
    state = tmp_path / "state"
    decided = run(["decide"], config=config, state=state,
                  stdin=run(["status", "-q", "Q1"], config=config, state=state).stdout).stdout
    first = run(["submit"], config=config, state=state, stdin=decided)
    second = run(["submit"], config=config, state=state, stdin=decided)
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    (one,), (two,) = lines(first.stdout), lines(second.stdout)
    assert one["submission"]["submitted"] == 3
    assert two["submission"]["submitted"] == 0
    assert "already" in two["submission"]["skipped"]
    assert two["submission"]["ids"] == one["submission"]["ids"]
    assert len(list((state / "local").rglob("*.json"))) == 3


def test_second_submit_is_idempotent_even_without_the_ledger(tmp_path: Path) -> None:
    """The backend's cycle stamps are checked too: a lost ledger does not mean double pilots."""
    config = factory(tmp_path, queues(tmp_path))
    state = tmp_path / "state"
    decided = run(["decide"], config=config, state=state,
                  stdin=run(["status", "-q", "Q1"], config=config, state=state).stdout).stdout
    assert lines(run(["submit"], config=config, state=state, stdin=decided).stdout)[0]["submission"]["submitted"] == 3
    (state / "ledger.sqlite").unlink()
    for suffix in ("-wal", "-shm"):
        (state / f"ledger.sqlite{suffix}").unlink(missing_ok=True)
    (again,) = lines(run(["submit"], config=config, state=state, stdin=decided).stdout)
    assert again["submission"]["submitted"] == 0 and "batch system already has" in again["submission"]["skipped"]


def test_a_locked_queue_is_skipped_and_others_go_on(tmp_path: Path) -> None:
    config = factory(tmp_path, queues(tmp_path))
    state = tmp_path / "state"
    path = lock_path(state, "Q1")
    path.parent.mkdir(parents=True)
    with path.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = run(["cycle", "--all"], config=config, state=state)
    assert result.returncode == 0, result.stderr
    assert "Q1: another apfctl is cycling it; skipped" in result.stderr
    assert [r["queue"] for r in lines(result.stdout)] == ["Q2"]
    assert not list((state / "local").glob("Q1/*.json"))


def test_two_concurrent_cycles_on_one_queue(tmp_path: Path, httpserver) -> None:
    """A slow WMS keeps the first cycle busy; the second finds the queue locked."""
    def slow(request):
        from werkzeug import Response
        time.sleep(2)
        return Response(json.dumps({"SITE_A": {"ready": 4}, "SITE_B": {"ready": 0}}), content_type="application/json")

    httpserver.expect_request("/wms.json").respond_with_handler(slow)
    config = factory(tmp_path, queues(tmp_path, wms=httpserver.url_for("/wms.json")))
    state = tmp_path / "state"
    env = dict(os.environ, APFCTL_CONFIG=str(config), APFCTL_STATE_DIR=str(state))
    command = [sys.executable, "-m", "apfctl", "cycle", "-q", "Q1"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.8)
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert "Q1: another apfctl is cycling it; skipped" in second.stderr
    assert lines(second.stdout) == []
    assert lines(out)[0]["submission"]["submitted"] == 4
    assert len(list((state / "local").rglob("*.json"))) == 4


def test_failing_wms_for_one_queue_exits_1_and_others_carry_on(tmp_path: Path) -> None:
    wms = write(tmp_path / "wms.json", json.dumps({"SITE_A": {"ready": 2}}))
    config = factory(tmp_path, queues(tmp_path, wms=str(wms)))
    result = run(["cycle", "--all"], config=config, state=tmp_path / "state")
    assert result.returncode == 1
    by_queue = {r["queue"]: r for r in lines(result.stdout)}
    assert by_queue["Q1"]["submission"]["submitted"] == 2
    assert by_queue["Q2"]["wms"]["ok"] is False and "SITE_B" in by_queue["Q2"]["wms"]["error"]
    assert by_queue["Q2"]["decision"]["pilots"] == 0
    assert by_queue["Q2"]["submission"]["submitted"] == 0


def test_dry_run_submits_nothing_and_stores_nothing(tmp_path: Path) -> None:
    config = factory(tmp_path, queues(tmp_path))
    state = tmp_path / "state"
    result = run(["cycle", "-q", "Q1", "--dry-run"], config=config, state=state)
    (record,) = lines(result.stdout)
    assert record["submission"]["dry_run"] is True and record["submission"]["submitted"] == 0
    assert record["submission"]["description"]
    assert not (state / "ledger.sqlite").exists()
    assert not list(state.rglob("local/**/*.json"))   # no pilot was started
    assert not (state / "locks").exists()             # nor any lock taken


def test_history_replayed_under_another_config(tmp_path: Path) -> None:
    config = factory(tmp_path, queues(tmp_path, ready=4))
    state = tmp_path / "state"
    assert run(["cycle", "-q", "Q1"], config=config, state=state).returncode == 0
    other = write(tmp_path / "other" / "apfctl.conf", config.read_text().replace(
        "queueConf = queues.conf", f"queueConf = {tmp_path / 'other.conf'}"))
    write(tmp_path / "other.conf", (tmp_path / "queues.conf").read_text().replace(
        "sched.maxpercycle.maximum = 5", "sched.maxpercycle.maximum = 1"))
    history = run(["history", "-q", "Q1", "--since", "1h"], config=config, state=state).stdout
    replayed = run(["decide", "--config", str(other)], config=None, state=state, stdin=history)
    (record,) = lines(replayed.stdout)
    assert record["decision"]["pilots"] == 1
    assert record["decision"]["msg"].endswith("MaxPerCycle:in=4,maxpercycle=1,ret=1")


def test_demo_runs_with_no_configuration_anywhere(tmp_path: Path) -> None:
    result = run(["cycle", "--all", "--dry-run"], config=None, state=tmp_path / "state")
    assert result.returncode == 0, result.stderr
    assert "using the embedded demo" in result.stderr
    assert {r["queue"] for r in lines(result.stdout)} >= {"DEMO_SITE_A", "DEMO_SITE_B", "DEMO_SITE_C"}


@pytest.mark.parametrize("args", [["--help"], ["cycle", "--help"], ["decide", "--help"], ["config", "check", "--help"]])
def test_help_texts(args: list[str], tmp_path: Path) -> None:
    result = run(args, config=None, state=tmp_path)
    assert result.returncode == 0 and "Usage: apfctl" in result.stdout


def test_a_reader_that_leaves_early_is_not_a_failure(tmp_path: Path) -> None:
    """`apfctl decide | head -c 10` under `set -o pipefail`: exit 0, no traceback."""
    config = factory(tmp_path, queues(tmp_path))
    state = tmp_path / "state"
    status = run(["status", "-q", "Q1"], config=config, state=state).stdout
    env = dict(os.environ, APFCTL_CONFIG=str(config), APFCTL_STATE_DIR=str(state))
    script = f"set -o pipefail; {sys.executable} -m apfctl decide | head -c 10 >/dev/null"
    result = subprocess.run(["bash", "-c", script], input=status * 3000, capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
