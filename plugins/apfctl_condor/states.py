"""Pilot states from HTCondor job ads, split by queue (DESIGN.md's state table).

Pure functions over anything with a ``get`` (``classad2.ClassAd`` or a dict), so the
aggregation is measured apart from the schedd (``benchmarks/bench_condor.py``). Only the
attributes in :data:`QUEUE_ATTRS` and :data:`HISTORY_ATTRS` are read: they are the
projections the status query asks for.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from apfctl.interfaces import BatchCounts, Finished, Outcome

QUEUE_KEY = "MATCH_APF_QUEUE"
FACTORY_ATTR = "ApfctlFactory"
CYCLE_ATTR = "ApfctlCycle"
TYPE_ATTR = "ApfctlResourceType"   # the resource type of a typed pilot (docs/resource-types.md)
# Removals by the factory itself carry this reason prefix; they count as neither done nor fault.
REMOVE_REASON_PREFIX = "apfctl"

PENDING, RUNNING, REMOVED, COMPLETED, HELD, EXITING = 1, 2, 3, 4, 5, 6
UNEXPANDED = 0

# Every job has ClusterId, ProcId and the times; asking for them in the queue query would
# cost memory on every one of 200,000 ads, so only the history query asks for what ended.
QUEUE_ATTRS = (QUEUE_KEY, "JobStatus", "HoldReasonCode", "HoldReasonSubCode", "HoldReason", TYPE_ATTR)
_STATE_FIELD = {PENDING: "pending", UNEXPANDED: "pending", RUNNING: "running", HELD: "held", EXITING: "exiting"}
HISTORY_ATTRS = (QUEUE_KEY, "JobStatus", "EnteredCurrentStatus", "CompletionDate", "RemoteWallClockTime",
                 "ExitCode", "RemoveReason")


def outcome(ad: Any) -> Outcome:
    """done (exit code 0), removed (by the factory itself) or fault (anything else)."""
    if ad.get("JobStatus") == REMOVED:
        reason = ad.get("RemoveReason")
        if isinstance(reason, str) and reason.startswith(REMOVE_REASON_PREFIX):
            return "removed"
        return "fault"
    return "done" if ad.get("ExitCode") == 0 else "fault"


def finished(ad: Any) -> Finished:
    end = ad.get("CompletionDate") or ad.get("EnteredCurrentStatus") or 0
    wall = ad.get("RemoteWallClockTime") or 0
    return Finished(end=float(end), walltime=float(wall), outcome=outcome(ad))


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def aggregate(queue_ads: Iterable[Any], history_ads: Iterable[Any],
              queues: Collection[str]) -> dict[str, BatchCounts]:
    """Counts per queue name in ``queues``; ads of other queues are ignored.

    A job that ended but still sits in the queue (a grid job whose removal the CE has not
    confirmed yet) is neither active nor finished: it counts once it reaches the history.
    """
    counts = {name: BatchCounts() for name in queues}
    holds: dict[str, dict[tuple[int | None, int | None], list[Any]]] = {}
    for ad in queue_ads:
        queue = ad.get(QUEUE_KEY)
        batch = counts.get(queue)  # type: ignore[arg-type]
        if batch is None:
            continue
        status = ad.get("JobStatus")
        if status in (PENDING, UNEXPANDED):
            batch.pending += 1
        elif status == RUNNING:
            batch.running += 1
        elif status == HELD:
            batch.held += 1
            key = (_number(ad.get("HoldReasonCode")), _number(ad.get("HoldReasonSubCode")))
            seen = holds.setdefault(queue, {}).get(key)
            if seen is None:
                holds[queue][key] = [1, ad.get("HoldReason")]
            else:
                seen[0] += 1
        elif status == EXITING:
            batch.exiting += 1
        rt = ad.get(TYPE_ATTR)
        if isinstance(rt, str) and rt and status in _STATE_FIELD:
            per_type = batch.types.setdefault(rt, {"pending": 0, "held": 0, "running": 0, "exiting": 0})
            per_type[_STATE_FIELD[status]] += 1
    for ad in history_ads:
        batch = counts.get(ad.get(QUEUE_KEY))  # type: ignore[arg-type]
        if batch is not None and ad.get("JobStatus") in (REMOVED, COMPLETED):
            batch.finished.append(finished(ad))
    for queue, batch in counts.items():
        batch.extra["held_reasons"] = held_reasons(holds.get(queue, {}))
    return counts


def held_reasons(holds: Mapping[tuple[int | None, int | None], list[Any]]) -> list[dict[str, Any]]:
    """``[{code, subcode, count, example}]``, most frequent first (like ``condor_q -hold-codes``)."""
    rows = [{"code": code, "subcode": subcode, "count": count,
             "example": example if isinstance(example, str) else None}
            for (code, subcode), (count, example) in holds.items()]
    rows.sort(key=lambda row: (-row["count"], row["code"] or 0, row["subcode"] or 0))
    return rows


def job_id(ad: Any) -> str:
    """``cluster.proc`` of a job ad."""
    return f"{ad.get('ClusterId')}.{ad.get('ProcId')}"


def total_success(answer: Any, asked: int) -> int:
    """How many jobs a ``Schedd.act`` call acted on (all asked, when the answer does not say)."""
    if answer is None:
        return asked
    value = answer.get("TotalSuccess")
    return value if isinstance(value, int) else asked
