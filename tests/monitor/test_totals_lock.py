"""The counters' lock never holds a cycle up: a held lock means counters not updated, said once."""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path

import pytest

from apfctl.dashboard import totals


def test_a_held_lock_gives_up_after_the_wait(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    monkeypatch.setattr(totals, "LOCK_WAIT", 0.2)
    tmp_path.mkdir(exist_ok=True)
    with open(tmp_path / f"{totals.FILENAME}.lock", "a") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        asked = []
        with caplog.at_level(logging.WARNING):
            result = totals.update(tmp_path, lambda since: asked.append(since) or [], now=1_800_000_000.0)
    assert asked == []                       # the ledger was not read under someone else's lock
    assert isinstance(result, totals.Totals)
    assert "counters not updated" in caplog.text
