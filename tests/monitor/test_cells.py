"""Cell texts: ages, sparklines, shortened messages."""

from __future__ import annotations

import pytest

from apfctl.dashboard.cells import age_text, shorten, sparkline


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
