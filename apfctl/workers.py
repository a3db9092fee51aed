"""Worker ids: every pilot is a PanDA "worker" with an integer id unique in its factory.

PanDA's Harvester API keys a worker by (harvester id, worker id); Pilot 3 reads both from
``HARVESTER_ID`` and ``HARVESTER_WORKER_ID`` and sends them with each job request, so PanDA
links the jobs to the worker. apfctl's harvester id is the factory's instance id (``[Factory]
harvesterID``, else ``factoryId``). Worker ids come from a counter in the ledger: a
submission of n pilots takes a block of n consecutive ids before it runs, and its pilots
get ``first``, ``first + 1``, ... in batch order (Slurm array task, HTCondor ProcId, the
Local pilot's sequence). After it, each pilot's batch id is stored beside its worker id.

The ``workers`` table also keeps what the PanDA reporting plugin last sent for each worker,
so that only state changes go out.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from apfctl.config.model import FactoryConfig
from apfctl.interfaces import PilotRequest
from apfctl.ledger import Ledger

ID_VARIABLE = "HARVESTER_ID"
WORKER_VARIABLE = "HARVESTER_WORKER_ID"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
MAX_INSTANCE = 50     # PanDA's harvester_ID column

SCHEMA = """
CREATE TABLE IF NOT EXISTS worker_counter (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    next INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS workers (
    worker_id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    cycle TEXT NOT NULL,
    resource_type TEXT,
    cores INTEGER,
    memory INTEGER,
    batch_id TEXT NOT NULL,
    submitted REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'submitted',
    started REAL,
    ended REAL,
    reported TEXT
);
CREATE INDEX IF NOT EXISTS workers_queue_batch ON workers (queue, batch_id);
CREATE INDEX IF NOT EXISTS workers_unreported ON workers (queue) WHERE reported IS NULL OR reported != status;
"""
FINAL = ("cancelled", "failed", "finished", "missed")   # PanDA keeps these for 3 h once set
_OPEN = f"status NOT IN ({','.join('?' * len(FINAL))})"


def instance_id(factory: FactoryConfig) -> str:
    """The factory's Harvester-style instance id: ``harvesterID``, else ``factoryId``.

    Made safe rather than refused (a factoryId that was fine for APF must not stop
    submission): characters other than letters, digits and ``._-`` become ``_``, and it is
    cut to PanDA's 50 characters. ``apfctl config check`` warns about such an id.
    """
    value = factory.getstr("harvesterID") or factory.factory_id
    return _UNSAFE.sub("_", value)[:MAX_INSTANCE] or "apfctl"


def instance_id_problem(factory: FactoryConfig) -> str | None:
    """Why the configured id is not used as it is (for ``config check``), or None."""
    key = "harvesterID" if factory.getstr("harvesterID") else "factoryId"
    value = factory.getstr(key) or factory.factory_id
    if _UNSAFE.search(value) or len(value) > MAX_INSTANCE:
        return f"[Factory] {key} = {value!r} is reported to PanDA as {instance_id(factory)!r}"
    return None


@dataclass(frozen=True)
class WorkerBlock:
    """The worker ids of one submission: ``first`` to ``first + count - 1``, of ``harvester``."""

    harvester: str
    first: int
    count: int

    def ids(self) -> range:
        return range(self.first, self.first + self.count)

    def environment(self, index: int) -> dict[str, str]:
        """The variables of the ``index``-th pilot (0-based) of the submission."""
        if not 0 <= index < self.count:
            raise IndexError(f"pilot {index} is outside this block of {self.count} worker ids")
        return {ID_VARIABLE: self.harvester, WORKER_VARIABLE: str(self.first + index)}


class WorkerLedger:
    """The ``workers`` table of a factory's ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        ledger.extend(SCHEMA)

    def peek(self) -> int:
        """The next free worker id (nothing reserved: for a dry run's description)."""
        row = self.ledger.execute("SELECT next FROM worker_counter WHERE id = 0").fetchone()
        return int(row[0]) if row else 1

    def allocate(self, harvester: str, count: int) -> WorkerBlock:
        """Reserve ``count`` consecutive ids (atomic across processes sharing the ledger)."""
        with self.ledger.transaction():
            self.ledger.execute("INSERT OR IGNORE INTO worker_counter (id, next) VALUES (0, 1)")
            first = int(self.ledger.execute("SELECT next FROM worker_counter WHERE id = 0").fetchone()[0])
            self.ledger.execute("UPDATE worker_counter SET next = ? WHERE id = 0", (first + count,))
        return WorkerBlock(harvester, first, count)

    def record(self, queue: str, cycle: str, pilot: PilotRequest | None, workers: Mapping[str, int]) -> None:
        """Store the pilots of one submission (batch id -> worker id), with their type and size."""
        now = time.time()
        rt, cores, memory = (pilot.resource_type, pilot.cores, pilot.memory) if pilot else (None, None, None)
        rows = [(worker, queue, cycle, rt, cores, memory, batch_id, now) for batch_id, worker in workers.items()]
        with self.ledger.transaction():
            self.ledger.executemany("INSERT OR REPLACE INTO workers (worker_id, queue, cycle, resource_type, cores, "
                                    "memory, batch_id, submitted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def update(self, queue: str, states: Mapping[str, tuple[str, float | None, float | None]]) -> None:
        """New states of a queue's pilots: batch id -> (status, start, end). Final states stay final."""
        with self.ledger.transaction():
            self.ledger.executemany(
                "UPDATE workers SET status = ?, started = COALESCE(?, started), ended = COALESCE(?, ended) "
                f"WHERE queue = ? AND batch_id = ? AND {_OPEN}",
                [(status, start, end, queue, batch_id, *FINAL)
                 for batch_id, (status, start, end) in states.items()])

    def open_batch_ids(self, queue: str) -> tuple[list[str], float]:
        """Batch ids of the queue's workers not in a final state, and the oldest one's submit time."""
        rows = self.ledger.execute(f"SELECT batch_id, submitted FROM workers WHERE queue = ? AND {_OPEN} "
                                   "ORDER BY worker_id", (queue, *FINAL)).fetchall()
        return [batch_id for batch_id, _ in rows], min((submitted for _, submitted in rows), default=time.time())

    def unreported(self, queues: Iterable[str]) -> list[dict[str, Any]]:
        """Workers of these queues whose status was not reported yet, oldest first."""
        names = list(queues)
        if not names:
            return []
        rows = self.ledger.execute(
            "SELECT worker_id, queue, cycle, resource_type, cores, memory, batch_id, submitted, status, started, ended "
            "FROM workers "
            f"WHERE queue IN ({','.join('?' * len(names))}) AND (reported IS NULL OR reported != status) "
            "ORDER BY worker_id", names)
        keys = ("worker_id", "queue", "cycle", "resource_type", "cores", "memory", "batch_id", "submitted", "status",
                "started", "ended")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def mark_reported(self, reported: Mapping[int, str]) -> None:
        """Worker id -> the status now handed to the reporting outbox."""
        with self.ledger.transaction():
            self.ledger.executemany("UPDATE workers SET reported = ? WHERE worker_id = ?",
                                    [(status, worker) for worker, status in reported.items()])

    def counts(self, queue: str) -> dict[str, dict[str, int]]:
        """Open workers of a queue per resource type and status (``Undefined``: no type)."""
        rows = self.ledger.execute(
            f"SELECT COALESCE(resource_type, 'Undefined'), status, COUNT(*) FROM workers WHERE queue = ? AND {_OPEN} "
            "GROUP BY 1, 2", (queue, *FINAL))
        result: dict[str, dict[str, int]] = {}
        for rt, status, n in rows:
            result.setdefault(rt, {})[status] = int(n)
        return result

    def prune(self, before: float) -> int:
        """Drop workers that ended (or were submitted) before ``before``, once reported."""
        return self.ledger.execute("DELETE FROM workers WHERE COALESCE(ended, submitted) < ? AND reported = status "
                                   f"AND NOT {_OPEN}", (before, *FINAL)).rowcount
