"""Failures said on stderr: one line per failing queue, whatever the output format.

The record on stdout carries the reason too, but cron mails stderr: a queue that failed
must be heard there (``apfctl: error: queue Q: <stage>: <reason>``), and a run that did
nothing must say why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import click

STAGES = ("status", "decide", "submit")


def failure(record: Mapping[str, Any], stages: Iterable[str] = STAGES) -> tuple[str, str] | None:
    """(stage, reason) of the first of ``stages`` that failed for this record, or None.

    The same judgement as :func:`apfctl.record.failure.failure` (the exit codes), by stage.
    """
    from apfctl.record.failure import status_failure

    for stage in stages:
        if stage == "status":
            if "wms" in record or "batch" in record:
                reason = status_failure(record)
                if reason is not None:
                    return stage, reason
        elif stage == "decide":
            decision = record.get("decision")
            for step in (decision or {}).get("trace", ()) if isinstance(decision, Mapping) else ():
                if isinstance(step, Mapping) and step.get("error"):
                    return stage, str(step.get("msg") or "a rule failed")
        elif stage == "submit":
            submission = record.get("submission")
            if isinstance(submission, Mapping) and submission.get("error"):
                return stage, str(submission["error"])
    return None


def report_failures(records: Iterable[Mapping[str, Any]], stages: Iterable[str] = STAGES) -> int:
    """One stderr line per failing queue; how many failed."""
    wanted = tuple(stages)
    count = 0
    for record in records:
        found = failure(record, wanted)
        if found is not None:
            stage, reason = found
            click.echo(f"apfctl: error: queue {record.get('queue')}: {stage}: {' '.join(reason.split())}", err=True)
            count += 1
    return count


def say_no_queues(selected: list[str], enabled_none: bool, bad: Iterable[str], locked: Iterable[str]) -> None:
    """Why a command that works on queues has none to work on (stderr)."""
    bad, locked = sorted(bad), sorted(locked)
    if enabled_none and not selected:
        why = "no queue is enabled (enabled = True in a queue section; [Factory] enablequeues not False)"
    elif bad and not locked:
        why = f"every selected queue has configuration errors: {', '.join(bad)}"
    elif locked and not bad:
        why = f"every selected queue is locked by another apfctl: {', '.join(locked)}"
    else:
        why = (f"configuration errors: {', '.join(bad) or 'none'}; "
               f"locked by another apfctl: {', '.join(locked) or 'none'}")
    click.echo(f"apfctl: no queues: {why}", err=True)
