"""The submit stage: the decided number of pilots, submitted or retired, exactly once.

For each record, under the queue's lock: the ledger's claim on (queue, cycle) and the
backend's own stamps (``find_submitted``) are checked first, so a repeated submit of the
same record, or a second apfctl on the same queue, submits nothing new. A decision per
resource type is submitted once per (queue, type, cycle), each type with its pilot size,
on backends that can (``BatchSubmitPlugin.for_type``); on others as untyped pilots. Claims
that a killed process left "submitting" are settled first (:meth:`Submitter._settle`), and
the number of pilots is capped by the queue's own limits (:mod:`apfctl.stages.caps`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from apfctl import plugins
from apfctl.config.loader import Loaded
from apfctl.errors import BackendError, ConfigError, LedgerError
from apfctl.interfaces import BatchSubmitPlugin, PilotRequest, SubmitResult
from apfctl.ledger import Ledger
from apfctl.locking import queue_lock
from apfctl.record import Record, Submission, submission
from apfctl.stages.caps import cap
from apfctl.stages.status import describe_error
from apfctl.workers import WorkerBlock, WorkerLedger, instance_id

log = logging.getLogger("apfctl.submit")


class Submitter:
    """Submits records' decisions; one backend plugin instance per queue."""

    def __init__(self, loaded: Loaded, ledger: Ledger | None, dry_run: bool = False) -> None:
        self.loaded = loaded
        self.ledger = ledger
        self.dry_run = dry_run
        self._plugins: dict[str, BatchSubmitPlugin] = {}
        self._worker_ledger: WorkerLedger | None = None

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
                record["submission"] = submission(None, record["decision"]["pilots"], self.dry_run,
                                                skipped="queue locked by another apfctl process")
            else:
                record["submission"] = self._submit_locked(record)
        return record

    def _submit_locked(self, record: Record) -> Submission:
        """One record's submission; whatever goes wrong stays in this record's section."""
        n = record["decision"]["pilots"]
        try:
            plugin = self.plugin(record["queue"])
        except Exception as exc:  # a queue whose backend cannot be built fails alone
            log.debug("submit plugin for %s failed to start", record["queue"], exc_info=True)
            return submission(None, n, self.dry_run, error=describe_error(exc))
        types = record["decision"].get("types")
        if types and type(plugin).for_type is not BatchSubmitPlugin.for_type:
            return self._per_type(plugin, types, record["cycle"])
        note = f"{plugin.name} does not submit per resource type: untyped pilots of the queue's size"
        section = self._one(plugin, n, record["cycle"], record["cycle"])
        if types:
            section["note"] = note
        return section

    def _one(self, plugin: BatchSubmitPlugin, n: int, cycle: str, claim: str) -> Submission:
        """One submission (or retirement) of ``n`` pilots; ``claim``: its key in the ledger."""
        if n == 0:
            return submission(plugin.name, 0, self.dry_run)
        try:
            allowed, why = cap(plugin.queue, n, self._submitted_total(plugin.queue.name))
            if allowed != n:
                log.warning("queue %s: the record asks for %d pilots; %d by %s", plugin.queue.name, n, allowed, why)
            if self.dry_run:
                section = self._dry_run(plugin, allowed, cycle)
            else:
                self._settle(plugin)
                section = self._once(plugin, allowed, cycle, claim)
        except (LedgerError, ConfigError) as exc:
            return submission(plugin.name, n, self.dry_run, error=str(exc))
        if allowed != n:
            section.update(requested=n, capped=f"{allowed} by {why}")
        return section

    def _submitted_total(self, queue: str) -> Callable[[], int]:
        def total() -> int:
            return self.ledger.submitted_totals().get(queue, 0) if self.ledger is not None else 0
        return total

    def _settle(self, plugin: BatchSubmitPlugin) -> None:
        """Settle the claims a dead process left "submitting" for this queue (the lock is held).

        The backend is asked for the pilots of each such cycle: found, they were submitted
        (recorded so); none, the claim is released, so that the cycle may be decided and
        submitted again. A backend that cannot answer leaves the claim for the next run.
        A plugin made for one resource type settles that type's claims (``<cycle>:<type>``).
        """
        assert self.ledger is not None
        queue = plugin.queue.name
        suffix = f":{plugin.pilot.resource_type}" if plugin.pilot is not None else ""
        for claim in self.ledger.unfinished(queue):
            if suffix and not claim.endswith(suffix):
                continue
            cycle = claim.removesuffix(suffix) if suffix else claim
            try:
                found = plugin.find_submitted(cycle)
            except Exception as exc:
                log.warning("queue %s: cycle %s was left unfinished by a process that died; the batch system "
                            "cannot say if it has its pilots (%s): asked again next run", queue, claim,
                            describe_error(exc))
                continue
            if found:
                self.ledger.finish_submission(queue, claim, found)
                log.warning("queue %s: cycle %s was left unfinished by a process that died; the batch system "
                            "has %d of its pilots: recorded as submitted", queue, claim, len(found))
            else:
                self.ledger.release(queue, claim)
                log.warning("queue %s: cycle %s was left unfinished by a process that died; the batch system "
                            "has none of its pilots: claim released", queue, claim)

    def _per_type(self, plugin: BatchSubmitPlugin, types: Mapping[str, Any], cycle: str) -> Submission:
        """One submission per (queue, type, cycle), each claimed in the ledger as ``<cycle>:<type>``.

        The queue's caps hold for the sum of the types: when it is over them, each type's new
        pilots are cut in proportion (rounded down), as the decision's queue-wide limits do.
        """
        wanted = {rt: int(decided["pilots"]) for rt, decided in types.items()}
        total = sum(p for p in wanted.values() if p > 0)
        if total > 0:
            allowed, why = cap(plugin.queue, total, self._submitted_total(plugin.queue.name))
            if allowed < total:
                log.warning("queue %s: the record asks for %d pilots over its types; %d by %s",
                            plugin.queue.name, total, allowed, why)
                wanted = {rt: p * allowed // total if p > 0 else p for rt, p in wanted.items()}
        sections: dict[str, Submission] = {}
        for rt, decided in types.items():
            typed = plugin.for_type(PilotRequest(rt, decided["cores"], decided["memory"]))
            assert typed is not None
            sections[rt] = self._one(typed, wanted[rt], cycle, f"{cycle}:{rt}")
            if wanted[rt] != decided["pilots"]:
                sections[rt].update(requested=decided["pilots"], capped=f"{wanted[rt]} by the queue's caps")
        errors = [f"{rt}: {s['error']}" for rt, s in sections.items() if s.get("error")]
        section = submission(plugin.name, sum(s["requested"] for s in sections.values()), self.dry_run,
                             submitted=sum(s["submitted"] for s in sections.values()),
                             retired=sum(s["retired"] for s in sections.values()),
                             ids=[i for s in sections.values() for i in s["ids"]], error="; ".join(errors) or None)
        section["types"] = sections   # type: ignore[typeddict-unknown-key]
        return section

    def _once(self, plugin: BatchSubmitPlugin, n: int, cycle: str, claim: str) -> Submission:
        """Submit (n > 0) or retire (n < 0) exactly once per queue and cycle.

        The ledger's claim on (queue, cycle) comes first; for a submission the backend's own
        stamps are asked too, so that a lost ledger does not mean pilots twice. A failed
        attempt may be tried again.
        """
        assert self.ledger is not None, "a real submission needs the ledger"
        queue = plugin.queue.name
        earlier = self.ledger.claim_submission(queue, claim)
        if earlier is not None and earlier["state"] != "failed":
            log.info("queue %s: cycle %s was already %s; nothing new", queue, cycle, earlier["state"])
            return submission(plugin.name, n, False, ids=earlier["ids"],
                            skipped=f"cycle {cycle} already {earlier['state']} for this queue")
        try:
            if n < 0:
                result = plugin.retire(-n)
                self.ledger.finish_submission(queue, claim, result.ids, state="retired")
                return submission(plugin.name, n, False, retired=len(result.ids), ids=result.ids)
            existing = plugin.find_submitted(cycle)
            if existing:
                self.ledger.finish_submission(queue, claim, existing)
                return submission(plugin.name, n, False, ids=existing,
                                skipped=f"the batch system already has pilots of cycle {cycle}")
            plugin.workers = self._workers().allocate(instance_id(self.loaded.context.config), n)
            result = plugin.submit(n, cycle)
        except LedgerError:
            raise
        except Exception as exc:
            if not isinstance(exc, BackendError):
                log.debug("submit plugin %s failed", plugin.name, exc_info=True)
            self.ledger.finish_submission(queue, claim, [], state="failed")
            return submission(plugin.name, n, False, error=describe_error(exc))
        try:
            self.ledger.finish_submission(queue, claim, result.ids)
        except LedgerError as exc:   # the pilots exist: the record says so, and what went wrong
            return submission(plugin.name, n, False, submitted=len(result.ids), ids=result.ids, error=str(exc))
        self._record_workers(plugin, cycle, result)
        return submission(plugin.name, n, False, submitted=len(result.ids), ids=result.ids,
                          **({"description_file": result.description_file} if result.description_file else {}))

    def _workers(self) -> WorkerLedger:
        assert self.ledger is not None
        if self._worker_ledger is None:
            self._worker_ledger = WorkerLedger(self.ledger)
        return self._worker_ledger

    def _record_workers(self, plugin: BatchSubmitPlugin, cycle: str, result: SubmitResult) -> None:
        """Each new pilot's batch id beside its worker id (apfctl.workers)."""
        block = plugin.workers
        if block is None or not result.ids:
            return
        workers = result.workers or dict(zip(result.ids, block.ids(), strict=False))
        try:
            self._workers().record(plugin.queue.name, cycle, plugin.pilot, workers)
        except LedgerError as exc:   # the pilots exist: their submission stands, PanDA just won't hear of them
            log.warning("queue %s: %d pilots submitted, but their worker ids were not stored: %s",
                        plugin.queue.name, len(workers), exc)

    def _next_worker(self) -> int:
        """The worker id the next submission would take (a dry run reserves none)."""
        if self.ledger is None:
            return 1
        try:
            return self._workers().peek()
        except LedgerError:
            return 1

    def _dry_run(self, plugin: BatchSubmitPlugin, n: int, cycle: str) -> Submission:
        try:
            if n > 0:   # the ids the pilots would get, none reserved
                plugin.workers = WorkerBlock(instance_id(self.loaded.context.config), self._next_worker(), n)
            result = plugin.submit(n, cycle, dry_run=True) if n > 0 else plugin.retire(-n, dry_run=True)
        except Exception as exc:
            return submission(plugin.name, n, True, error=describe_error(exc))
        return submission(plugin.name, n, True, ids=result.ids, description=result.description)
