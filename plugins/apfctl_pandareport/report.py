"""What one cycle reports: the ledger's workers brought up to date, as Harvester API calls.

For the queues of the cycle's records: the open workers' states are read from their backend
(:mod:`apfctl_pandareport.states`) into the ledger, then every worker whose status was not
reported yet goes into ``update_workers``; each PanDA queue's open workers per resource type
go into one ``report_worker_statistics``. That call replaces what PanDA holds for this
instance and queue, so it counts every apfctl queue of the factory that feeds the same PanDA
queue (``wmsqueue``) and names this monitor section, not only those of this cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from apfctl.config.model import QueueConfig
from apfctl.interfaces import FactoryContext
from apfctl.ledger import Ledger
from apfctl.outbox import Call
from apfctl.workers import WorkerLedger, instance_id
from apfctl_pandareport import calls as api
from apfctl_pandareport.states import reader_for

log = logging.getLogger("apfctl.pandareport")


def served_types(queue: QueueConfig) -> tuple[str, ...]:
    many = queue.getlist("resourcetypes")
    one = queue.getstr("resourcetype")
    return tuple(many) if many else ((one,) if one else ())


class Report:
    def __init__(self, factory: FactoryContext, section: str, job_type: str, host: str) -> None:
        self.factory = factory
        self.section = section
        self.job_type = job_type
        self.host = host
        self.harvester = instance_id(factory.config)
        self.ledger = Ledger(factory.state_dir, create=False)
        self.workers = WorkerLedger(self.ledger) if not self.ledger.empty else None
        self.cache: dict[Any, Any] = {}    # readers' batch-system answers, shared by the queues of a publish

    def _queue(self, name: str) -> QueueConfig | None:
        return self.factory.queues.get(name)

    def _refresh(self, queue: QueueConfig) -> None:
        assert self.workers is not None
        reader = reader_for(queue)
        if reader is None:
            return
        open_ids, since = self.workers.open_batch_ids(queue.name)
        if not open_ids:
            return
        try:
            states = reader(queue, self.factory, open_ids, since, self.cache)
        except Exception as exc:   # a state we cannot read stays as last seen
            log.warning("PanDA report %s: cannot read the pilot states of %s: %s", self.section, queue.name, exc)
            return
        self.workers.update(queue.name, states)

    def calls(self, records: Sequence[Mapping[str, Any]], batch_size: int) -> tuple[list[Call], dict[int, str]]:
        """(the calls of this cycle, worker id -> status they report)."""
        calls = [api.heartbeat(self.harvester)]
        if self.workers is None:
            return calls, {}
        queues = [q for q in (self._queue(str(r["queue"])) for r in records) if q is not None]
        for queue in queues:
            self._refresh(queue)
        rows = self.workers.unreported(q.name for q in queues)
        sites = {q.name: q.wmsqueue for q in queues}
        specs = [api.worker_spec(row, sites[row["queue"]], self.job_type, self.host) for row in rows]
        calls += api.update_workers(self.harvester, specs, batch_size)
        feeding: dict[str, list[QueueConfig]] = {}
        for queue in self.factory.queues.values():
            if queue.wmsqueue in sites.values() and self.section in queue.getlist("monitorsection"):
                feeding.setdefault(queue.wmsqueue, []).append(queue)
        for site in sorted(set(sites.values())):
            calls.append(self._statistics(site, feeding.get(site, [])))
        return calls, {int(row["worker_id"]): str(row["status"]) for row in rows}

    def _statistics(self, site: str, feeding: Sequence[QueueConfig]) -> Call:
        """One PanDA queue's open workers over every apfctl queue of this section that feeds it."""
        assert self.workers is not None
        counts: dict[str, dict[str, int]] = {}
        types: list[str] = []
        for queue in feeding:
            types += [rt for rt in served_types(queue) or (api.UNTYPED,) if rt not in types]
            for rt, by_status in self.workers.counts(queue.name).items():
                row = counts.setdefault(rt, {})
                for status, n in by_status.items():
                    row[status] = row.get(status, 0) + n
        return api.statistics(self.harvester, site, self.job_type, counts, types)

    def mark(self, reported: Mapping[int, str]) -> None:
        """The statuses now sent or in the outbox: not sent again unless they change."""
        if self.workers is not None and reported:
            self.workers.mark_reported(reported)
        self.ledger.close()
