"""Records rendered as a plain table for people (``--format table``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

COLUMNS = ("queue", "ready", "pending", "held", "running", "exiting", "done_1h", "fault_1h", "pilots", "done", "msg")
MSG_WIDTH = 60


def _row(record: Mapping[str, Any]) -> list[Any]:
    wms = record.get("wms") or {}
    batch = record.get("batch") or {}
    decision = record.get("decision") or {}
    submission = record.get("submission") or {}
    def count(section: Mapping[str, Any], key: str) -> Any:
        if not section:
            return ""
        return section.get(key, "") if section.get("ok") else "ERR"

    if submission.get("error"):
        done = f"error: {submission['error']}"
    elif submission.get("skipped"):
        done = f"skipped: {submission['skipped']}"
    elif submission.get("dry_run"):
        requested = submission["requested"]
        done = f"would submit {requested}" if requested >= 0 else f"would retire {-requested}"
    elif submission:
        done = f"submitted {submission['submitted']}" if submission["requested"] >= 0 \
            else f"retired {submission['retired']}"
    else:
        done = ""
    msg = decision.get("msg", "")
    errors = [f"{name}: {section.get('error')}" for name, section in (("wms", wms), ("batch", batch))
              if section and not section.get("ok")]
    text = "; ".join(errors) or msg
    if len(text) > MSG_WIDTH:
        text = text[: MSG_WIDTH - 1] + "…"
    return [record["queue"], count(wms, "ready"), count(batch, "pending"), count(batch, "held"),
            count(batch, "running"), count(batch, "exiting"), count(batch, "done_1h"), count(batch, "fault_1h"),
            decision.get("pilots", ""), done, text]


def records_table(records: Sequence[Mapping[str, Any]]) -> str:
    from tabulate import tabulate

    if not records:
        return "(no queues)"
    return tabulate([_row(r) for r in records], headers=COLUMNS, tablefmt="simple")
