"""The view model: health, staleness, activity, queues no longer configured, sorting and filters."""

from __future__ import annotations

import datetime as dt

import pytest

from apfctl.dashboard.view import (
    ACTIVITY_BUCKETS,
    QueueSpec,
    build_view,
    matches,
    record_time,
    sort_rows,
    split_patterns,
)
from tests.monitor.monitor_helpers import NOW, record


def rows_by_name(view):
    return {row.queue: row for row in view.rows}


def test_healthy_queue_takes_its_counts_message_and_submissions_from_the_last_record():
    view = build_view([QueueSpec("A")], {"A": record("A", 2)}, now=NOW)
    row = view.rows[0]
    assert (row.pending, row.held, row.running, row.exiting, row.done_1h, row.fault_1h) == (3, 1, 41, 1, 12, 2)
    assert row.submitted == 9 and row.decided == 9 and row.msg.startswith("Ready:in=0")
    assert row.age == 120 and row.health == "ok" and not row.stale
    assert view.has_cycles


def test_stale_after_two_cycle_intervals_of_the_queue():
    specs = [QueueSpec("A", interval=60), QueueSpec("B", interval=60), QueueSpec("C")]
    latest = {"A": record("A", 2), "B": record("B", 2.5), "C": record("C", 2.5)}
    rows = rows_by_name(build_view(specs, latest, now=NOW))
    assert rows["A"].health == "ok"          # exactly two intervals: not yet stale
    assert rows["B"].health == "stale"
    assert rows["C"].health == "ok"          # default interval 360 s


def test_failing_when_a_source_or_the_submission_failed():
    broken = record("B")
    broken["submission"]["error"] = "schedd refused the submit"
    latest = {"A": record("A", batch_error="schedd unreachable"), "B": broken}
    rows = rows_by_name(build_view([QueueSpec("A"), QueueSpec("B")], latest, now=NOW))
    assert rows["A"].health == "failing" and rows["A"].errors == {"batch": "schedd unreachable"}
    assert rows["A"].pending is None          # no counts from a failed batch status
    assert rows["B"].health == "failing" and "submission" in rows["B"].errors


def test_a_queue_without_records_has_never_cycled_and_no_numbers():
    view = build_view([QueueSpec("NEW")], {}, now=NOW)
    row = view.rows[0]
    assert row.health == "never" and row.age is None and row.pending is None and row.msg == ""
    assert not view.has_cycles


def test_recorded_queues_no_longer_configured_or_disabled_are_kept_and_marked():
    specs = [QueueSpec("A"), QueueSpec("OFF", enabled=False), QueueSpec("OFF_NEVER", enabled=False)]
    latest = {"A": record("A"), "GONE": record("GONE"), "OFF": record("OFF")}
    rows = rows_by_name(build_view(specs, latest, now=NOW))
    assert set(rows) == {"A", "GONE", "OFF"}            # a disabled queue without records is not shown
    assert not rows["GONE"].configured and rows["GONE"].pending == 3
    assert rows["OFF"].configured and not rows["OFF"].enabled


def test_activity_counts_submissions_per_five_minutes_over_two_hours_once_per_cycle():
    history = [record("A", 1, submitted=4), record("A", 1, submitted=4),   # the same cycle stored twice
               record("A", 7, submitted=2), record("A", 119, submitted=5), record("A", 121, submitted=50),
               record("B", 3, submitted=1)]
    view = build_view([QueueSpec("A"), QueueSpec("B")], {}, history, now=NOW)
    spark = rows_by_name(view)["A"].activity
    assert len(spark) == ACTIVITY_BUCKETS == 24
    assert spark[-1] == 4 and spark[-2] == 2 and spark[0] == 5 and sum(spark) == 11


def test_record_time_from_the_cycle_id_or_the_status_time():
    assert record_time({"cycle": "20261125T060000Z-3f2a"}) == dt.datetime(2026, 11, 25, 6, tzinfo=dt.UTC)
    assert record_time({"cycle": "replayed", "batch": {"time": "2026-11-25T05:00:00Z"}}).hour == 5
    assert record_time({"cycle": "x"}) is None


@pytest.mark.parametrize(("key", "expected"), [
    ("queue", ["A", "B", "C", "D"]),
    ("pending", ["C", "A", "B", "D"]),
    ("health", ["B", "A", "D", "C"]),       # failing, stale (30 min > 2 x 600 s), never, ok
    ("age", ["A", "C", "B", "D"]),
])
def test_sorting_numbers_largest_first_missing_values_last(key, expected):
    latest = {"A": record("A", 30, pending=5), "B": record("B", 1, batch_error="down"), "C": record("C", 2, pending=9)}
    view = build_view([QueueSpec(n, interval=600) for n in "ABCD"], latest, now=NOW)
    assert [row.queue for row in sort_rows(view.rows, key)] == expected


def test_sorting_reversed_and_unknown_key():
    view = build_view([QueueSpec(n) for n in "AB"], {}, now=NOW)
    assert [row.queue for row in sort_rows(view.rows, "queue", reverse=True)] == ["B", "A"]
    with pytest.raises(ValueError, match="unknown sort key"):
        sort_rows(view.rows, "colour")


def test_glob_patterns_select_queues():
    names = ("BNL_1", "BNL_2", "CERN_1", "bnl_x")
    patterns = split_patterns(["BNL_*", "CERN_1,NOPE"])
    assert patterns == ["BNL_*", "CERN_1", "NOPE"]
    assert [name for name in names if matches(name, patterns)] == ["BNL_1", "BNL_2", "CERN_1"]
    assert len([name for name in names if matches(name, [])]) == 4
    assert matches("BNL_1", ["f1:BNL_*"], factory="f1") and not matches("BNL_1", ["f2:*"], factory="f1")
