"""Replay: decide stored status again under another configuration and compare (what-if).

:func:`compare` is pure: it takes stored records and a ``decide`` function (in apfctl
replay, a :class:`~apfctl.stages.decide.Decider` built on the candidate configuration)
and reports, per queue, how many cycles' decisions differ, by how much, and the first
differing cycles with both traces. Nothing here submits anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

Record = dict[str, Any]


@dataclass
class Difference:
    """One cycle whose decision changed: the stored decision and the candidate's."""

    cycle: str
    stored: Mapping[str, Any]
    candidate: Mapping[str, Any]

    @property
    def delta(self) -> int:
        return int(self.candidate["pilots"]) - int(self.stored["pilots"])


@dataclass
class QueueReplay:
    """The comparison for one queue."""

    queue: str
    cycles: int = 0               # cycles decided again
    differing: int = 0            # of which the number of pilots changed
    stored_pilots: int = 0        # sum of the stored decisions
    candidate_pilots: int = 0     # sum of the candidate decisions
    absolute_difference: int = 0  # sum of |candidate - stored| over the cycles
    skipped: int = 0              # records without status or without a stored decision
    first: list[Difference] = field(default_factory=list)

    @property
    def difference(self) -> int:
        """candidate - stored, summed: more (positive) or fewer pilots overall."""
        return self.candidate_pilots - self.stored_pilots

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["difference"] = self.difference
        data["first"] = [dict(asdict(d), delta=d.delta) for d in self.first]
        return data


def replayable(record: Mapping[str, Any]) -> bool:
    """A stored record that has the status sections decide needs and the decision it made."""
    return "wms" in record and "batch" in record and isinstance(record.get("decision"), Mapping)


def latest_per_cycle(records: Iterable[Record]) -> list[Record]:
    """One record per (queue, cycle), the last stored, in the order cycles first appear."""
    kept: dict[tuple[str, str], Record] = {}
    for record in records:
        kept[(record["queue"], record["cycle"])] = record
    return list(kept.values())


def compare(records: Iterable[Record], decide: Callable[[Record], Record], first: int = 3) -> list[QueueReplay]:
    """Decide each record again with ``decide`` and compare with its stored decision.

    ``decide`` gets a copy holding only the status (the header, ``wms`` and ``batch``) and
    returns it with a ``decision``. Queues come back in the order they first appear.
    """
    results: dict[str, QueueReplay] = {}
    for record in latest_per_cycle(records):
        queue = record["queue"]
        result = results.get(queue)
        if result is None:
            result = results[queue] = QueueReplay(queue)
        if not replayable(record):
            result.skipped += 1
            continue
        status = {key: value for key, value in record.items() if key not in ("decision", "submission")}
        stored = record["decision"]
        candidate = decide(status)["decision"]
        result.cycles += 1
        result.stored_pilots += stored["pilots"]
        result.candidate_pilots += candidate["pilots"]
        if candidate["pilots"] != stored["pilots"] or per_type(candidate) != per_type(stored):
            result.differing += 1
            result.absolute_difference += abs(candidate["pilots"] - stored["pilots"])
            if len(result.first) < first:
                result.first.append(Difference(record["cycle"], stored, candidate))
    return list(results.values())


def per_type(decision: Mapping[str, Any]) -> dict[str, int]:
    """Pilots per resource type of a decision ({} for a queue without types)."""
    types = decision.get("types")
    return {rt: typed.get("pilots", 0) for rt, typed in types.items()} if isinstance(types, Mapping) else {}


def _trace_line(decision: Mapping[str, Any]) -> str:
    steps = decision.get("trace") or []
    line = "  ".join(f"{step['type'] + '/' if step.get('type') else ''}{step.get('rule')} "
                     f"{step.get('in')}->{step.get('out')}" for step in steps) or "(no trace)"
    counts = per_type(decision)
    return f"{line}  [{' '.join(f'{rt}={n}' for rt, n in counts.items())}]" if counts else line


def render_replay(results: list[QueueReplay], candidate: str) -> str:
    """A summary table of every queue, then each queue's first differing cycles."""
    from tabulate import tabulate

    if not results:
        return "no stored records to replay in that period"
    rows = [[r.queue, r.cycles, r.differing, r.stored_pilots, r.candidate_pilots, f"{r.difference:+d}",
             r.absolute_difference, r.skipped] for r in results]
    parts = [f"replayed under {candidate}; nothing was submitted", "",
             tabulate(rows, headers=["queue", "cycles", "differ", "stored", "candidate", "difference",
                                     "|difference|", "skipped"], tablefmt="simple", disable_numparse=True,
                      colalign=("left",) + ("right",) * 7)]
    for result in results:
        for diff in result.first:
            parts += ["", f"{result.queue}  cycle {diff.cycle}: stored {diff.stored['pilots']}, "
                          f"candidate {diff.candidate['pilots']} ({diff.delta:+d})",
                      f"  stored:    {_trace_line(diff.stored)}",
                      f"             {diff.stored.get('msg', '')}",
                      f"  candidate: {_trace_line(diff.candidate)}",
                      f"             {diff.candidate.get('msg', '')}"]
    return "\n".join(parts)
