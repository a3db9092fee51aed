"""The ``Metrics`` monitor plugin: real ``apfctl cycle``/``submit`` processes on the Local backend
leave node_exporter's textfile, parsed back with prometheus_client's classic parser."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from apfctl_local import pilotstate

APFCTL = [sys.executable, "-m", "apfctl"]
WMS = {"SITE_A": {"ready": 3, "status": "online"}, "SITE_B": {"ready": 0, "status": "online"},
       "SITE_C": {"ready": 5, "status": "online"}}
QUEUES = """
    [DEFAULT]
    enabled = True
    wmsstatusplugin = File
    wmsstatus.file.path = wms.json
    batchstatusplugin = Local
    batchsubmitplugin = Local
    schedplugin = Ready, MaxPerCycle
    sched.maxpercycle.maximum = 10
    executable = /bin/true
    monitorsection = metrics

    [SITE_A]

    [SITE_B]
    apfqueue.sleep = 60

    # publishes to no monitor, yet is in the file: the file covers the whole factory
    [SITE_C]
    monitorsection =
    """


def write_factory(folder: Path, monitor_conf: str) -> Path:
    """A factory on the File WMS and the Local backend (pilots run /bin/true); returns the factory file."""
    folder.mkdir(parents=True)
    (folder / "wms.json").write_text(json.dumps(WMS))
    (folder / "queues.conf").write_text(textwrap.dedent(QUEUES))
    (folder / "monitor.conf").write_text(textwrap.dedent(monitor_conf).lstrip())
    path = folder / "apfctl.conf"
    path.write_text("[Factory]\nfactoryId = metrics-test\nqueueConf = queues.conf\nmonitorConf = monitor.conf\n")
    return path


@pytest.fixture
def state(tmp_path, monkeypatch):
    folder = tmp_path / "state"
    monkeypatch.setenv("APFCTL_STATE_DIR", str(folder))
    yield folder
    for queue in (folder / "local").glob("*"):        # end only this test's pilots, should any still run
        for _, pilot in pilotstate.scan(queue):
            if pilotstate.runner_alive(pilot):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pilot["pid"], signal.SIGKILL)


def apfctl(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*APFCTL, *args, "--config", str(config)], input=stdin, capture_output=True, text=True,
                          timeout=60, env=os.environ.copy())


def samples(path: Path) -> dict[tuple[str, ...], float]:
    """(sample name, queue, other label values...) -> value, from prometheus_client's classic parser."""
    from prometheus_client.parser import text_string_to_metric_families

    found = {}
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            labels = dict(sample.labels)
            assert labels.pop("factory") == "metrics-test"
            if sample.name == "apfctl_counters_start_timestamp_seconds":
                continue
            found[(sample.name, labels.pop("queue"), *labels.values())] = sample.value
    return found


def test_every_cycle_rewrites_the_file_with_every_configured_queue(tmp_path, state):
    config = write_factory(tmp_path / "conf", """
        [metrics]
        monitorplugin = Metrics
        metrics.file = textfile/apfctl.prom
        """)
    (tmp_path / "conf" / "textfile").mkdir()
    out = tmp_path / "conf" / "textfile" / "apfctl.prom"      # relative paths: from monitor.conf's folder

    first = apfctl(config, "cycle", "--all")
    assert first.returncode == 0, first.stderr
    assert [json.loads(line)["submission"]["submitted"] for line in first.stdout.splitlines()] == [3, 0, 5]
    metrics = samples(out)
    assert {key[1] for key in metrics} == {"SITE_A", "SITE_B", "SITE_C"}
    assert metrics[("apfctl_decision_pilots", "SITE_A")] == 3
    assert metrics[("apfctl_cycle_submitted_pilots", "SITE_C")] == 5
    assert metrics[("apfctl_pilots_submitted_total", "SITE_B")] == 0
    assert metrics[("apfctl_cycle_interval_seconds", "SITE_B")] == 60
    assert metrics[("apfctl_cycle_error", "SITE_A", "submission")] == 0
    assert metrics[("apfctl_queue_configured", "SITE_C")] == 1
    assert os.listdir(out.parent) == ["apfctl.prom"]        # no temporary file left beside it

    # the same numbers as `apfctl monitor --format prometheus` (only the cycles' ages move on)
    shown = apfctl(config, "monitor", "--format", "prometheus", "-o", str(tmp_path / "monitor.prom"))
    assert shown.returncode == 0, shown.stderr
    ageless = {key: value for key, value in metrics.items() if key[0] != "apfctl_cycle_age_seconds"}
    assert ageless.items() <= samples(tmp_path / "monitor.prom").items()
    assert len(samples(tmp_path / "monitor.prom")) == len(metrics)

    # a cycle of one queue still writes them all; the counters keep the earlier cycle
    second = apfctl(config, "cycle", "-q", "SITE_B")
    assert second.returncode == 0, second.stderr
    metrics = samples(out)
    assert metrics[("apfctl_cycles_total", "SITE_B")] == 2
    assert metrics[("apfctl_cycles_total", "SITE_A")] == 1
    assert metrics[("apfctl_pilots_submitted_total", "SITE_C")] == 5


def test_apfctl_submit_writes_the_file_too(tmp_path, state):
    out = tmp_path / "apfctl.prom"
    config = write_factory(tmp_path / "conf", f"[metrics]\nmonitorplugin = Metrics\nmetrics.file = {out}\n")
    status = apfctl(config, "status", "-q", "SITE_A")
    decided = apfctl(config, "decide", stdin=status.stdout)
    submitted = apfctl(config, "submit", stdin=decided.stdout)
    assert submitted.returncode == 0, submitted.stderr
    metrics = samples(out)
    assert metrics[("apfctl_pilots_submitted_total", "SITE_A")] == 3
    assert ("apfctl_cycle_interval_seconds", "SITE_C") in metrics      # never cycled, still a row


def test_an_unwritable_file_is_a_warning_and_the_cycle_goes_on(tmp_path, state):
    # a path under a regular file cannot be written, whoever runs the test (root included)
    config = write_factory(tmp_path / "conf", """
        [metrics]
        monitorplugin = Metrics
        metrics.file = wms.json/apfctl.prom
        """)
    result = apfctl(config, "cycle", "--all")
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["queue"] for line in result.stdout.splitlines()] == ["SITE_A", "SITE_B", "SITE_C"]
    warning = [line for line in result.stderr.splitlines() if "metrics" in line]
    assert len(warning) == 1 and "not updated" in warning[0] and "wms.json/apfctl.prom: cannot write" in warning[0]
    assert "Traceback" not in result.stderr
    assert not list((tmp_path / "conf").glob("**/.apfctl.prom.*"))


def test_config_check_requires_metrics_file(tmp_path, state):
    config = write_factory(tmp_path / "conf", "[metrics]\nmonitorplugin = Metrics\n")
    result = apfctl(config, "config", "check")
    assert result.returncode == 2
    assert "metrics.file" in result.stderr and "required" in result.stderr
    # and a cycle skips the queues whose monitor is broken rather than half-configure them
    cycled = apfctl(config, "cycle", "--all")
    assert [json.loads(line)["queue"] for line in cycled.stdout.splitlines()] == ["SITE_C"]
