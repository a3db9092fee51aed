"""Chains through the real Decider: APF's worked example, explain, and config check errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from apfctl.config.loader import load
from apfctl.config.validate import check
from apfctl.stages.decide import Decider
from apfctl.stages.explain import render_explain
from tests.sched.sched_helpers import record

WORKED_MSG = (
    "Ready:in=0,activated=100,offset=4,pending=10,ret=86;Scale:in=86,factor=0.5,ret=43;"
    "MaxPerCycle:in=43,maxpercycle=100,ret=43;MinPerCycle:in=43,minpercycle=0,ret=43;"
    "StatusTest:comment=not test,in=43,ret=43;StatusOffline:comment=not offline,in=43,ret=43;"
    "MaxPending:in=43,pending=10,maxpending=25,ret=15")

WORKED_QUEUE = """
    [WORKED]
    enabled = True
    wmsstatusplugin = File
    wmsstatus.file.path = wms.json
    batchstatusplugin = Local
    batchsubmitplugin = Local
    executable = /bin/true
    schedplugin = Ready, Scale, MaxPerCycle, MinPerCycle, StatusTest, StatusOffline, MaxPending
    sched.ready.offset = 4
    sched.scale.factor = 0.5
    sched.maxpercycle.maximum = 100
    sched.minpercycle.minimum = 0
    sched.statustest.pilots = 3
    sched.statusoffline.pilots = 1
    sched.maxpending.maximum = 25
    """


def write_factory(tmp: Path, queues: str, factory_extra: str = "") -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "queues.conf").write_text(textwrap.dedent(queues).lstrip())
    (tmp / "wms.json").write_text("{}")
    path = tmp / "apfctl.conf"
    path.write_text(textwrap.dedent(f"""
        [Factory]
        factoryId = sched-test
        baseLogDir = {tmp / 'logs'}
        queueConf = queues.conf
        {factory_extra}
        """).lstrip())
    return path


def worked_record(status: str = "online") -> dict:
    rec = record(ready=100, pending=10, running=8, status=status)
    rec["queue"] = "WORKED"
    return rec


@pytest.fixture
def worked(tmp_path: Path):
    return load(str(write_factory(tmp_path, WORKED_QUEUE)), str(tmp_path / "state"))


def test_worked_example_gives_15_with_apfs_message(worked) -> None:
    decided = Decider(worked).decide(worked_record())
    decision = decided["decision"]
    assert decision["pilots"] == 15
    assert decision["msg"] == WORKED_MSG
    assert [(s["rule"], s["in"], s["out"]) for s in decision["trace"]] == [
        ("Ready", 0, 86), ("Scale", 86, 43), ("MaxPerCycle", 43, 43), ("MinPerCycle", 43, 43),
        ("StatusTest", 43, 43), ("StatusOffline", 43, 43), ("MaxPending", 43, 15)]


@pytest.mark.parametrize(("status", "pilots"), [("test", 3), ("offline", 1), (None, 0)])
def test_worked_example_site_status(worked, status: str | None, pilots: int) -> None:
    # test: StatusTest gives 3, StatusOffline passes, MaxPending min(3, 15). offline: 1. None: 0.
    assert Decider(worked).decide(worked_record(status))["decision"]["pilots"] == pilots


def test_explain_table_names_rules_inputs_and_limiter(worked) -> None:
    text = render_explain([Decider(worked).decide(worked_record())])
    lines = text.splitlines()
    assert lines[0].startswith("WORKED  cycle 20261125T060000Z-0001")
    assert "decision: submit 15 (limited by MaxPending)" in text
    maxpending = next(line for line in lines if line.startswith("MaxPending"))
    assert maxpending.split()[:3] == ["MaxPending", "43", "15"]
    assert "lowered by 28" in maxpending and "maxpending=25" in maxpending and "pending=10" in maxpending
    status_test = next(line for line in lines if line.startswith("StatusTest"))
    assert "unchanged (not test)" in status_test
    assert "activated=100 offset=4 pending=10" in text


def test_explain_blocked_and_undecided_records(worked) -> None:
    blocked = worked_record()
    blocked["batch"] = {"plugin": "Local", "ok": False, "error": "schedd down"}
    text = render_explain([Decider(worked).decide(blocked), worked_record()])
    assert "batch FAILED (schedd down)" in text
    assert "decision: no pilots: status unknown (batch status failed (schedd down))" in text
    assert "not decided" in text
    assert render_explain([]) == "no records"


def test_decide_explain_command(tmp_path: Path) -> None:
    config = write_factory(tmp_path, WORKED_QUEUE)
    env = dict(os.environ, APFCTL_STATE_DIR=str(tmp_path / "state"), APFCTL_CONFIG=str(config),
               CONDOR_CONFIG="/dev/null")
    line = json.dumps(worked_record())
    explained = subprocess.run([sys.executable, "-m", "apfctl", "decide", "--explain"], input=line,
                               capture_output=True, text=True, env=env, timeout=60)
    assert explained.returncode == 0, explained.stderr
    assert "limited by MaxPending" in explained.stdout
    plain = subprocess.run([sys.executable, "-m", "apfctl", "decide"], input=line,
                           capture_output=True, text=True, env=env, timeout=60)
    assert plain.returncode == 0, plain.stderr
    assert json.loads(plain.stdout)["decision"]["msg"] == WORKED_MSG


@pytest.mark.parametrize(("line", "key", "value"), [
    ("schedplugin = Ready, NoSuchRule", "schedplugin", "NoSuchRule"),
    ("sched.maxpercycle.maximum = lots", "sched.maxpercycle.maximum", "lots"),
    ("sched.scale.factor = 1/2", "sched.scale.factor", "1/2"),
    ("sched.throttle.ratio = 1.2", "sched.throttle.ratio", "1.2"),
    ("sched.circuitbreaker.ratio = -1", "sched.circuitbreaker.ratio", "-1"),
    ("sched.rampup.curbs = 5, ten", "sched.rampup.curbs", "5, ten"),
])
def test_config_check_errors_name_queue_key_value(tmp_path: Path, line: str, key: str, value: str) -> None:
    queues = "\n".join([
        "[BAD]", "enabled = True", "wmsstatusplugin = File", "wmsstatus.file.path = wms.json",
        "batchstatusplugin = Local", "batchsubmitplugin = Local", "executable = /bin/true",
        "schedplugin = Ready, Scale, Throttle, CircuitBreaker, RampUp, MaxPerCycle", line, ""])
    loaded = load(str(write_factory(tmp_path, queues)), str(tmp_path / "state"))
    report = check(loaded)
    texts = [str(error) for error in report.errors]
    assert report.bad_queues == {"BAD"}
    assert any("[BAD]" in t and key in t and repr(value) in t for t in texts), texts


def test_config_check_factory_maximum(tmp_path: Path) -> None:
    queues = WORKED_QUEUE.replace("MaxPending\n", "MaxPending, MaxPerFactory\n")
    loaded = load(str(write_factory(tmp_path, queues, "maxperfactory.maximum = plenty")), str(tmp_path / "s"))
    texts = [str(error) for error in check(loaded).errors]
    assert any("[Factory]" in t and "maxperfactory.maximum = 'plenty'" in t for t in texts), texts
