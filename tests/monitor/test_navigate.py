"""The live screen's keys (scrolling, filter, sort) as a pure state machine, and at 80 columns."""

from __future__ import annotations

import pytest
from rich.console import Console

from apfctl.dashboard import cells
from apfctl.dashboard.navigate import Navigator, key_names
from apfctl.dashboard.table import render
from apfctl.dashboard.view import QueueSpec, build_view
from tests.monitor.monitor_helpers import NOW, record


def rows(count=50):
    names = [f"Q{index:02d}" for index in range(count)]
    latest = {name: record(name, 1, pending=index) for index, name in enumerate(names)}
    return build_view([QueueSpec(name) for name in names], latest, now=NOW).rows


def test_terminal_sequences_become_key_names():
    assert key_names("\x1b[A\x1b[Bjk\x1b[5~\x1b[6~\x1b[H\x1b[F\x1bOH\x1b[4~/ab\r\x7f\x1b") == [
        "up", "down", "j", "k", "pgup", "pgdn", "home", "end", "home", "end", "/", "a", "b", "enter", "backspace",
        "esc"]


def test_scrolling_stays_within_the_rows():
    nav = Navigator(room=10)
    shown = nav.rows(rows())
    assert nav.first == 0 and len(shown) == 50
    for key, first in (("down", 1), ("j", 2), ("k", 1), ("up", 0), ("up", 0), ("pgdn", 9), ("pgdn", 18),
                       ("end", 40), ("down", 40), ("pgup", 31), ("home", 0), ("G", 40), ("g", 0)):
        nav.press(key)
        assert nav.first == first, key
    assert nav.status().startswith("rows 1-10 of 50")


def test_filter_typed_after_slash_narrows_and_esc_clears_it():
    nav = Navigator(room=10)
    nav.rows(rows())
    nav.press("end")
    for key in key_names("/Q1*"):
        nav.press(key)
    assert nav.typing == "Q1*" and [row.queue for row in nav.rows(rows())] == [f"Q1{i}" for i in range(10)]
    assert nav.first == 0 and "filter: Q1*" in nav.status()
    nav.press("q")                                    # while typing, q is a letter, not quit
    assert not nav.quit and nav.typing == "Q1*q"
    nav.press("backspace")
    nav.press("enter")
    assert nav.filter == "Q1*" and nav.typing is None and nav.total == 10
    assert nav.status() == "rows 1-10 of 10 · sort queue · filter Q1* (Esc clears)"
    nav.press("esc")
    assert nav.filter == "" and len(nav.rows(rows())) == 50
    for key in key_names("/Q4\x1b"):                  # Esc while typing drops what was typed
        nav.press(key)
    assert nav.filter == "" and nav.typing is None


def test_sort_keys_cycle_and_reverse():
    nav = Navigator(room=10)
    nav.press("s")                                    # queue -> age
    nav.press("s")                                    # age -> health
    nav.press("s")                                    # health -> pending
    assert nav.sort_key == "pending"
    assert [row.queue for row in nav.rows(rows())][:3] == ["Q49", "Q48", "Q47"]   # largest first
    nav.press("S")
    assert [row.queue for row in nav.rows(rows())][:3] == ["Q00", "Q01", "Q02"]
    assert "sort pending reversed" in nav.status()
    nav.press("q")
    assert nav.quit


@pytest.mark.parametrize("names", [
    ["BNL_PROD-gridgk01_A", "BNL_PROD-gridgk01_B", "BNL_PROD-gridgk02_A"],
    ["BNL_PROD-gridgk01.racf.bnl.gov-A", "BNL_PROD-gridgk01.racf.bnl.gov-B", "BNL_PROD-gridgk02.racf.bnl.gov-A",
     "CERN_PROD_1"],
    [f"ANALY_SITE_{index:03d}_long_suffix" for index in range(200)],
])
def test_queue_names_stay_distinct_and_rules_show_at_80_columns(names):
    view = build_view([QueueSpec(name) for name in names], {name: record(name, 2) for name in names}, now=NOW)
    console = Console(width=80, record=True, force_terminal=False)
    console.print(render(view, 80))
    lines = console.export_text().splitlines()
    assert all(len(line) <= 80 for line in lines)
    header = lines[1].split()
    assert header[:8] == ["queue", "crtd", "held", "run", "exit", "done", "fault", "sub"]   # exiting kept
    cells_shown = [line.split()[0] for line in lines[3:]]
    assert len(set(cells_shown)) == len(names)                # distinguishable, every one
    assert all("MaxPerCycle" in line for line in lines[3:])  # the limiting rule, not "Ready:in=0,…"


def test_middle_cut_keeps_both_ends():
    assert cells.middle_cut("BNL_PROD-gridgk01_A", 10, 4) == "BNL_P…01_A"
    assert cells.distinct_names(["SHORT", "ALSO_SHORT"], 20) == ["SHORT", "ALSO_SHORT"]
