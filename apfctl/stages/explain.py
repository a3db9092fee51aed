"""Each queue's decision chain as a table people can read (``apfctl decide --explain``, the queue page).

Everything shown comes from the record: the trace steps (rule, in, out) and the
``key=value`` pairs of each step's APF message, which are the inputs the rule looked at.
A ``comment`` (and a ``reason``) says why a rule did what it did. The rule that last
lowered the number is named as what limited the decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from apfctl.record.failure import status_failure

_RESULT_KEYS = frozenset({"in", "ret", "out"})
_WHY_KEYS = ("comment", "reason")


def parse_message(msg: str) -> tuple[str, dict[str, str]]:
    """``Name:k=v,k2=v2`` -> (``Name``, {k: v}); a part without ``=`` is kept as a comment."""
    name, _, rest = msg.partition(":")
    pairs: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, value = part.partition("=")
        if sep:
            pairs[key.strip()] = value.strip()
        elif part.strip():
            pairs.setdefault("comment", part.strip())
    return name.strip(), pairs


def _effect(step: Mapping[str, Any], pairs: Mapping[str, str]) -> str:
    before, after = step.get("in", 0), step.get("out", 0)
    if after < before:
        change = f"lowered by {before - after}"
    elif after > before:
        change = f"raised by {after - before}"
    else:
        change = "unchanged"
    why = "; ".join(pairs[key] for key in _WHY_KEYS if pairs.get(key))
    if step.get("error"):
        change = "FAILED"
    return f"{change} ({why})" if why else change


def _inputs(pairs: Mapping[str, str]) -> str:
    return " ".join(f"{key}={value}" for key, value in pairs.items()
                    if key not in _RESULT_KEYS and key not in _WHY_KEYS)


def _status_line(record: Mapping[str, Any]) -> str:
    parts = []
    wms = record.get("wms")
    if isinstance(wms, Mapping):
        if wms.get("ok"):
            parts.append(f"wms ready={wms.get('ready')} status={wms.get('status')}")
            if wms.get("factories"):   # wmsstatus.panda.share = auto
                parts[-1] += f" (this factory's share of {wms['factories']} factories)"
        else:
            parts.append(f"wms FAILED ({wms.get('error')})")
    batch = record.get("batch")
    if isinstance(batch, Mapping):
        if batch.get("ok"):
            parts.append(" ".join(f"{key}={batch.get(key)}" for key in ("pending", "held", "running", "exiting",
                                                                          "done_1h", "fault_1h")))
        else:
            parts.append(f"batch FAILED ({batch.get('error')})")
    return "  ".join(parts) or "no status"


def _limiter(trace: list[Mapping[str, Any]]) -> str | None:
    for step in reversed(trace):
        if step.get("out", 0) < step.get("in", 0):
            return str(step.get("rule"))
    return None


def _verdict(pilots: int) -> str:
    return f"submit {pilots}" if pilots > 0 else f"retire {-pilots}" if pilots < 0 else "nothing to do"


def _table(trace: list[Mapping[str, Any]]) -> str:
    from tabulate import tabulate

    rows = []
    for step in trace:
        _, pairs = parse_message(str(step.get("msg") or ""))
        rows.append([step.get("rule"), step.get("in"), step.get("out"), _effect(step, pairs), _inputs(pairs)])
    return tabulate(rows, headers=["rule", "in", "out", "effect (why)", "inputs"], tablefmt="simple",
                    disable_numparse=True, colalign=("left", "right", "right", "left", "left"))


def _type_counts(record: Mapping[str, Any], rt: str) -> str:
    """``wms ready=.. batch pending=.. running=..`` of one resource type, as its chain saw them."""
    parts = []
    wms = (record.get("wms") or {}).get("types") or {}
    if rt in wms:
        parts.append(f"ready={wms[rt].get('ready')}")
    batch = (record.get("batch") or {}).get("types") or {}
    if rt in batch:
        parts.append(" ".join(f"{key}={batch[rt].get(key)}" for key in ("pending", "held", "running")))
    return " ".join(parts)


def _untyped_line(record: Mapping[str, Any]) -> str:
    """Pilots without a resource type (counted in every type's view), when there are some."""
    from apfctl.resourcetypes.newpilots import untyped

    batch = record.get("batch")
    if not isinstance(batch, Mapping) or not batch.get("ok"):
        return ""
    loose = untyped(batch)
    return f"\n  untyped pilots: {' '.join(f'{k}={v}' for k, v in loose.items())}" if any(loose.values()) else ""


def render_queue(record: Mapping[str, Any]) -> str:
    """One queue's header lines and its chain table (one per resource type on a unified queue)."""
    head = f"{record.get('queue')}  cycle {record.get('cycle')}\n  status: {_status_line(record)}"
    decision = record.get("decision")
    if not isinstance(decision, Mapping):
        return f"{head}\n  not decided (no decision section)"
    trace = list(decision.get("trace") or [])
    types = decision.get("types")
    if isinstance(types, Mapping) and types:
        blocks = [f"{head}\n  decision: {_decided(record, decision, trace)} in all" + _untyped_line(record)]
        for rt, typed in types.items():
            steps = [step for step in trace if step.get("type") == rt]
            limiter = _limiter(steps)
            memory = f", {typed.get('memory')} MB" if typed.get("memory") else ""
            seen = _type_counts(record, rt)
            blocks.append(f"  {rt} ({typed.get('cores')} cores{memory}): {_verdict(typed.get('pilots', 0))}"
                          + (f" (limited by {limiter})" if limiter else "") + (f"; {seen}" if seen else "")
                          + f"\n\n{_table(steps)}")
        return "\n\n".join(blocks)
    limiter = _limiter(trace)
    summary = f"  decision: {_decided(record, decision, trace)}" + (f" (limited by {limiter})" if limiter else "")
    return f"{head}\n{summary}\n\n{_table(trace)}"


def _decided(record: Mapping[str, Any], decision: Mapping[str, Any], trace: list[Any]) -> str:
    """The decision in words; a 0 that comes from unknown status or a failed chain says so (not "nothing to do")."""
    pilots = decision.get("pilots", 0)
    if pilots == 0:
        blocked = status_failure(record)
        if blocked is not None:
            return f"no pilots: status unknown ({blocked})"
        if any(isinstance(step, Mapping) and step.get("error") for step in trace):
            return "no pilots: the chain failed"
    return _verdict(pilots)


def render_explain(records: Iterable[Mapping[str, Any]]) -> str:
    """Every record's decision, one block per queue, in input order."""
    blocks = [render_queue(record) for record in records]
    return "\n\n".join(blocks) if blocks else "no records"
