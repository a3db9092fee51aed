"""Cell texts: ages, sparklines, shortened messages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from apfctl.dashboard.cells import age_text, distinct_names, shorten, sparkline
from apfctl.dashboard.table import render
from apfctl.dashboard.view import QueueSpec, build_view
from tests.monitor.monitor_helpers import NOW, record


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "never"), (0, "0s"), (59.9, "59s"), (60, "1m"), (3599, "59m"), (3600, "1h00m"), (5400, "1h30m"),
    (86399, "23h59m"), (86400 * 3 + 4 * 3600, "3d04h"),
])
def test_ages(seconds, text):
    assert age_text(seconds) == text


def test_sparkline_scales_to_the_rows_maximum_and_leaves_empty_buckets_blank():
    assert sparkline([0, 0, 0]) == "   "
    assert sparkline([0, 1, 8, 4]) == " ▁█▄"
    assert sparkline([5, 5]) == "██"
    assert sparkline([1, 100]) == "▁█"


def test_shorten_collapses_whitespace_and_marks_the_cut():
    assert shorten("a  b\nc", 10) == "a b c"
    assert shorten("abcdefghij", 5) == "abcd…"


CE_NAMES = ["BNL_PROD_UCORE-gridgk01.racf.bnl.gov-condor", "BNL_PROD_MCORE-gridgk01.racf.bnl.gov-condor",
            "BNL_PROD_UCORE-gridgk02.racf.bnl.gov-condor"]


def test_names_differing_in_the_middle_stay_distinct_at_80_columns():
    view = build_view([QueueSpec(name) for name in CE_NAMES], {name: record(name) for name in CE_NAMES}, now=NOW)
    console = Console(width=80, record=True, color_system=None)
    console.print(render(view, 80))
    lines = console.export_text().rstrip("\n").splitlines()
    assert all(len(line) <= 80 for line in lines)
    cells = [line.split()[0] for line in lines[3:]]
    assert len(cells) == 3 and len(set(cells)) == 3, cells


def test_a_window_shows_where_a_name_differs():
    cells = distinct_names(CE_NAMES, 18)
    assert len(set(cells)) == 3
    assert "MCORE" in cells[1]
    assert "gk02" in cells[2]
    assert distinct_names(CE_NAMES, 16)[0] == "…UCORE-gridgk01…"      # both differences of its neighbours


def test_names_that_defeat_every_cut_are_tagged():
    names = ["baaaabababb", "baaaababb", "abbbabbaaaab"]      # found by the property test below
    assert distinct_names(names, 6) == ["baa…#1", "baa…#2", "abb…#0"]


def _site_names(parts):
    head, middles, tail = parts
    return sorted({head + middle + tail for middle in middles})


# a site's queues: one head and tail, different middles (what defeats a single cut)
SITE_NAMES = st.tuples(st.text(alphabet="ab_.", min_size=8, max_size=30),
                       st.lists(st.text(alphabet="ab_.…#0", min_size=1, max_size=12), min_size=1, max_size=30),
                       st.text(alphabet="ab_.", min_size=8, max_size=30)).map(_site_names)


@settings(max_examples=200, deadline=None)
@given(names=SITE_NAMES | st.lists(st.text(min_size=1, max_size=60), min_size=1, max_size=40, unique=True),
       width=st.integers(min_value=4, max_value=50))
def test_distinct_names_give_distinct_cells_within_the_width(names, width):
    cells = distinct_names(names, width)
    assert len(set(cells)) == len(names)
    assert all(len(cell) <= width for cell in cells)


@given(names=st.lists(st.sampled_from([*CE_NAMES, "Q1", "BNL_PROD"]), min_size=1, max_size=10),
       width=st.integers(min_value=4, max_value=50))
def test_a_name_keeps_one_cell_wherever_it_appears(names, width):
    cells = dict.fromkeys(names)
    for name, cell in zip(names, distinct_names(names, width), strict=True):
        assert cells[name] in (None, cell)
        cells[name] = cell
