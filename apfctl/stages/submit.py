"""The submit stage: the decided number of pilots, submitted or retired, exactly once.

For each record, under the queue's lock: the ledger's claim on (queue, cycle) and the
backend's own stamps (``find_submitted``) are checked first, so a repeated submit of the
same record, or a second apfctl on the same queue, submits nothing new.
"""

from __future__ import annotations

import logging
from typing import Any

from apfctl import plugins
from apfctl.config.loader import Loaded
from apfctl.errors import BackendError, LedgerError
from apfctl.interfaces import BatchSubmitPlugin
from apfctl.ledger import Ledger
from apfctl.locking import queue_lock
from apfctl.record import Record
from apfctl.stages.status import describe_error

log = logging.getLogger("apfctl.submit")


def _section(plugin: str | None, requested: int, dry_run: bool, **fields: Any) -> dict[str, Any]:
    section: dict[str, Any] = {"plugin": plugin, "requested": requested, "submitted": 0, "retired": 0,
                               "ids": [], "dry_run": dry_run, "error": None}
    section.update(fields)
    return section


class Submitter:
    """Submits records' decisions; one backend plugin instance per queue."""

    def __init__(self, loaded: Loaded, ledger: Ledger | None, dry_run: bool = False) -> None:
        self.loaded = loaded
        self.ledger = ledger
        self.dry_run = dry_run
        self._plugins: dict[str, BatchSubmitPlugin] = {}

    def plugin(self, queue_name: str) -> BatchSubmitPlugin:
        plugin = self._plugins.get(queue_name)
        if plugin is None:
            plugin = plugins.batchsubmit_for(self.loaded.queue(queue_name), self.loaded.context)
            self._plugins[queue_name] = plugin
        return plugin

    def submit(self, record: Record, *, locked: bool = False) -> Record:
        """Add ``submission`` to the record. ``locked``: the caller holds the queue's lock."""
        if locked or self.dry_run:   # a dry run changes nothing, so it needs no lock
            record["submission"] = self._submit_locked(record)
            return record
        with queue_lock(self.loaded.context.state_dir, record["queue"]) as acquired:
            if not acquired:
                log.warning("queue %s: another apfctl is working on it; skipped", record["queue"])
                record["submission"] = _section(None, record["decision"]["pilots"], self.dry_run,
                                                skipped="queue locked by another apfctl process")
            else:
                record["submission"] = self._submit_locked(record)
        return record

    def _submit_locked(self, record: Record) -> dict[str, Any]:
        """One record's submission; whatever goes wrong stays in this record's section."""
        n = record["decision"]["pilots"]
        try:
            plugin = self.plugin(record["queue"])
        except Exception as exc:  # a queue whose backend cannot be built fails alone
            log.debug("submit plugin for %s failed to start", record["queue"], exc_info=True)
            return _section(None, n, self.dry_run, error=describe_error(exc))
        if n == 0:
            return _section(plugin.name, 0, self.dry_run)
        if self.dry_run:
            return self._dry_run(plugin, n, record["cycle"])
        try:
            return self._once(plugin, n, record["cycle"])
        except LedgerError as exc:
            return _section(plugin.name, n, False, error=str(exc))

    def _once(self, plugin: BatchSubmitPlugin, n: int, cycle: str) -> dict[str, Any]:
        """Submit (n > 0) or retire (n < 0) exactly once per queue and cycle.

        The ledger's claim on (queue, cycle) comes first; for a submission the backend's own
        stamps are asked too, so that a lost ledger does not mean pilots twice. A failed
        attempt may be tried again.
        """
        assert self.ledger is not None, "a real submission needs the ledger"
        queue = plugin.queue.name
        earlier = self.ledger.claim_submission(queue, cycle)
        if earlier is not None and earlier["state"] != "failed":
            log.info("queue %s: cycle %s was already %s; nothing new", queue, cycle, earlier["state"])
            return _section(plugin.name, n, False, ids=earlier["ids"],
                            skipped=f"cycle {cycle} already {earlier['state']} for this queue")
        try:
            if n < 0:
                result = plugin.retire(-n)
                self.ledger.finish_submission(queue, cycle, result.ids, state="retired")
                return _section(plugin.name, n, False, retired=len(result.ids), ids=result.ids)
            existing = plugin.find_submitted(cycle)
            if existing:
                self.ledger.finish_submission(queue, cycle, existing)
                return _section(plugin.name, n, False, ids=existing,
                                skipped=f"the batch system already has pilots of cycle {cycle}")
            result = plugin.submit(n, cycle)
        except LedgerError:
            raise
        except Exception as exc:
            if not isinstance(exc, BackendError):
                log.debug("submit plugin %s failed", plugin.name, exc_info=True)
            self.ledger.finish_submission(queue, cycle, [], state="failed")
            return _section(plugin.name, n, False, error=describe_error(exc))
        self.ledger.finish_submission(queue, cycle, result.ids)
        return _section(plugin.name, n, False, submitted=len(result.ids), ids=result.ids,
                        **({"description_file": result.description_file} if result.description_file else {}))

    def _dry_run(self, plugin: BatchSubmitPlugin, n: int, cycle: str) -> dict[str, Any]:
        try:
            result = plugin.submit(n, cycle, dry_run=True) if n > 0 else plugin.retire(-n, dry_run=True)
        except Exception as exc:
            return _section(plugin.name, n, True, error=describe_error(exc))
        return _section(plugin.name, n, True, ids=result.ids, description=result.description)


def failed(record: Record) -> bool:
    submission = record.get("submission") or {}
    return bool(submission.get("error"))
