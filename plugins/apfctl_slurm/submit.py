"""The ``Slurm`` batch submit plugin: n pilots in one ``sbatch``, retirement with ``scancel``.

Submission writes the batch script (:mod:`apfctl_slurm.script`) to the queue's log folder
``baseLogDir/YYYY-MM-DD/<queue>/submit-<cycle>.sh`` and submits it with ``sbatch
--parsable`` as one job array; the pilots' ids are ``<array job id>_<task>``. Their output
goes to ``<array job id>_<task>.out|.err`` beside it.

Retirement cancels the queue's pilots that have not started first (held, then pending), newest
or oldest first as ``overlay.killorder`` says, and running ones only when ``overlay.peaceful``
is False. The ids are written to the factory's journal before ``scancel`` runs, so that status
counts them as removed, not as faults. ``apfctl clean`` cancels held pilots and pilots
pending for too long the same way.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from apfctl.config.keys import Key, expand_keys
from apfctl.config.model import QueueConfig
from apfctl.errors import BackendError
from apfctl.interfaces import BatchSubmitPlugin, FactoryContext, PilotRequest, SubmitResult
from apfctl.paths import safe_name
from apfctl.record import cycle_time
from apfctl.resourcetypes import pilot as typed_pilot
from apfctl.wrapper import pilot_command
from apfctl_slurm import commands as slurm_commands
from apfctl_slurm import journal
from apfctl_slurm.batchstatus import Endpoint
from apfctl_slurm.jobs import ACTIVE, Job, squeue
from apfctl_slurm.script import BatchScript, check_memory, check_time, parse_environ, parse_options
from apfctl_slurm.tags import Tag

KEYS: dict[str, Key] = {
    **slurm_commands.KEYS,
    "executable": Key("command", None, doc="the pilot each array task runs (default: the apfctl wrapper; on a "
                                           "remote cluster install it where the nodes see it)"),
    "executable.arguments": Key("str", None, doc="its arguments (split as a shell would, no expansion)"),
    "batchsubmit.{name}.partition": Key("str", None, doc="partition (default: the cluster's default)"),
    "batchsubmit.{name}.account": Key("str", None, doc="account to charge"),
    "batchsubmit.{name}.time": Key("str", None, doc="time limit: minutes, MM:SS, HH:MM:SS, D-HH:MM:SS, UNLIMITED"),
    "batchsubmit.{name}.memory": Key("str", None, doc="memory per pilot (--mem): megabytes, or 4G"),
    "batchsubmit.{name}.cores": Key("int", None, minimum=1, doc="cores per pilot (--cpus-per-task)"),
    "batchsubmit.{name}.options": Key("str", None,
                                      doc="more sbatch options, shell-quoted: --qos=normal --constraint=x86"),
    "batchsubmit.{name}.environ": Key("str", None, doc="extra pilot environment, space-separated VAR=value"),
    "batchsubmit.{name}.overlay.peaceful": Key("bool", True, doc="retire only pilots that have not started"),
    "batchsubmit.{name}.overlay.killorder": Key("str", "newest", choices=("newest", "oldest"),
                                                doc="which pilots retirement cancels first"),
    "batchsubmit.{name}.clean.held.remove": Key("bool", True, doc="apfctl clean cancels held pilots"),
    "batchsubmit.{name}.clean.stale.idle": Key("float", 86400.0, minimum=0,
                                               doc="apfctl clean cancels pilots pending longer (seconds; 0: never)"),
}

# sbatch option names of the resource keys
RESOURCES = {"partition": "partition", "account": "account", "time": "time", "memory": "mem",
             "cores": "cpus-per-task"}

# Slurm's words in an sbatch error -> the key whose value it is probably about
_HINTS = (("partition", "partition"), ("account", "account"), ("time limit", "time"),
          ("memory", "memory"), ("cpu", "cores"), ("qos", "options"))

_BENIGN_SCANCEL = ("already completing or completed", "invalid job id specified")
_SCANCEL_ERROR = re.compile(r"error on job id (\S+): (.*)", re.IGNORECASE)


def _order(job: Job) -> tuple[float, int, int]:
    head, _, task = job.id.partition("_")
    return (job.submit or 0.0, int(head) if head.isdigit() else 0, int(task) if task.isdigit() else 0)


class SlurmSubmit(BatchSubmitPlugin):
    """Submits, finds and retires the pilots of one queue on a Slurm cluster."""

    KEYS = KEYS

    @classmethod
    def check(cls, name: str, queue: QueueConfig, factory: FactoryContext) -> list[str]:
        keys = expand_keys(KEYS, name)
        prefix = f"batchsubmit.{name.lower()}"
        problems = slurm_commands.check_paths(queue)
        for key, check in ((f"{prefix}.time", check_time), (f"{prefix}.memory", check_memory)):
            value = queue.typed(key, keys[key])
            if value is not None and (problem := check(value)):
                problems.append(f"{key}: {problem}")
        for key, parse in ((f"{prefix}.options", lambda text: parse_options(text, prefix)),
                           (f"{prefix}.environ", parse_environ)):
            value = queue.typed(key, keys[key])
            if value is not None:
                try:
                    parse(value)
                except ValueError as exc:
                    problems.append(f"{key}: {exc}")
        for key in (f"{prefix}.partition", f"{prefix}.account"):
            value = queue.typed(key, keys[key])
            if value is not None and not re.fullmatch(r"[^\s,\"']+(,[^\s,\"']+)*", value):
                problems.append(f"{key}: {value!r} is not a Slurm name (no spaces or quotes)")
        return problems

    def __init__(self, name: str, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(name, queue, factory)
        keys = expand_keys(KEYS, name)
        self.prefix = prefix = f"batchsubmit.{name.lower()}"
        problems = self.check(name, queue, factory)
        if problems:   # the same checks as `apfctl config check`, for a config that skipped it
            bad_key, _, message = problems[0].partition(": ")
            raise queue.error(bad_key, message, queue.get(bad_key))
        self.where = Endpoint.from_queue(queue)
        self.commands = self.where.commands
        self.executable, self.arguments = pilot_command(queue)
        self.resources = {option: value for key, option in RESOURCES.items()
                          if (value := queue.typed(f"{prefix}.{key}", keys[f"{prefix}.{key}"])) is not None}
        self.options = parse_options(queue.typed(f"{prefix}.options", keys[f"{prefix}.options"]) or "", prefix)
        self.environ = parse_environ(queue.typed(f"{prefix}.environ", keys[f"{prefix}.environ"]) or "")
        self.peaceful: bool = queue.typed(f"{prefix}.overlay.peaceful", keys[f"{prefix}.overlay.peaceful"])
        self.killorder: str = queue.typed(f"{prefix}.overlay.killorder",
                                          keys[f"{prefix}.overlay.killorder"]).lower()
        self.remove_held: bool = queue.typed(f"{prefix}.clean.held.remove", keys[f"{prefix}.clean.held.remove"])
        self.stale_idle: float = queue.typed(f"{prefix}.clean.stale.idle", keys[f"{prefix}.clean.stale.idle"])
        self.journal = journal.journal_path(factory.state_dir, self.commands.cluster)

    def for_type(self, pilot: PilotRequest) -> SlurmSubmit:
        """Pilots of one resource type: ``--cpus-per-task`` and ``--mem`` of its size, the type
        in the job name and comment (``APF_RESOURCETYPE``) and in ``APFCTL_RESOURCE_TYPE``."""
        return typed_pilot.typed_copy(self, pilot)

    def _tag(self, cycle: str) -> Tag:
        return Tag(self.factory.factory_id, self.queue.name, cycle, self.pilot.resource_type if self.pilot else "")

    # -- finding ---------------------------------------------------------------------------
    def _mine(self, jobs: list[Job]) -> list[Job]:
        """This queue's pilots (of this plugin's type, when it is typed)."""
        factory_id = self.factory.factory_id
        return [job for job in jobs if job.tag.factory == factory_id and job.tag.queue == self.queue.name
                and (self.pilot is None or job.tag.resource_type == self.pilot.resource_type)]

    def find_submitted(self, cycle: str) -> list[str]:
        """Pilots of this cycle that ``squeue`` still lists; for an older cycle, also those in
        the history (they may have ended more than MinJobAge ago)."""
        name = self._tag(cycle).job_name()   # filtered by slurmctld
        found = {job.id: job for job in self._mine(squeue(self.commands, name=name)) if job.tag.cycle == cycle}
        made = cycle_time(cycle)
        started = made.timestamp() if made is not None else None
        if started is None or time.time() - started > 120:
            since = started - 60 if started is not None else time.time() - 86400
            for job in self._mine(self.where.ended_jobs(since)):
                if job.tag.cycle == cycle:
                    found.setdefault(job.id, job)
        return [job.id for job in sorted(found.values(), key=_order)]

    # -- submitting ------------------------------------------------------------------------
    def script(self, n: int, cycle: str) -> tuple[BatchScript, Path]:
        log_dir, log_url = self.factory.queue_log_dir(self.queue.name)
        monitor_url = self.factory.monitor_url(self.queue)
        resources, environ = dict(self.resources), dict(self.environ)
        if self.pilot is not None:   # the type's size wins over the queue's cores and memory keys
            resources["cpus-per-task"] = str(self.pilot.cores)
            if self.pilot.memory:
                resources["mem"] = f"{self.pilot.memory}M"
            environ = {**typed_pilot.environment(self.pilot), **environ}
        batch = BatchScript(self._tag(cycle), n, log_dir, log_url, self.executable,
                            typed_pilot.substitute(self.arguments, self.pilot), resources, self.options, environ,
                            monitor_url, self.factory.config.getstr("factoryUser"), self.workers)
        kind = f"-{self.pilot.resource_type}" if self.pilot else ""
        return batch, log_dir / f"submit-{safe_name(cycle)}{kind}.sh"

    def submit(self, n: int, cycle: str, dry_run: bool = False) -> SubmitResult:
        if n <= 0:
            return SubmitResult()
        batch, path = self.script(n, cycle)
        text = batch.text()
        if dry_run:
            return SubmitResult(description=text)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise BackendError(f"queue {self.queue.name}: cannot write {path}: {exc.strerror or exc}") from None
        result = self.commands.run("sbatch", "--parsable", str(path))
        if result.returncode != 0:
            raise self.commands.fail("sbatch", result, self._hint(result.stderr + result.stdout))
        array_id = result.stdout.strip().split(";")[0]
        if not array_id.isdigit():
            raise BackendError(f"sbatch answered {result.stdout.strip()!r}, not a job id")
        return SubmitResult(ids=[f"{array_id}_{task}" for task in range(n)], description=text)

    def _hint(self, message: str) -> str:
        lowered = message.lower()
        for word, key in _HINTS:
            full = f"{self.prefix}.{key}"
            if word in lowered and self.queue.get(full) is not None:
                return f" (queue {self.queue.name}: {full} = {self.queue.get(full)!r})"
        return f" (queue {self.queue.name})"

    # -- retiring --------------------------------------------------------------------------
    def _to_retire(self, n: int) -> list[Job]:
        live = self._mine(squeue(self.commands, ACTIVE))
        newest_first = self.killorder == "newest"
        waiting = [job for category in ("held", "pending")
                   for job in sorted((j for j in live if j.category == category), key=_order, reverse=newest_first)]
        chosen = waiting[:n]
        if not self.peaceful and len(chosen) < n:
            running = sorted((job for job in live if job.category == "running"),
                             key=lambda job: (job.start or 0.0, *_order(job)), reverse=newest_first)
            chosen += running[:n - len(chosen)]
        return chosen

    def retire(self, n: int, dry_run: bool = False) -> SubmitResult:
        if n <= 0:
            return SubmitResult()
        ids = [job.id for job in self._to_retire(n)]
        description = (f"scancel {' '.join(ids)}  # queue {self.queue.name}: not-started pilots first, "
                       f"killorder={self.killorder}, peaceful={self.peaceful}") if ids else None
        if dry_run or not ids:
            return SubmitResult(ids=ids if dry_run else [], description=description)
        return SubmitResult(ids=self._cancel(ids), description=description)

    def _cancel(self, ids: list[str]) -> list[str]:
        """Journal the ids as the factory's own removals, then one ``scancel``; the ids cancelled."""
        journal.record(self.journal, ids)
        result = self.commands.run("scancel", *ids)
        gone = set()
        if result.returncode != 0:
            for line in result.stderr.splitlines():
                match = _SCANCEL_ERROR.search(line)
                if match and match.group(2).strip().lower().startswith(_BENIGN_SCANCEL):
                    gone.add(match.group(1))   # ended meanwhile: nothing to cancel
                elif "error" in line.lower():
                    raise self.commands.fail("scancel", result, f" (queue {self.queue.name})")
        return [job_id for job_id in ids if job_id not in gone]

    # -- clean-up (apfctl clean) ---------------------------------------------------------
    def clean(self, dry_run: bool = False) -> list[dict[str, Any]]:
        """Cancel held pilots (``clean.held.remove``) and pilots pending longer than
        ``clean.stale.idle`` seconds; one dict per action. Both count as the factory's removals."""
        live = self._mine(squeue(self.commands, ACTIVE))
        now = time.time()
        held = [job.id for job in live if job.category == "held"] if self.remove_held else []
        stale = [job.id for job in live if job.category == "pending" and self.stale_idle
                 and job.submit is not None and now - job.submit > self.stale_idle]
        actions = []
        for what, ids, reason in (("remove_held", held, "held pilot cancelled by apfctl clean"),
                                  ("remove_stale", stale, f"pending longer than {self.stale_idle:g} s")):
            if not ids:
                continue
            entry: dict[str, Any] = {"queue": self.queue.name, "action": "remove", "what": what, "ids": ids,
                                     "reason": reason, "dry_run": dry_run}
            if not dry_run:
                entry["succeeded"] = len(self._cancel(ids))
            actions.append(entry)
        return actions
