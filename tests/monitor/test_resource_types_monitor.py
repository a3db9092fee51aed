"""The per-resource-type breakdown of unified queues in every monitor output (issue 12, docs/resource-types.md).

The rows come from the record's ``batch.types``, ``decision.types`` and ``submission.types``;
JSON gives them as ``types``, the Prometheus formats as families labelled ``resource_type``
(checked by prometheus_client's parsers and by promtool), the tables as a row per type
under its queue.
"""

from __future__ import annotations

import json
import subprocess

from rich.console import Console

from apfctl.dashboard import plain
from apfctl.dashboard.machine import render_json, render_prometheus
from apfctl.dashboard.table import render
from apfctl.dashboard.totals import Totals
from apfctl.dashboard.view import QueueSpec, build_view, type_rows
from tests.monitor.monitor_helpers import NOW, record, typed_record
from tests.monitor.test_prometheus import PROMTOOL, needs_promtool


def typed_view():
    specs = [QueueSpec("MWT2_UCORE"), QueueSpec("CERN_PROD_1")]
    latest = {"MWT2_UCORE": typed_record("MWT2_UCORE", 2), "CERN_PROD_1": record("CERN_PROD_1", 2)}
    return build_view(specs, latest, now=NOW, factory="BNL")


def test_type_rows_read_batch_decision_and_submission_types():
    view = typed_view()
    unified, single = sorted(view.rows, key=lambda row: row.queue != "MWT2_UCORE")
    assert single.types == []
    assert [kind.name for kind in unified.types] == ["MCORE", "SCORE"]
    score = unified.types[1]
    assert (score.pending, score.held, score.running, score.exiting) == (2, 1, 30, 1)
    assert (score.decided, score.submitted, score.retired) == (6, 6, 0)
    assert score.msg.startswith("Ready:in=0,activated=80")


def test_a_failed_batch_read_shows_no_type_counts_but_keeps_the_decision():
    one = typed_record("MWT2_UCORE")
    one["batch"] = {"plugin": "Condor", "ok": False, "error": "schedd unreachable", "types": {"SCORE": {"pending": 5}}}
    one["decision"]["types"]["SCORE"]["pilots"] = "many"      # not a count: shown as unknown
    score = {kind.name: kind for kind in type_rows(one)}["SCORE"]
    assert score.pending is None and score.running is None and score.decided is None
    assert score.submitted == 6


def test_json_carries_the_types_of_each_queue():
    document = json.loads(render_json(typed_view()))
    queues = {queue["queue"]: queue for queue in document["queues"]}
    assert queues["CERN_PROD_1"]["types"] == []
    mcore = queues["MWT2_UCORE"]["types"][0]
    assert mcore == {"name": "MCORE", "pending": 1, "held": 0, "running": 11, "exiting": 0, "decided": 3,
                     "submitted": 3, "retired": 0, "msg": mcore["msg"]}


def samples(families, name, **labels):
    return [s.value for family in families.values() for s in family.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]


def test_openmetrics_and_classic_text_label_each_type_with_resource_type():
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
    from prometheus_client.parser import text_string_to_metric_families as classic

    view = typed_view()
    totals = {"BNL": Totals(created=1764000000.0, watermark=0.0, queues={"MWT2_UCORE": {"submitted": 9}})}
    for parse, text in ((openmetrics, render_prometheus(view, totals, openmetrics=True)),
                        (classic, render_prometheus(view, totals))):
        families = {family.name: family for family in parse(text)}
        assert samples(families, "apfctl_resource_type_pilots", queue="MWT2_UCORE", resource_type="SCORE",
                       state="running") == [30]
        assert samples(families, "apfctl_resource_type_decision_pilots", resource_type="MCORE") == [3]
        assert samples(families, "apfctl_resource_type_submitted_pilots", queue="MWT2_UCORE",
                       resource_type="SCORE") == [6]
        assert samples(families, "apfctl_resource_type_retired_pilots", resource_type="MCORE") == [0]
        assert not samples(families, "apfctl_resource_type_pilots", queue="CERN_PROD_1")
        # the queue-wide families keep their label set: summing them counts no pilot twice
        assert all("resource_type" not in s.labels for s in families["apfctl_pilots"].samples)
        assert families["apfctl_resource_type_pilots"].type == "gauge"


@needs_promtool
def test_promtool_accepts_the_per_type_families():
    text = render_prometheus(typed_view(), {"BNL": Totals(created=1764000000.0, watermark=0.0, queues={})})
    assert 'resource_type="MCORE"' in text
    result = subprocess.run([PROMTOOL or "promtool", "check", "metrics"], input=text, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0 and result.stdout == result.stderr == "", (result.stdout, result.stderr)


def test_terminal_table_has_a_row_per_type_under_its_queue_within_80_columns():
    for width in (80, 60, 132):
        console = Console(width=width, record=True, force_terminal=True, color_system="truecolor")
        console.print(render(typed_view(), width))
        lines = console.export_text().rstrip("\n").splitlines()
        assert all(len(line) <= width for line in lines), width
        names = [line.split()[0] for line in lines[3:]]
        assert names[0].startswith("MWT2_UC") and names[1:3] == ["└", "└"], names
        assert names[3].startswith("CERN_"), names
        assert [line.split()[1] for line in lines[4:6]] == ["MCORE", "SCORE"]
        if width == 80:
            assert lines[5].split()[2:6] == ["2", "1", "30", "1"]   # created, held, running, exiting
            assert "MaxPerCycle:in=78" in lines[5]       # the type's limiting step


def test_live_screen_draws_type_rows_only_while_they_fit():
    view = typed_view()
    console = Console(width=80, record=True)
    console.print(render(view, 80, height=7, footer="keys"))     # room for 2 lines: the two queues
    lines = console.export_text().rstrip("\n").splitlines()
    assert len(lines) <= 7 and not any("└" in line for line in lines)
    console = Console(width=80, record=True)
    console.print(render(view, 80, height=9, footer="keys"))     # room for 4: both types under their queue
    assert sum("└" in line for line in console.export_text().splitlines()) == 2


def test_plain_table_has_a_row_per_type():
    text = plain.render(typed_view())
    lines = text.splitlines()
    unified = next(index for index, line in enumerate(lines) if line.startswith("MWT2_UCORE"))
    assert lines[unified + 1].split()[:7] == ["└", "MCORE", "1", "0", "11", "0", "3"]
    assert lines[unified + 2].split()[:2] == ["└", "SCORE"]
