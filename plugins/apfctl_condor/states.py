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
# Removals by the factory itself carry this reason prefix; they count as neither done nor fault.
REMOVE_REASON_PREFIX = "apfctl"

PENDING, RUNNING, REMOVED, COMPLETED, HELD, EXITING = 1, 2, 3, 4, 5, 6
UNEXPANDED = 0

# Every job has ClusterId, ProcId and the times; asking for them in the queue query would
# cost memory on every one of 200,000 ads, so only the history query asks for what ended.
QUEUE_ATTRS = (QUEUE_KEY, "JobStatus", "HoldReasonCode", "HoldReasonSubCode", "HoldReason")
HISTORY_ATTRS = (QUEUE_KEY, "JobStatus", "EnteredCurrentStatus", "CompletionDate", "RemoteWallClockTime",
                 "ExitCode", "RemoveReason")


class BadAttribute(ValueError):
    """A job ad attribute of the wrong type; the message names the job and the attribute
    (the caller adds the schedd)."""

    def __init__(self, ad: Any, attr: str, value: Any, wanted: str) -> None:
        self.attr = attr
        queue = ad.get(QUEUE_KEY)
        # the status query projects no ids (memory): name the queue then
        job = (f"job {job_id(ad)}" if ad.get("ClusterId") is not None
               else f"a job of queue {queue}" if isinstance(queue, str) else "a job")
        super().__init__(f"{job}: attribute {attr} is {type(value).__name__} {value!r}, not {wanted}")


_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "int": ((int,), "an integer"), "number": ((int, float), "a number"), "str": ((str,), "a string")}


def attribute(ad: Any, attr: str, kind: str) -> Any:
    """``ad[attr]`` checked to be of ``kind`` (int, number, str); None when undefined."""
    value = ad.get(attr)
    if value is None:
        return None
    types, wanted = _KINDS[kind]
    if not isinstance(value, types) or (kind != "str" and isinstance(value, bool)):
        raise BadAttribute(ad, attr, value, wanted)
    return value


def outcome(ad: Any) -> Outcome:
    """done (exit code 0), removed (by the factory itself) or fault (anything else)."""
    if attribute(ad, "JobStatus", "int") == REMOVED:
        reason = attribute(ad, "RemoveReason", "str")
        if reason is not None and reason.startswith(REMOVE_REASON_PREFIX):
            return "removed"
        return "fault"
    return "done" if attribute(ad, "ExitCode", "int") == 0 else "fault"


def finished(ad: Any) -> Finished:
    end = attribute(ad, "CompletionDate", "number") or attribute(ad, "EnteredCurrentStatus", "number") or 0
    wall = attribute(ad, "RemoteWallClockTime", "number") or 0
    return Finished(end=float(end), walltime=float(wall), outcome=outcome(ad))


def aggregate(queue_ads: Iterable[Any], history_ads: Iterable[Any],
              queues: Collection[str]) -> dict[str, BatchCounts]:
    """Counts per queue name in ``queues``; ads of other queues are ignored.

    A job that ended but still sits in the queue (a grid job whose removal the CE has not
    confirmed yet) is neither active nor finished: it counts once it reaches the history.
    An attribute of the wrong type raises :class:`BadAttribute` naming the job and attribute.
    """
    counts = {name: BatchCounts() for name in queues}
    holds: dict[str, dict[tuple[int | None, int | None], list[Any]]] = {}
    for ad in queue_ads:
        queue = attribute(ad, QUEUE_KEY, "str")
        batch = counts.get(queue)  # type: ignore[arg-type]
        if batch is None:
            continue
        status = attribute(ad, "JobStatus", "int")
        if status in (PENDING, UNEXPANDED):
            batch.pending += 1
        elif status == RUNNING:
            batch.running += 1
        elif status == HELD:
            batch.held += 1
            key = (attribute(ad, "HoldReasonCode", "int"), attribute(ad, "HoldReasonSubCode", "int"))
            seen = holds.setdefault(queue, {}).get(key)
            if seen is None:
                holds[queue][key] = [1, attribute(ad, "HoldReason", "str")]
            else:
                seen[0] += 1
        elif status == EXITING:
            batch.exiting += 1
    for ad in history_ads:
        batch = counts.get(attribute(ad, QUEUE_KEY, "str"))  # type: ignore[arg-type]
        if batch is not None and attribute(ad, "JobStatus", "int") in (REMOVED, COMPLETED):
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
