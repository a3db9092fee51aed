"""Did a queue's record fail? One answer for every command's exit code (1 when some record did)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def status_failure(record: Mapping[str, Any]) -> str | None:
    """Why the record's status cannot be trusted (a source missing or not read), or None."""
    for name in ("wms", "batch"):
        section = record.get(name)
        if not section:
            return f"{name} status missing"
        if section.get("ok") is not True:
            return f"{name} status failed ({section.get('error') or 'no reason given'})"
    return None


def failure(record: Mapping[str, Any]) -> str | None:
    """Why this queue failed in the stages its record has been through, or None.

    A status source not read, a rule of the chain that failed, a submission that failed;
    a submission skipped (already done, queue locked) is not a failure.
    """
    if "wms" in record or "batch" in record:
        reason = status_failure(record)
        if reason is not None:
            return reason
    for step in record.get("decision", {}).get("trace", ()):
        if step.get("error"):
            return f"rule {step['rule']} failed: {step['msg']}"
    error = (record.get("submission") or {}).get("error")
    if error:
        return f"submission failed: {error}"
    return None


def any_failed(records: Iterable[Mapping[str, Any]]) -> bool:
    return any(failure(record) is not None for record in records)
