"""The classic text format for node_exporter, checked by prometheus_client's classic parser and promtool."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from apfctl.dashboard.machine import render_prometheus
from apfctl.dashboard.totals import Totals
from apfctl.dashboard.view import QueueSpec, build_view
from tests.monitor.monitor_helpers import NOW, record

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None and os.environ.get("CI") != "true",
                                    reason="promtool missing (Debian package prometheus; make system-tools)")


def view_and_totals():
    specs = [QueueSpec("HEALTHY"), QueueSpec("FAILING")]
    latest = {"HEALTHY": record("HEALTHY", 2), "FAILING": record("FAILING", 1, batch_error="schedd unreachable")}
    totals = {"BNL": Totals(created=1764000000.0, watermark=0.0,
                            queues={"HEALTHY": {"submitted": 120, "retired": 3, "cycles": 20},
                                    "FAILING": {"cycles": 2, "errors_batch": 2}})}
    return build_view(specs, latest, now=NOW, factory="BNL"), totals


def test_classic_format_has_typed_counters_named_total():
    from prometheus_client.parser import text_string_to_metric_families

    view, totals = view_and_totals()
    text = render_prometheus(view, totals)
    assert "# EOF" not in text and "# UNIT" not in text and "_created{" not in text
    assert "# TYPE apfctl_pilots_submitted_total counter" in text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    submitted = families["apfctl_pilots_submitted"]
    assert submitted.type == "counter"          # a classic parser sees a counter, not an untyped series
    assert {s.labels["queue"]: s.value for s in submitted.samples} == {"HEALTHY": 120, "FAILING": 0}
    assert families["apfctl_cycle_errors"].type == "counter"
    assert families["apfctl_pilots"].type == "gauge"
    assert not [f for f in families.values() if f.type == "unknown"]
    assert families["apfctl_counters_start_timestamp_seconds"].samples[0].value == 1764000000


@needs_promtool
def test_promtool_accepts_the_classic_format_without_a_lint_warning():
    """promtool reads the classic format only: fed OpenMetrics, it sees counters without help text."""
    view, totals = view_and_totals()
    check = [PROMTOOL or "promtool", "check", "metrics"]
    result = subprocess.run(check, input=render_prometheus(view, totals), capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and result.stdout == result.stderr == "", (result.stdout, result.stderr)
    misread = subprocess.run(check, input=render_prometheus(view, totals, openmetrics=True), capture_output=True,
                             text=True, timeout=30)
    assert misread.returncode != 0 and "apfctl_pilots_submitted_total no help text" in misread.stderr


RULES = Path(__file__).parents[2] / "contrib" / "prometheus"


@needs_promtool
def test_alert_rules_pass_promtool_check_and_their_unit_tests():
    for command in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]):
        result = subprocess.run([PROMTOOL or "promtool", *command], cwd=RULES, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        assert "SUCCESS" in result.stdout


def test_alert_rules_name_only_metrics_apfctl_writes():
    """A renamed metric must not leave an alert that never fires: every name is in the exposition."""
    view, totals = view_and_totals()
    view.rows[0].credential, view.rows[0].credential_lifetime = "proxy", 3600.0
    written = {line.split()[2] for line in render_prometheus(view, totals).splitlines() if line.startswith("# TYPE")}
    used = set(re.findall(r"\bapfctl_[a-z0-9_]+", (RULES / "alerts.yml").read_text()))
    assert used and used <= written, used - written


def test_the_failing_streak_counts_cycles_in_a_row_and_restarts_after_a_good_one():
    from prometheus_client.parser import text_string_to_metric_families

    totals = Totals(created=NOW.timestamp() - 7200, watermark=NOW.timestamp() - 7200)
    outcomes = [True, False, False, False, True, False, False]           # True: a good cycle
    for index, good in enumerate(outcomes):
        totals.count(record("Q", 60 - index * 6, batch_error=None if good else "schedd unreachable"))
    assert totals.queues["Q"]["failing_streak"] == 2 and totals.queues["Q"]["errors_batch"] == 5
    view = build_view([QueueSpec("Q")], {"Q": record("Q", 1, batch_error="x")}, now=NOW, factory="BNL")
    families = {f.name: f for f in text_string_to_metric_families(render_prometheus(view, {"BNL": totals}))}
    assert [s.value for s in families["apfctl_cycle_failing_streak"].samples] == [2]
