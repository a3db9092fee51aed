"""An EC2 queue's VMs in the monitor: the counts of the record's ``batch.vms`` lead the last msg."""

from __future__ import annotations

import datetime as _dt

from apfctl.dashboard import cells
from apfctl.dashboard.view import Row, _fill

NOW = _dt.datetime(2026, 12, 1, 21, 0, tzinfo=_dt.UTC)


def row_of(batch: dict) -> Row:
    row = Row(queue="CLOUD", configured=True, enabled=True, interval=360)
    _fill(row, {"cycle": "20261201T205900Z-ab12", "batch": {"ok": True, "pending": 1, "running": 3, **batch},
                "decision": {"pilots": -1, "msg": "KeepNRunning:in=2,ret=-1"}}, NOW)
    return row


def test_vm_counts_are_read_from_the_record_and_shown_before_the_decision():
    row = row_of({"vms": {"pending": 1, "idle": 2, "busy": 0, "retiring": 1, "gone": 0, "list": []}})
    assert row.vms == {"pending": 1, "idle": 2, "busy": 0, "retiring": 1, "gone": 0}
    assert cells.message(row) == "VMs boot 1 idle 2 busy 0 retiring 1 | KeepNRunning:in=2,ret=-1"
    assert row.as_dict()["vms"]["idle"] == 2


def test_gone_vms_are_named_and_queues_without_vms_show_the_decision_alone():
    gone = row_of({"vms": {"pending": 0, "idle": 0, "busy": 0, "retiring": 0, "gone": 2}})
    assert cells.message(gone).startswith("VMs boot 0 idle 0 busy 0 retiring 0 gone 2 |")
    plain = row_of({})
    assert plain.vms is None and cells.message(plain) == "KeepNRunning:in=2,ret=-1"
    assert "vms" not in plain.as_dict()
