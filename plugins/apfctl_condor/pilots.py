"""A queue's pilots on its schedd: find a cycle's pilots, submit a description, retire pilots.

One ``Schedd`` call per operation (and one history call for a cycle's pilots that already
left the queue); everything the bindings raise becomes a BackendError naming the schedd.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from apfctl.errors import BackendError
from apfctl.interfaces import SubmitResult
from apfctl.record import cycle_time
from apfctl_condor.pilotqueue import PilotQueue
from apfctl_condor.schedd import act_reason, call, history_stop
from apfctl_condor.settings import quote
from apfctl_condor.states import (
    CYCLE_ATTR,
    PENDING,
    REMOVE_REASON_PREFIX,
    BadAttribute,
    attribute,
    job_id,
    total_success,
)

log = logging.getLogger("apfctl.condor")


def id_order(text: str) -> tuple[int, int]:
    cluster, _, proc = text.partition(".")
    return (int(cluster), int(proc)) if cluster.isdigit() and proc.isdigit() else (0, 0)


def find_submitted(queue: PilotQueue, cycle: str) -> list[str]:
    """Ids of the queue's pilots stamped with ``cycle``, queued or (for a dated cycle) in the history."""
    constraint = f"{queue.mine()} && {CYCLE_ATTR} =?= {quote(cycle)}"
    schedd = queue.schedd()
    ads = list(call(queue.endpoint, "query", schedd.query, constraint=constraint, projection=["ClusterId", "ProcId"]))
    started = cycle_time(cycle)
    if started is not None:   # pilots of the cycle that already left the queue
        ads += call(queue.endpoint, "history", schedd.history, constraint=constraint,
                    projection=["ClusterId", "ProcId"], since=history_stop(started.timestamp()))
    return sorted({job_id(ad) for ad in ads}, key=id_order)


def description_file(queue: PilotQueue, cycle: str) -> Path:
    """Where the description of ``cycle`` is kept: the queue's log folder (APF's submit.jdl)."""
    log_dir, _ = queue.factory.queue_log_dir(queue.queue.name)
    return log_dir / f"submit-{re.sub(r'[^A-Za-z0-9_.-]', '_', cycle)}.sub"


def submit(queue: PilotQueue, text: str, n: int, cycle: str) -> SubmitResult:
    """Keep ``text`` in the log folder, then one ``Schedd.submit`` of ``n`` pilots; all or an error."""
    kept = description_file(queue, cycle)
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BackendError(f"queue {queue.queue.name}: cannot keep the submit description in {kept.parent}: "
                           f"{exc.strerror or exc}") from None
    import htcondor2

    try:
        description = htcondor2.Submit(text)
    except Exception as exc:
        raise BackendError(f"queue {queue.queue.name}: the submit description was refused: {exc}") from None
    result = call(queue.endpoint, "submit", queue.schedd().submit, description, count=n)
    cluster, first, made = result.cluster(), result.first_proc(), result.num_procs()
    ids = [f"{cluster}.{first + i}" for i in range(made)]
    if made != n:   # fewer pilots than decided is a failure to see, not a success
        raise BackendError(f"{queue.endpoint}: submit made {made} of {n} pilots "
                           f"({' '.join(ids) or 'none'}; description {kept})")
    return SubmitResult(ids=ids, description=text, description_file=str(kept))


def retire(queue: PilotQueue, n: int, dry_run: bool = False) -> SubmitResult:
    """Remove up to ``n`` pilots: idle first, then running ones unless peaceful; one act call."""
    wanted = "JobStatus =?= 1" if queue.peaceful() else "(JobStatus =?= 1 || JobStatus =?= 2)"
    schedd = queue.schedd()
    ads = call(queue.endpoint, "query", schedd.query, constraint=f"{queue.mine()} && {wanted}",
               projection=["ClusterId", "ProcId", "JobStatus", "QDate"])
    sign = -1 if queue.killorder() == "newest" else 1
    try:
        ads = sorted(ads, key=lambda ad: (attribute(ad, "JobStatus", "int") != PENDING,
                                          sign * (attribute(ad, "QDate", "number") or 0), id_order(job_id(ad))))
    except BadAttribute as exc:
        raise BackendError(f"{queue.endpoint}: {exc}") from None
    ids = [job_id(ad) for ad in ads[:max(0, n)]]
    reason = f"{REMOVE_REASON_PREFIX} retire: queue {queue.queue.name} scaled down by {n}"
    if dry_run or not ids:
        return SubmitResult(ids=ids, description=f"remove {' '.join(ids)}" if ids else None)
    import htcondor2

    answer = call(queue.endpoint, "remove", schedd.act, htcondor2.JobAction.Remove, ids, act_reason(reason))
    done = total_success(answer, len(ids))
    if done < len(ids):
        log.warning("queue %s: the schedd removed %d of %d pilots", queue.queue.name, done, len(ids))
    return SubmitResult(ids=ids[:done])
