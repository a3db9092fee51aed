"""Old pilot log folders: removed per keepdays, only the asked queues', errors reported."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from apfctl.cleanup.logs import clean_logs

TODAY = dt.date(2026, 11, 25)


def folders(base: Path, day: str, *queues: str) -> None:
    for queue in queues:
        (base / day / queue).mkdir(parents=True)
        (base / day / queue / "1.0.out").write_text("pilot output\n")


def test_only_the_asked_queues_folders_go(tmp_path: Path) -> None:
    folders(tmp_path, "2026-11-01", "Q1", "Q2")
    actions = clean_logs(tmp_path, 14, {}, today=TODAY, only=["Q1"])
    assert [a["queue"] for a in actions] == ["Q1"]
    assert not (tmp_path / "2026-11-01" / "Q1").exists()
    assert (tmp_path / "2026-11-01" / "Q2" / "1.0.out").exists()


def test_queue_keepdays_and_empty_date_folders(tmp_path: Path) -> None:
    folders(tmp_path, "2026-11-20", "SHORT", "LONG")
    actions = clean_logs(tmp_path, 14, {"SHORT": 2, "LONG": None}, today=TODAY)
    assert [(a["queue"], a["keepdays"]) for a in actions] == [("SHORT", 2)]
    folders(tmp_path, "2026-10-01", "LONG")
    clean_logs(tmp_path, 14, {}, today=TODAY)
    assert not (tmp_path / "2026-10-01").exists()     # emptied, so removed too


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    folders(tmp_path, "2026-11-01", "Q1")
    (action,) = clean_logs(tmp_path, 14, {}, today=TODAY, dry_run=True)
    assert action["dry_run"] is True and (tmp_path / "2026-11-01" / "Q1").exists()
