"""The HTTP calls apfmon expects after a cycle, built from records (no I/O here).

Formats are APF's (reference: apf-inventory §4.1, peers §5):

* ``PUT /factories/<factoryId>`` JSON ``{"version", "email", "url"}``
* ``PUT /labels`` JSON ``[{"name", "factory", "wmsqueue", "batchqueue", "resource", "localqueue"}]``
* ``PUT /jobs`` JSON ``[{"cid", "label", "factory"}]`` for the pilots submitted
* ``POST /labels/<factoryId>:<label>`` form ``status=<msg>`` when the message is not empty

APF registered a label only the first time it saw it (after a ``GET /labels``); apfctl runs
one process per cycle, so it sends the labels of every cycle: ``PUT /labels`` is an update.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from apfctl.outbox import Call


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _message(record: Mapping[str, Any]) -> str:
    decision = record.get("decision")
    msg = decision.get("msg") if isinstance(decision, Mapping) else None
    if msg:
        return str(msg)
    errors = [f"{name}: {record[name].get('error')}" for name in ("wms", "batch")
              if isinstance(record.get(name), Mapping) and record[name].get("ok") is False]
    return "; ".join(errors)


def is_dry_run(record: Mapping[str, Any]) -> bool:
    submission = record.get("submission")
    return isinstance(submission, Mapping) and bool(submission.get("dry_run"))


def build(records: Sequence[Mapping[str, Any]], factory_id: str, factory_info: Mapping[str, str],
          batch_size: int) -> list[Call]:
    """The calls for one cycle's records, in the order apfmon needs them (labels before jobs)."""
    records = [record for record in records if not is_dry_run(record)]
    calls = [Call("PUT", f"/factories/{quote(factory_id, safe='')}", json=dict(factory_info), key="factory")]
    labels = []
    for record in records:
        wms = record.get("wms")
        wmsqueue = wms.get("queue") if isinstance(wms, Mapping) else None
        labels.append({"name": record["queue"], "factory": factory_id, "wmsqueue": wmsqueue or "",
                       "batchqueue": "", "resource": "", "localqueue": ""})
    for chunk in _chunks(labels, batch_size):
        calls.append(Call("PUT", "/labels", json=list(chunk),
                          key="labels:" + ",".join(sorted(label["name"] for label in chunk))))
    jobs = []
    for record in records:
        submission = record.get("submission")
        ids = submission.get("ids") if isinstance(submission, Mapping) else None
        for cid in ids or ():
            jobs.append({"cid": str(cid), "label": record["queue"], "factory": factory_id})
    calls.extend(Call("PUT", "/jobs", json=list(chunk)) for chunk in _chunks(jobs, batch_size))
    for record in records:
        msg = _message(record)
        if msg:
            label = quote(f"{factory_id}:{record['queue']}", safe=":")
            calls.append(Call("POST", f"/labels/{label}", form={"status": msg}, key=f"status:{record['queue']}"))
    return calls


def merge(older: Iterable[Call], newer: Iterable[Call]) -> list[Call]:
    """Queued calls then this cycle's, with each keyed call once: at its first place, newest body.

    Keeping the first place keeps the order apfmon needs (a label before its jobs); taking
    the newest body sends the current message rather than an old one.
    """
    merged: list[Call] = []
    where: dict[str, int] = {}
    for call in (*older, *newer):
        if call.key is None:
            merged.append(call)
        elif call.key in where:
            previous = merged[where[call.key]]
            call.queued = previous.queued
            merged[where[call.key]] = call
        else:
            where[call.key] = len(merged)
            merged.append(call)
    return merged
