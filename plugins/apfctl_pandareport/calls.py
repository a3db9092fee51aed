"""The Harvester API calls after a cycle, built from the ledger's workers (no I/O here).

Facts from PanDAWMS/panda-server ``pandaserver/api/v1/harvester_api.py`` and its tests: every
call is ``POST /api/v1/harvester/<name>`` with a JSON body (``Content-Type:
application/json``) and answers ``{"success", "message", "data"}``.

* ``heartbeat``: ``{"harvester_id", "data": {...instance metadata}}``;
* ``update_workers``: ``{"harvester_id", "workers": [WorkerSpec fields]}``, data ``[True, ...]``;
  times as ``"datetime/%Y-%m-%d %H:%M:%S.%f"`` (UTC), which the server's WorkerSpec turns
  into datetimes; a worker in a final state stays final for 3 hours on the server;
* ``report_worker_statistics``: ``{"harvester_id", "panda_queue", "statistics"}`` where
  ``statistics`` is a JSON *string* ``{jobType: {resourceType: {status: n}}}``; it replaces
  the instance's rows for that queue, and a ``resourceType`` of ``Undefined`` is skipped.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from apfctl import __version__
from apfctl.outbox import Call

API = "/api/v1/harvester"
UPDATE_WORKERS = f"{API}/update_workers"
REPORT_STATISTICS = f"{API}/report_worker_statistics"
HEARTBEAT = f"{API}/heartbeat"
UNTYPED = "ANY"        # PanDA's catch-all resource type (WorkerSpec.RT_catchall); "Undefined" is dropped


def panda_time(epoch: float | None) -> str | None:
    """A time as PanDA's WorkerSpec reads it from JSON (``datetime/`` and UTC)."""
    if epoch is None:
        return None
    when = _dt.datetime.fromtimestamp(epoch, _dt.UTC).replace(tzinfo=None)
    return f"datetime/{when:%Y-%m-%d %H:%M:%S.%f}"


def worker_spec(row: Mapping[str, Any], site: str, job_type: str, host: str) -> dict[str, Any]:
    """One worker in update_workers' fields (panda-server WorkerSpec names)."""
    return {
        "workerID": int(row["worker_id"]), "batchID": str(row["batch_id"]), "queueName": site,
        "computingSite": site, "status": row["status"], "resourceType": row["resource_type"] or UNTYPED,
        "jobType": job_type, "nCore": row.get("cores"), "minRamCount": row.get("memory"),
        "submitTime": panda_time(row["submitted"]), "startTime": panda_time(row["started"]),
        "endTime": panda_time(row["ended"]), "computingElement": row["queue"], "submissionHost": host,
        "harvesterHost": host, "nJobs": 1, "syncLevel": 0,
    }


def heartbeat(harvester: str) -> Call:
    data = {"sw_version": f"apfctl-{__version__}"}
    return Call("POST", HEARTBEAT, json={"harvester_id": harvester, "data": data}, key="heartbeat")


def update_workers(harvester: str, workers: Sequence[dict[str, Any]], batch_size: int) -> list[Call]:
    """The workers in batches of ``batch_size``, in worker id order."""
    return [Call("POST", UPDATE_WORKERS, json={"harvester_id": harvester, "workers": list(workers[i:i + batch_size])})
            for i in range(0, len(workers), batch_size)]


def statistics(harvester: str, site: str, job_type: str, counts: Mapping[str, Mapping[str, int]],
               types: Iterable[str]) -> Call:
    """One queue's open workers per resource type and status; every served type present (zeros too)."""
    table: dict[str, dict[str, int]] = {rt: {"submitted": 0, "running": 0} for rt in types}
    for rt, by_status in counts.items():
        name = UNTYPED if rt == "Undefined" else rt
        row = table.setdefault(name, {"submitted": 0, "running": 0})
        for status, n in by_status.items():
            row[status] = row.get(status, 0) + int(n)
    body = {"harvester_id": harvester, "panda_queue": site,
            "statistics": json.dumps({job_type: table}, sort_keys=True, separators=(",", ":"))}
    return Call("POST", REPORT_STATISTICS, json=body, key=f"statistics:{site}")


def merge(older: Iterable[Call], newer: Iterable[Call]) -> list[Call]:
    """Queued calls then this cycle's; a keyed call (heartbeat, a queue's statistics) only once,
    at its newest place with its newest body: the newest statistics replace the old ones anyway."""
    calls = [*older, *newer]
    last = {call.key: index for index, call in enumerate(calls) if call.key is not None}
    kept = []
    for index, call in enumerate(calls):
        if call.key is None or last[call.key] == index:
            kept.append(call)
    return kept
