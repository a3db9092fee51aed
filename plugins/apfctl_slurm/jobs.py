"""Slurm jobs as apfctl sees them: their pilot states (the ``STATES`` table, docs/architecture.md §1.5), one ``squeue``.

``squeue --json`` would be the obvious source, but in Slurm 22.05 it ignores every filter
(it returns every job of every user) and costs ~110 keys per job. ``squeue -o`` honours
``--me`` and ``-r`` (one line per array task) and prints only the seven fields used here;
the job name comes last so that nothing in it can shift the other fields.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import lru_cache

from apfctl.errors import BackendError
from apfctl.record.states import PilotState
from apfctl_slurm.commands import SlurmCommands
from apfctl_slurm.tags import Tag, parse_job_name

# Slurm's job states (squeue %T, sacct State) as pilot states (apfctl/record/states.py), one row each.
STATES: dict[str, PilotState] = {
    "PENDING": PilotState.PENDING,         # held instead when the reason says so (HOLD_REASONS)
    "CONFIGURING": PilotState.PENDING,
    "REQUEUED": PilotState.PENDING,
    "REQUEUE_FED": PilotState.PENDING,
    "RESIZING": PilotState.PENDING,
    "POWER_UP_NODE": PilotState.PENDING,
    "SUSPENDED": PilotState.HELD,
    "STOPPED": PilotState.HELD,
    "REQUEUE_HOLD": PilotState.HELD,
    "SPECIAL_EXIT": PilotState.HELD,
    "RUNNING": PilotState.RUNNING,
    "SIGNALING": PilotState.RUNNING,
    "COMPLETING": PilotState.EXITING,
    "STAGE_OUT": PilotState.EXITING,
    "COMPLETED": PilotState.DONE,
    "FAILED": PilotState.FAULT,
    "CANCELLED": PilotState.FAULT,
    "TIMEOUT": PilotState.FAULT,
    "NODE_FAIL": PilotState.FAULT,
    "OUT_OF_MEMORY": PilotState.FAULT,
    "BOOT_FAIL": PilotState.FAULT,
    "PREEMPTED": PilotState.FAULT,
    "DEADLINE": PilotState.FAULT,
    "REVOKED": PilotState.FAULT,
}
UNKNOWN_STATE = PilotState.PENDING   # a state newer than this table: count the pilot, never lose it
ACTIVE = "PENDING,CONFIGURING,RUNNING,SUSPENDED,COMPLETING,REQUEUE_HOLD,SPECIAL_EXIT"  # squeue -t

# pending reasons that mean someone holds the job: it will not start by itself
HOLD_REASONS = ("JobHeldUser", "JobHeldAdmin")

_NO_TIME = frozenset({"", "N/A", "NONE", "None", "Unknown", "UNLIMITED", "INVALID"})
SQUEUE_FORMAT = "%i|%T|%r|%V|%S|%e|%j"


@dataclass(frozen=True)
class Job:
    """One pilot: ``id`` as Slurm writes array tasks (``1234_5``), its stamps and its times."""

    id: str
    tag: Tag
    state: str
    reason: str = ""
    submit: float | None = None
    start: float | None = None
    end: float | None = None

    @property
    def category(self) -> PilotState:
        """pending, held, running, exiting, done or fault (``apfctl.record.states``)."""
        return categorize(self.state, self.reason)

    @property
    def walltime(self) -> float:
        if self.start is None or self.end is None:
            return 0.0
        return max(0.0, self.end - self.start)


def categorize(state: str, reason: str = "") -> PilotState:
    """The pilot state of a Slurm state (``STATES``), a pending job held by someone being held."""
    word = state.split()[0] if state else ""   # sacct says "CANCELLED by 0"
    category = STATES.get(word, UNKNOWN_STATE)
    if category is PilotState.PENDING and reason.startswith(HOLD_REASONS):
        return PilotState.HELD
    return category


@lru_cache(maxsize=8192)
def parse_time(text: str) -> float | None:
    """Slurm's local ``2026-11-25T06:00:01`` as epoch seconds; None for its 'no time' words."""
    text = text.strip()
    if text in _NO_TIME:
        return None
    try:
        return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None


class GarbledOutput(ValueError):
    """Output that is not in the format asked for: the source failed, it did not say "no jobs"."""


_JOB_ID = re.compile(r"[0-9]+([_+][0-9\[\]%,-]+)?").fullmatch   # 12, 12_3, 12_[4-9], 12+0
_STATE = re.compile(r"[A-Z_]+").fullmatch


def _garbled(number: int, line: str, why: str) -> GarbledOutput:
    shown = line if len(line) <= 80 else line[:77] + "..."
    return GarbledOutput(f"line {number} {shown!r} {why}")


def parse_squeue(text: str) -> list[Job]:
    """apfctl's pilots among ``squeue -o SQUEUE_FORMAT`` lines; other jobs are left out.

    :class:`GarbledOutput` for a line that is not in that format: garbage with exit 0 must
    fail the status, never read as "no pilots".
    """
    jobs = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split("|", 6)
        if len(fields) != 7:
            if not line.strip() or line.startswith("CLUSTER: "):   # the header of ``-M``
                continue
            raise _garbled(number, line, "is not one job of 7 '|'-separated fields")
        job_id, state, reason, submit, start, end, name = fields
        if not _JOB_ID(job_id) or not _STATE(state):
            raise _garbled(number, line, "has no job id and state where they belong")
        tag = parse_job_name(name)
        if tag is None:
            continue
        jobs.append(Job(job_id, tag, state, reason, parse_time(submit), parse_time(start), parse_time(end)))
    return jobs


def squeue(commands: SlurmCommands, states: str = "all", name: str | None = None) -> list[Job]:
    """The factory user's pilots in one ``squeue`` call (``all`` includes jobs that ended
    within MinJobAge), only those with job name ``name`` if given; BackendError with Slurm's
    message if it fails."""
    named = [f"--name={name}"] if name else []
    result = commands.run("squeue", "--me", "--noheader", "--array", f"--states={states}", *named,
                          "--format", SQUEUE_FORMAT)
    if result.returncode != 0:
        raise commands.fail("squeue", result)
    try:
        return parse_squeue(result.stdout)
    except GarbledOutput as exc:
        raise BackendError(f"squeue printed what apfctl did not ask for (exit 0): {exc}") from None
