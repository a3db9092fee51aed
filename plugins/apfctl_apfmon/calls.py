"""The HTTP calls apfmon expects after a cycle, built from records (no I/O here).

Formats are APF's (docs/monitoring.md):

* ``PUT /factories/<factoryId>`` JSON ``{"version", "email", "url"}``
* ``PUT /labels`` JSON ``[{"name", "factory", "wmsqueue", "batchqueue", "resource", "localqueue"}]``
* ``PUT /jobs`` JSON ``[{"cid", "label", "factory"}]`` for the pilots submitted
* ``POST /labels/<factoryId>:<label>`` form ``status=<msg>`` when the message is not empty

APF registered a label only the first time its process saw it, and apfmon's server mails
its managers on every label PUT and resets the factory's start time on every factory PUT.
apfctl runs one process per cycle, so what was registered is kept in the ledger
(:mod:`apfctl_apfmon.registry`): the factory and each label are sent when new or changed.
"""

from __future__ import annotations

import hashlib
import json
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


def digest(body: Any) -> str:
    """A short fingerprint of a JSON body: equal bodies, equal digests."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def build(records: Sequence[Mapping[str, Any]], factory_id: str, factory_info: Mapping[str, str],
          batch_size: int, registered: Mapping[str, str] | None = None) -> list[Call]:
    """The calls for one cycle's records, in the order apfmon needs them (labels before jobs).

    ``registered`` maps ``factory`` and ``label:<name>`` to the digest of what apfmon was
    last sent; what is unchanged is not sent again. None: send everything.
    """
    registered = registered if registered is not None else {}
    records = [record for record in records if not is_dry_run(record)]
    calls = []
    info = dict(factory_info)
    if registered.get("factory") != digest(info):
        calls.append(Call("PUT", f"/factories/{quote(factory_id, safe='')}", json=info, key="factory",
                          registers={"factory": digest(info)}))
    labels = []
    for record in records:
        wms = record.get("wms")
        wmsqueue = wms.get("queue") if isinstance(wms, Mapping) else None
        label = {"name": record["queue"], "factory": factory_id, "wmsqueue": wmsqueue or "",
                 "batchqueue": "", "resource": "", "localqueue": ""}
        if registered.get(f"label:{record['queue']}") != digest(label):
            labels.append(label)
    for chunk in _chunks(labels, batch_size):
        calls.append(Call("PUT", "/labels", json=list(chunk),
                          key="labels:" + ",".join(sorted(label["name"] for label in chunk)),
                          registers={f"label:{label['name']}": digest(label) for label in chunk}))
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
