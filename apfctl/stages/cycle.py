"""A whole factory cycle in one process: status, decide and submit for a set of queues.

The queues are locked first (a queue another apfctl is cycling is skipped and said so),
then one status query per endpoint serves them all, then each is decided and submitted.
Every record is stored in the ledger and handed to the monitor plugins.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field

from apfctl.config.generic import FACTORY_KEYS
from apfctl.config.loader import Loaded
from apfctl.errors import LedgerError
from apfctl.ledger import Ledger
from apfctl.locking import queue_lock
from apfctl.record import Record
from apfctl.stages.decide import Decider
from apfctl.stages.publish import publish
from apfctl.stages.status import collect
from apfctl.stages.submit import Submitter
from apfctl.workers import WorkerLedger

log = logging.getLogger("apfctl.cycle")


@dataclass
class CycleResult:
    records: list[Record] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)   # queues locked by another process
    ledger_error: str | None = None                    # the records could not be stored


class _History:
    """A cycle's records in the ledger, stored once decided and updated as they are submitted.

    The first ledger error is logged once and kept in the result (the run exits 1); the
    cycle carries on, since what was submitted is still printed.
    """

    def __init__(self, ledger: Ledger | None, result: CycleResult) -> None:
        self.ledger = ledger
        self.result = result
        self.ids: list[int] = []

    def add(self, records: list[Record]) -> None:
        self._guard(lambda ledger: self.ids.extend(ledger.store(records)))

    def update(self, indexes: Iterable[int], records: list[Record]) -> None:
        self._guard(lambda ledger: ledger.update([self.ids[i] for i in indexes], records))

    def _guard(self, write: Callable[[Ledger], object]) -> None:
        if self.ledger is None or self.result.ledger_error is not None:
            return
        try:
            write(self.ledger)
        except LedgerError as exc:
            log.error("%s; this cycle's records were not stored", exc)
            self.result.ledger_error = str(exc)


def run_cycle(loaded: Loaded, queue_names: list[str], dry_run: bool = False, cycle: str | None = None) -> CycleResult:
    result = CycleResult()
    state_dir = loaded.context.state_dir
    with ExitStack() as stack:
        mine = []
        for name in queue_names:
            if dry_run or stack.enter_context(queue_lock(state_dir, name)):   # a dry run changes nothing
                mine.append(name)
            else:
                log.warning("queue %s: another apfctl is cycling it; skipped", name)
                result.skipped.append(name)
        if not mine:
            return result
        ledger = None if dry_run else stack.enter_context(Ledger.for_factory(loaded))
        records = collect(loaded, mine, cycle, ledger, refresh_tokens=not dry_run)
        decider = Decider(loaded)
        for record in records:
            decider.decide(record)
        result.records = records
        stored = _History(ledger, result)
        stored.add(records)   # decided, before any submission: a killed cycle leaves these
        submitter = Submitter(loaded, ledger, dry_run=dry_run)
        for index, record in enumerate(records):
            submitter.submit(record, locked=True)
            if record["decision"]["pilots"]:
                stored.update([index], [record])   # what was submitted is in history at once
        stored.update(range(len(records)), records)
        if ledger is not None and result.ledger_error is None:
            try:
                retention = loaded.factory.typed("ledger.retention", FACTORY_KEYS["ledger.retention"])
                ledger.prune(retention)
                WorkerLedger(ledger).prune(time.time() - retention * 86400)
            except LedgerError as exc:
                log.error("%s; old records were not pruned", exc)
                result.ledger_error = str(exc)
    if not dry_run:
        publish(loaded, records)
    return result
