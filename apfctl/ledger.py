"""The ledger: every cycle's records in SQLite (WAL), what was seen, decided and submitted.

The batch system stays the authority on pilot counts; the ledger is for the monitor's last
message, replay, history and idempotency (a queue and cycle id are claimed before any
submission, so a repeated submit of the same record finds the claim and does nothing).
A corrupt or locked database is reported as such and never recreated: no data is lost.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from apfctl.errors import LedgerError
from apfctl.record import dumps

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    cycle TEXT NOT NULL,
    stage TEXT NOT NULL,
    time REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_queue_time ON records (queue, time);
CREATE INDEX IF NOT EXISTS records_time ON records (time);
CREATE TABLE IF NOT EXISTS submissions (
    queue TEXT NOT NULL,
    cycle TEXT NOT NULL,
    state TEXT NOT NULL,
    ids TEXT NOT NULL DEFAULT '[]',
    time REAL NOT NULL,
    PRIMARY KEY (queue, cycle)
);
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,
    kind TEXT NOT NULL,
    queue TEXT,
    detail TEXT NOT NULL
);
"""


def _stage(record: Mapping[str, Any]) -> str:
    for stage in ("submission", "decision", "batch", "wms"):
        if stage in record:
            return "status" if stage in ("batch", "wms") else stage
    return "none"


def _epoch(when: _dt.datetime | float | None) -> float | None:
    if when is None or isinstance(when, (int, float)):
        return when
    return when.timestamp()


class Ledger:
    """One factory's ledger database under the state folder."""

    FILENAME = "ledger.sqlite"

    def __init__(self, state_dir: Path, *, create: bool = True, timeout: float = 10.0) -> None:
        self.path = Path(state_dir) / self.FILENAME
        self.empty = not self.path.exists()
        self._identity: tuple[int, int] | None = None
        if self.empty and not create:
            self._db: sqlite3.Connection | None = None
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.empty:
                self._create()
            self._check_header()
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            info = os.stat(self.path)
            self._identity = (info.st_dev, info.st_ino)
        except (sqlite3.Error, OSError) as exc:
            raise LedgerError(self._explain(exc)) from None

    def _create(self) -> None:
        """A new ledger, made whole under a temporary name and linked into place.

        So a ledger file is never seen empty or half made: a 0-byte ``ledger.sqlite`` is
        then always damage (truncation), refused by :meth:`_check_header`, never taken for
        a new ledger. Two processes creating it at once: the second link fails, and both use
        the first one's file.
        """
        temporary = self.path.with_name(f".{self.FILENAME}.{os.getpid()}.new")
        try:
            with contextlib.closing(sqlite3.connect(temporary, isolation_level=None)) as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(SCHEMA)
            with contextlib.suppress(FileExistsError):
                os.link(temporary, self.path)
        finally:
            for leftover in (temporary, temporary.with_name(temporary.name + "-wal"),
                             temporary.with_name(temporary.name + "-shm")):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()

    def _check_header(self) -> None:
        """Refuse a file that is not SQLite before sqlite3 touches it (sqlite3 would take an
        empty file for a new database and lose nothing only because there was nothing left)."""
        size = self.path.stat().st_size
        if size == 0:
            raise sqlite3.DatabaseError("file is empty (0 bytes): it was truncated, so its history is lost")
        with self.path.open("rb") as stream:
            if stream.read(16) != b"SQLite format 3\x00":
                raise sqlite3.DatabaseError("file is not a database")

    def _check_file(self) -> None:
        """LedgerError if the file opened is no longer the file at the ledger's path.

        SQLite keeps writing to an open file that was deleted or renamed away: without this,
        a state folder removed mid-cycle takes the cycle's records with it, unsaid.
        """
        if self._identity is None:
            return
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            raise LedgerError(f"ledger {self.path} was deleted while apfctl had it open (was the state "
                              "folder removed?); nothing more is written to it") from None
        except OSError as exc:
            raise LedgerError(self._explain(exc)) from None
        if (info.st_dev, info.st_ino) != self._identity:
            raise LedgerError(f"ledger {self.path} was replaced by another file while apfctl had it open; "
                              "nothing more is written to either")

    @classmethod
    def for_factory(cls, loaded: Any, *, create: bool = True) -> Ledger:
        """The ledger of a loaded configuration, with its configured lock timeout."""
        timeout = loaded.factory.getfloat("ledger.timeout", 10.0)
        return cls(loaded.context.state_dir, create=create, timeout=10.0 if timeout is None else timeout)

    def _explain(self, exc: Exception) -> str:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return f"ledger {self.path} is locked by another process ({text}); try again"
        if "disk is full" in text or getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
            return f"ledger {self.path}: no space left on its file system ({text}); free some and run again"
        if "not a database" in text or "malformed" in text or "corrupt" in text or "is empty" in text:
            return (f"ledger {self.path} is corrupt ({text}); it was left untouched: move it aside to start "
                    "a new one, or repair it with sqlite3 '.recover'")
        return f"ledger {self.path}: {text}"

    def _run(self, sql: str, params: Iterable[Any] = (), *, write: bool = False) -> sqlite3.Cursor:
        if self._db is None:
            raise LedgerError(f"ledger {self.path} does not exist yet")
        if write:
            self._check_file()
        try:
            return self._db.execute(sql, tuple(params))
        except sqlite3.Error as exc:
            raise LedgerError(self._explain(exc)) from None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- records ---------------------------------------------------------------------
    def store(self, records: Iterable[Mapping[str, Any]]) -> list[int]:
        """Store records in one transaction; their row ids, for :meth:`update`."""
        now = time.time()
        rows = [(r["queue"], r["cycle"], _stage(r), now, self._body(r)) for r in records]
        if not rows:
            return []
        with self._transaction() as db:
            insert = "INSERT INTO records (queue, cycle, stage, time, body) VALUES (?, ?, ?, ?, ?)"
            return [db.execute(insert, row).lastrowid for row in rows]

    def update(self, ids: Iterable[int], records: Iterable[Mapping[str, Any]]) -> None:
        """Replace stored records (by row id) with their later stage, in one transaction.

        A cycle stores each record once decided, before anything is submitted, and updates
        it as it goes: a cycle killed half way leaves its records in history as far as they got.
        """
        rows = [(_stage(r), self._body(r), row_id) for row_id, r in zip(ids, records, strict=True)]
        if not rows:
            return
        with self._transaction() as db:
            db.executemany("UPDATE records SET stage = ?, body = ? WHERE id = ?", rows)

    def _body(self, record: Mapping[str, Any]) -> str:
        try:
            return dumps(record)
        except (TypeError, ValueError) as exc:   # orjson: an integer past 64 bits, a value of no JSON type
            raise LedgerError(f"a record of queue {record.get('queue')!r} cannot be stored in ledger "
                              f"{self.path}: {exc}") from None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self._db is None:
            raise LedgerError(f"ledger {self.path} does not exist yet")
        self._check_file()
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
        except sqlite3.Error as exc:
            raise LedgerError(self._explain(exc)) from None

    def records(self, queue: str | Iterable[str] | None = None, since: _dt.datetime | float | None = None,
                until: _dt.datetime | float | None = None) -> Iterator[dict[str, Any]]:
        """Stored records, oldest first, filtered by queue name(s) and time."""
        if self._db is None:
            return
        where, params = [], []
        if isinstance(queue, str):
            where.append("queue = ?")
            params.append(queue)
        elif queue is not None:
            names = list(queue)
            where.append(f"queue IN ({','.join('?' * len(names))})")
            params.extend(names)
        if since is not None:
            where.append("time >= ?")
            params.append(_epoch(since))
        if until is not None:
            where.append("time <= ?")
            params.append(_epoch(until))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        for (body,) in self._run(f"SELECT body FROM records {clause} ORDER BY time, id", params):
            yield orjson.loads(body)

    def latest(self) -> dict[str, dict[str, Any]]:
        """The most recent record of every queue."""
        if self._db is None:
            return {}
        rows = self._run("SELECT r.body FROM records r JOIN (SELECT queue, MAX(id) AS id FROM records "
                         "GROUP BY queue) last ON r.id = last.id")
        result = {}
        for (body,) in rows:
            record = orjson.loads(body)
            result[record["queue"]] = record
        return result

    def prune(self, keep_days: float) -> int:
        """Drop records older than ``keep_days``; returns how many went."""
        cutoff = time.time() - keep_days * 86400
        deleted = self._run("DELETE FROM records WHERE time < ?", (cutoff,), write=True).rowcount
        self._run("DELETE FROM submissions WHERE time < ?", (cutoff,))
        self._run("DELETE FROM actions WHERE time < ?", (cutoff,))
        return deleted

    # -- idempotent submission ---------------------------------------------------------
    def claim_submission(self, queue: str, cycle: str) -> dict[str, Any] | None:
        """Claim (queue, cycle) for submission; the earlier claim if there is one."""
        inserted = self._run("INSERT OR IGNORE INTO submissions (queue, cycle, state, time) "
                             "VALUES (?, ?, 'submitting', ?)", (queue, cycle, time.time()), write=True).rowcount
        if inserted:
            return None
        state, ids = self._run("SELECT state, ids FROM submissions WHERE queue = ? AND cycle = ?",
                               (queue, cycle)).fetchone()
        return {"state": state, "ids": orjson.loads(ids)}

    def finish_submission(self, queue: str, cycle: str, ids: list[str], state: str = "submitted") -> None:
        self._run("UPDATE submissions SET state = ?, ids = ?, time = ? WHERE queue = ? AND cycle = ?",
                  (state, dumps(ids), time.time(), queue, cycle), write=True)

    def unfinished(self, queue: str) -> list[str]:
        """Cycles of the queue still claimed "submitting": with the queue's lock held, each was
        left so by a process that died between its claim and its answer."""
        return [cycle for (cycle,) in self._run("SELECT cycle FROM submissions WHERE queue = ? AND "
                                                "state = 'submitting' ORDER BY time", (queue,))]

    def release(self, queue: str, cycle: str) -> None:
        """Forget an unfinished claim whose pilots the batch system does not have."""
        self._run("DELETE FROM submissions WHERE queue = ? AND cycle = ? AND state = 'submitting'",
                  (queue, cycle), write=True)

    def submitted_totals(self) -> dict[str, int]:
        """Pilots submitted per queue over the retention period (MaxToSubmit, MinToSubmit)."""
        totals: dict[str, int] = {}
        if self._db is None:
            return totals
        for queue, ids in self._run("SELECT queue, ids FROM submissions WHERE state = 'submitted'"):
            totals[queue] = totals.get(queue, 0) + len(orjson.loads(ids))
        return totals

    # -- actions (clean-up, renewals) -----------------------------------------------------
    def log_action(self, kind: str, queue: str | None, detail: Mapping[str, Any]) -> None:
        self._run("INSERT INTO actions (time, kind, queue, detail) VALUES (?, ?, ?, ?)",
                  (time.time(), kind, queue, dumps(detail)), write=True)

    def actions(self, kind: str | None = None, since: _dt.datetime | float | None = None) -> list[dict[str, Any]]:
        if self._db is None:
            return []
        where, params = [], []
        if kind:
            where.append("kind = ?")
            params.append(kind)
        if since is not None:
            where.append("time >= ?")
            params.append(_epoch(since))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._run(f"SELECT time, kind, queue, detail FROM actions {clause} ORDER BY id", params)
        return [{"time": t, "kind": k, "queue": q, "detail": orjson.loads(d)} for t, k, q, d in rows]

    # -- tables of other modules (apfctl.workers) ----------------------------------------------
    def extend(self, schema: str) -> None:
        """Create another module's tables (``CREATE ... IF NOT EXISTS``) in this database."""
        if self._db is None:
            raise LedgerError(f"ledger {self.path} does not exist yet")
        try:
            self._db.executescript(schema)
        except sqlite3.Error as exc:
            raise LedgerError(self._explain(exc)) from None

    def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        return self._run(sql, params)

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        if self._db is None:
            raise LedgerError(f"ledger {self.path} does not exist yet")
        try:
            self._db.executemany(sql, [tuple(row) for row in rows])
        except sqlite3.Error as exc:
            raise LedgerError(self._explain(exc)) from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction, taken at once (``BEGIN IMMEDIATE``): atomic across processes."""
        if self._db is None:
            raise LedgerError(f"ledger {self.path} does not exist yet")
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise LedgerError(self._explain(exc)) from None
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise LedgerError(self._explain(exc)) from None
