"""The renderers: rich table (recording console), plain text, JSON, and OpenMetrics parsed back."""

from __future__ import annotations

import json
import re

import pytest
from rich.console import Console

from apfctl.dashboard import cells, plain
from apfctl.dashboard.machine import render_json, render_prometheus
from apfctl.dashboard.table import render
from apfctl.dashboard.totals import Totals
from apfctl.dashboard.view import QueueSpec, build_view
from tests.monitor.monitor_helpers import MSG, NOW, record

ANSI = re.compile(r"\x1b\[")


def mixed_view():
    specs = [QueueSpec("HEALTHY"), QueueSpec("STALE_Q", interval=60), QueueSpec("FAILING"), QueueSpec("NEW_Q")]
    latest = {"HEALTHY": record("HEALTHY", 2), "STALE_Q": record("STALE_Q", 90),
              "FAILING": record("FAILING", 1, batch_error="schedd unreachable"), "GONE": record("GONE", 3)}
    history = [record("HEALTHY", minutes, submitted=minutes % 7) for minutes in range(1, 120, 6)]
    return build_view(specs, latest, history, now=NOW, factory="BNL")


def draw(view, width, **options):
    console = Console(width=width, record=True, force_terminal=True, color_system="truecolor")
    console.print(render(view, width, **options))
    return console


def style_of(console, text):
    """The style of the first segment that contains ``text``."""
    for segment in console._record_buffer:
        if text in segment.text:
            return segment.style
    raise AssertionError(f"{text!r} not rendered")


def test_rich_table_colours_health_and_dims_unconfigured_queues():
    console = draw(mixed_view(), 160)
    text = console.export_text(clear=False)
    lines = text.splitlines()
    assert lines[0].startswith("factory BNL · 5 queues · 1 failing · 1 stale · from the ledger")
    header = next(line for line in lines if line.startswith("queue"))
    for column in ("created", "held", "running", "exiting", "done 1h", "fault 1h", "sub", "activity 2h", "age",
                   "last msg"):
        assert column in header
    healthy = next(line for line in lines if line.startswith("HEALTHY"))
    assert re.search(r"HEALTHY\s+3\s+1\s+41\s+1\s+12\s+2\s+9\s", healthy)
    assert any(ch in healthy for ch in cells.SPARK_LEVELS)
    assert style_of(console, "1h30m").color.name == "yellow"          # stale
    failing = style_of(console, "batch: schedd unreachable")
    assert failing.color.name == "red"
    assert style_of(console, "FAILING").color.name == "red"
    assert style_of(console, "never").dim                               # configured, no cycle yet
    assert style_of(console, "GONE").dim                                # only in the ledger: dimmed
    assert "(not configured)" in text


def test_rich_table_says_no_cycles_yet_on_an_empty_ledger():
    view = build_view([QueueSpec("A"), QueueSpec("B")], {}, now=NOW)
    text = draw(view, 100).export_text()
    assert "no cycles yet" in text and "never" in text
    assert "no enabled queues" in draw(build_view([], {}, now=NOW), 100).export_text()


@pytest.mark.parametrize("width", [30, 45, 60, 80, 100, 132])
def test_narrow_terminals_shorten_columns_and_never_wrap(width):
    view = mixed_view()
    text = draw(view, width).export_text()
    lines = text.rstrip("\n").splitlines()
    assert all(len(line) <= width for line in lines), width
    # one line per queue: a summary, the header, a rule, then exactly the rows
    assert len(lines) == 3 + len(view.rows)
    assert [line.split()[0].rstrip("…") for line in lines[3:]] == [
        row.queue[:len(line.split()[0].rstrip("…"))] for row, line in zip(view.rows, lines[3:], strict=True)]
    header = lines[1]
    assert "queue" in header and "age" in header      # the most important columns stay


def test_wide_shows_the_whole_message_and_default_shortens_it():
    view = build_view([QueueSpec("A")], {"A": record("A")}, now=NOW)
    assert MSG not in draw(view, 120).export_text()
    assert "".join(draw(view, 120, wide=True).export_text().split()).count("".join(MSG.split())) == 1


def test_plain_table_has_no_control_codes_and_spells_out_health():
    text = plain.render(mixed_view())
    assert not ANSI.search(text)
    lines = text.splitlines()
    assert lines[1].split()[:3] == ["queue", "created", "held"]
    stale = next(line for line in lines if line.startswith("STALE_Q"))
    assert "1h30m STALE" in stale
    assert "FAILING" in next(line for line in lines if line.startswith("FAILING"))
    healthy = next(line for line in lines if line.startswith("HEALTHY")).split()
    assert healthy[1:9] == ["3", "1", "41", "1", "12", "2", "9", str(sum(m % 7 for m in range(1, 120, 6)))]
    assert "…" in healthy[-1] and MSG in plain.render(mixed_view(), wide=True)
    empty = plain.render(build_view([QueueSpec("A")], {}, now=NOW))
    assert "no cycles yet" in empty and not ANSI.search(empty)


def test_json_document():
    document = json.loads(render_json(mixed_view()))
    assert document["apfctl_monitor"] == 1 and document["factory"] == "BNL"
    assert document["time"] == "2026-11-25T06:30:00Z" and document["has_cycles"] is True
    rows = {row["queue"]: row for row in document["queues"]}
    assert rows["HEALTHY"]["pending"] == 3 and rows["HEALTHY"]["health"] == "ok" and rows["HEALTHY"]["msg"] == MSG
    assert rows["STALE_Q"]["stale"] is True and rows["STALE_Q"]["age"] == 5400
    assert rows["FAILING"]["errors"] == {"batch": "schedd unreachable"}
    assert rows["GONE"]["configured"] is False
    assert rows["NEW_Q"]["time"] is None and rows["NEW_Q"]["health"] == "never"
    assert len(rows["HEALTHY"]["activity"]["submitted"]) == 24


def parse_openmetrics(text):
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    return {family.name: family for family in text_string_to_metric_families(text)}


def test_prometheus_output_is_valid_openmetrics_with_gauges_and_counters():
    view = mixed_view()
    totals = {"BNL": Totals(created=1764000000.0, watermark=0.0,
                            queues={"HEALTHY": {"submitted": 120, "retired": 3, "cycles": 20},
                                    "FAILING": {"cycles": 2, "errors_batch": 2}})}
    families = parse_openmetrics(render_prometheus(view, totals, openmetrics=True))

    def sample(family, name, **labels):
        for s in families[family].samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
        raise AssertionError(f"no {name} {labels}")

    assert families["apfctl_pilots"].type == "gauge"
    assert sample("apfctl_pilots", "apfctl_pilots", queue="HEALTHY", state="pending", factory="BNL") == 3
    assert sample("apfctl_pilots", "apfctl_pilots", queue="HEALTHY", state="held") == 1
    assert sample("apfctl_pilots_ended_1h", "apfctl_pilots_ended_1h", queue="HEALTHY", outcome="fault") == 2
    assert sample("apfctl_decision_pilots", "apfctl_decision_pilots", queue="HEALTHY") == 9
    assert sample("apfctl_cycle_submitted_pilots", "apfctl_cycle_submitted_pilots", queue="HEALTHY") == 9
    assert sample("apfctl_cycle_age_seconds", "apfctl_cycle_age_seconds", queue="STALE_Q") == 5400
    assert families["apfctl_cycle_age_seconds"].unit == "seconds"
    assert sample("apfctl_cycle_stale", "apfctl_cycle_stale", queue="STALE_Q") == 1
    assert sample("apfctl_cycle_error", "apfctl_cycle_error", queue="FAILING", source="batch") == 1
    assert sample("apfctl_cycle_error", "apfctl_cycle_error", queue="HEALTHY", source="batch") == 0
    assert sample("apfctl_queue_configured", "apfctl_queue_configured", queue="GONE") == 0
    assert families["apfctl_pilots_submitted"].type == "counter"
    assert sample("apfctl_pilots_submitted", "apfctl_pilots_submitted_total", queue="HEALTHY") == 120
    assert sample("apfctl_pilots_submitted", "apfctl_pilots_submitted_created", queue="HEALTHY") == 1764000000
    assert sample("apfctl_cycle_errors", "apfctl_cycle_errors_total", queue="FAILING", source="batch") == 2
    # no numbers for a queue that never cycled
    assert not [s for s in families["apfctl_pilots"].samples if s.labels["queue"] == "NEW_Q"]


def test_prometheus_escapes_label_values():
    view = build_view([QueueSpec('odd"queue\\name')], {}, now=NOW)
    families = parse_openmetrics(render_prometheus(view, openmetrics=True))
    assert families["apfctl_queue_configured"].samples[0].labels["queue"] == 'odd"queue\\name'


def test_prometheus_output_of_an_empty_ledger_still_parses():
    families = parse_openmetrics(render_prometheus(build_view([], {}, now=NOW), openmetrics=True))
    assert families == {}


def test_a_screen_too_short_for_every_queue_draws_the_rows_from_first_that_fit():
    view = build_view([QueueSpec(f"Q{index:02d}") for index in range(40)], {}, now=NOW)
    text = draw_height(view, 100, 12)
    lines = text.rstrip("\n").splitlines()
    assert len(lines) == 12 and lines[-1].startswith("q quit")
    assert "Q00" in text and "Q06" in text and "Q07" not in text        # 12 - 3 heading lines - note - footer
    text = draw_height(view, 100, 12, first=30)
    assert "Q29" not in text and "Q30" in text and "Q36" in text and "Q37" not in text


def draw_height(view, width, height, first=0):
    console = Console(width=width, height=height, record=True, force_terminal=True)
    console.print(render(view, width, height=height, footer="q quit", first=first))
    return console.export_text()


def test_wide_messages_wrap_inside_their_column():
    view = build_view([QueueSpec("A"), QueueSpec("B")], {"A": record("A"), "B": record("B", msg="short")}, now=NOW)
    lines = draw(view, 100, wide=True).export_text().splitlines()
    start = lines[1].index("last msg")
    continued = [line for line in lines[4:] if line.strip() and not line.startswith(("A ", "B "))]
    assert continued and all(line[:start].strip() == "" for line in continued)
    assert "".join(line[start:].strip() for line in lines[3:3 + 1 + len(continued)]) == MSG
