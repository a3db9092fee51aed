"""Pilots that ended: from ``sacct`` when the cluster keeps accounting, else the completion log.

``squeue`` forgets a job MinJobAge (300 s by default) after it ends, but done_1h and fault_1h
cover an hour. ``sacct`` needs slurmdbd; without it Slurm 22.05 prints "accounting storage is
disabled" and exits 0. ``jobcomp/filetxt`` writes one ``key=value`` line per ended job
(``JobId=... Name=... JobState=... StartTime=... EndTime=... ArrayJobId=... ArrayTaskId=...``)
on the controller's host; it is read backwards from its end, only as far as the window needs.

Array tasks that were cancelled while still pending (never split off the array) appear in
neither source: Slurm drops them. apfctl cancels such pilots only when it retires them, and
those count as neither done nor fault anyway.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from apfctl.errors import BackendError
from apfctl_slurm.commands import SlurmCommands
from apfctl_slurm.jobs import Job, parse_time
from apfctl_slurm.tags import PREFIX, parse_job_name

log = logging.getLogger("apfctl.slurm")

MODES = ("auto", "sacct", "jobcomp", "squeue")
SACCT_FORMAT = "JobID,State,Submit,Start,End,JobName"
SACCT_STATES = "CD,F,CA,TO,NF,OOM,BF,PR,DL"   # every state a job ends in
_DISABLED = "accounting storage is disabled"

_BLOCK = 1 << 18
_SLACK = 600.0   # completion lines are appended as jobs end, give or take a few seconds
_END = re.compile(rb" EndTime=(\S+)")
_FIELD = re.compile(r"(?:^| )([A-Za-z]+)=")
_MARK = f" Name={PREFIX}:".encode()


class AccountingDisabled(Exception):
    """The cluster keeps no accounting database (no slurmdbd)."""


def _stamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(epoch))


def sacct(commands: SlurmCommands, since: float) -> list[Job]:
    """The factory user's pilots that ended after ``since``, in one ``sacct`` call."""
    result = commands.run("sacct", "--allocations", "--parsable2", "--noheader", "--format", SACCT_FORMAT,
                          "--state", SACCT_STATES, "--starttime", _stamp(since), "--endtime", "now")
    if _DISABLED in (result.stdout + result.stderr).lower():
        raise AccountingDisabled(result.stdout.strip() or result.stderr.strip())
    if result.returncode != 0:
        raise commands.fail("sacct", result, " (batchstatus.slurm.history)")
    jobs = []
    for line in result.stdout.splitlines():
        fields = line.split("|", 5)
        if len(fields) != 6:
            continue
        tag = parse_job_name(fields[5])   # "allocation" for a second after the job ends: squeue has it
        if tag is None:
            continue
        job_id, state, submit, start, end, _ = fields
        if "_[" in job_id:   # an array's own record ("1234_[0-3]" for a moment, then "1234", as squeue says)
            job_id = job_id.partition("_")[0]
        job = Job(job_id, tag, state.split()[0] if state else "", "", parse_time(submit),
                  parse_time(start), parse_time(end))
        if job.end is not None and job.end >= since:
            jobs.append(job)
    return jobs


def _lines_backwards(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        stream.seek(0, 2)
        position = stream.tell()
        partial = b""
        while position > 0:
            size = min(_BLOCK, position)
            position -= size
            stream.seek(position)
            lines = (stream.read(size) + partial).split(b"\n")
            partial = lines.pop(0) if position > 0 else b""
            yield from reversed(lines)


def _jobcomp_job(line: str) -> Job | None:
    starts = list(_FIELD.finditer(line))
    fields = {m.group(1): line[m.end():(starts[i + 1].start() if i + 1 < len(starts) else len(line))].strip()
              for i, m in enumerate(starts)}
    tag = parse_job_name(fields.get("Name", ""))
    if tag is None:
        return None
    array, task = fields.get("ArrayJobId"), fields.get("ArrayTaskId")
    job_id = f"{array}_{task}" if array and task and array != "0" else fields.get("JobId", "")
    return Job(job_id, tag, fields.get("JobState", ""), "", parse_time(fields.get("SubmitTime", "")),
               parse_time(fields.get("StartTime", "")), parse_time(fields.get("EndTime", "")))


def jobcomp(path: Path, since: float) -> list[Job]:
    """apfctl's pilots in the completion log that ended after ``since``."""
    jobs = []
    try:
        for raw in _lines_backwards(path):
            match = _END.search(raw)
            if match is None:
                continue
            end = parse_time(match.group(1).decode("ascii", "replace"))
            if end is None:
                continue
            if end < since - _SLACK:
                break
            if end >= since and _MARK in raw:
                job = _jobcomp_job(raw.decode("utf-8", "replace"))
                if job is not None:
                    jobs.append(job)
    except OSError as exc:
        raise BackendError(f"cannot read the job-completion log {path} (batchstatus.slurm.jobcomp): "
                           f"{exc.strerror or exc}") from None
    return jobs


def ended_jobs(commands: SlurmCommands, mode: str, jobcomp_path: Path, since: float) -> list[Job]:
    """Pilots that ended after ``since``, from the source ``mode`` names (see MODES)."""
    if mode == "squeue":
        return []
    if mode in ("auto", "sacct"):
        try:
            return sacct(commands, since)
        except AccountingDisabled as exc:
            if mode == "sacct":
                raise BackendError(f"sacct: {exc} (batchstatus.slurm.history = sacct; use jobcomp or auto)") from None
        if not (jobcomp_path.is_file() and os.access(jobcomp_path, os.R_OK)):
            log.info("Slurm keeps no accounting and %s is not readable here: "
                     "pilots that ended are seen for MinJobAge only", jobcomp_path)
            return []
    return jobcomp(jobcomp_path, since)
