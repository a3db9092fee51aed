"""A test kit for the Slurm backend: Slurm's client commands, faked, without a cluster.

:class:`FakeSlurm` writes ``sbatch``, ``squeue``, ``sacct`` and ``scancel`` as small
executable scripts into a folder; point a queue at them with ``slurm.bindir`` (see
:meth:`FakeSlurm.queue_keys`) and the real ``Slurm`` plugins, or ``apfctl`` itself, drive
them as they drive Slurm 22.05. The jobs live in one JSON state file (locked while a command
or a helper changes it); a test moves them through Slurm's states with :meth:`FakeSlurm.start`,
:meth:`~FakeSlurm.complete`, :meth:`~FakeSlurm.fail`, :meth:`~FakeSlurm.timeout`,
:meth:`~FakeSlurm.cancel`, :meth:`~FakeSlurm.hold`, and ages them with :meth:`~FakeSlurm.backdate`.

The answers are in the formats the plugin parses, as Slurm 22.05 prints them:
``sbatch --parsable`` (``<id>`` or ``<id>;<cluster>``), ``squeue --format`` with the
``%i %T %r %V %S %e %j`` fields (array tasks one per line, ``CLUSTER: <name>`` first under
``-M``; jobs that ended stay listed for MinJobAge, 300 s), ``sacct --parsable2`` with the
``JobID State Submit Start End JobName`` fields (``CANCELLED by <uid>``; "Slurm accounting
storage is disabled" and exit 0 without accounting), ``scancel``'s ``Kill job error on job
id`` lines, and the ``jobcomp/filetxt`` completion log (:attr:`FakeSlurm.jobcomp`). As in
Slurm, array tasks cancelled while pending are left out of accounting and the completion log;
when the last of them go, the array's own record ends under its bare id.

:func:`canned_command` writes a command that prints fixed output, and :func:`jobcomp_line`
one completion-log line, for tests of exact captured output.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from apfctl_slurm.commands import COMMANDS

MIN_JOB_AGE = 300.0
UID = os.getuid()
UNREACHABLE = "Unable to contact slurm controller (connect failure)"
_SHORT_STATES = {"PD": "PENDING", "R": "RUNNING", "CG": "COMPLETING", "CD": "COMPLETED", "F": "FAILED",
                 "CA": "CANCELLED", "TO": "TIMEOUT", "NF": "NODE_FAIL", "OOM": "OUT_OF_MEMORY", "BF": "BOOT_FAIL",
                 "PR": "PREEMPTED", "DL": "DEADLINE", "S": "SUSPENDED", "RH": "REQUEUE_HOLD", "SE": "SPECIAL_EXIT"}
_ENDED = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL",
                    "PREEMPTED", "DEADLINE"})

FakeJob = dict[str, Any]   # one job in the state file


def stamp(epoch: float | None, none: str = "Unknown") -> str:
    """Slurm's local time format (``SLURM_TIME_FORMAT=standard``)."""
    return none if epoch is None else time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(epoch))


def jobcomp_line(job_id: str, name: str, state: str, submit: float | None, start: float | None,
                 end: float, array: tuple[str, str] | None = None, exit_code: int = 0) -> str:
    """One line of ``jobcomp/filetxt`` as Slurm 22.05 writes it (``WorkDir`` may hold spaces)."""
    arrays = f"ArrayJobId={array[0]} ArrayTaskId={array[1]} " if array else ""
    return (f"JobId={job_id} UserId=pilot({UID}) GroupId=pilot({os.getgid()}) Name={name} JobState={state} "
            f"Partition=debug TimeLimit=UNLIMITED StartTime={stamp(start)} EndTime={stamp(end)} "
            f"NodeList=localhost NodeCnt=1 ProcCnt=1 WorkDir=/tmp/a dir ReservationName= "
            f"Tres=cpu=1,mem=1000M,node=1,billing=1 Account=pilot QOS=normal WcKey= Cluster=fake "
            f"SubmitTime={stamp(submit)} EligibleTime={stamp(submit)} {arrays}"
            f"DerivedExitCode=0:0 ExitCode={exit_code}:0 \n")


def canned_command(folder: Path, name: str, output: str, exit_code: int = 0) -> Path:
    """A command that prints ``output`` (captured from a real Slurm) whatever it is asked."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\ncat <<'END'\n{output}END\nexit {exit_code}\n")
    path.chmod(0o755)
    return path


class FakeSlurm:
    """Slurm's four client commands in ``folder/bin``, sharing ``folder/slurm-state.json``."""

    def __init__(self, folder: Path, partitions: tuple[str, ...] = ("debug",), accounting: bool = True,
                 first_id: int = 1000, create: bool = True) -> None:
        self.folder = folder
        self.bindir = folder / "bin"
        self.state_file = folder / "slurm-state.json"
        self.jobcomp = folder / "jobcomp.log"
        if not create:
            return
        self.bindir.mkdir(parents=True, exist_ok=True)
        if not self.state_file.exists():
            self._save({"next_id": first_id, "partitions": list(partitions), "accounting": accounting,
                        "down": False, "jobs": {}, "arrays_ended": {}, "calls": []})
        for command in COMMANDS:
            path = self.bindir / command
            path.write_text(f"#!{sys.executable}\nimport sys\nfrom apfctl_slurm.testing import main\n"
                            f"sys.exit(main({command!r}, {str(folder)!r}, sys.argv[1:]))\n")
            path.chmod(0o755)

    def queue_keys(self, history: str = "auto") -> dict[str, str]:
        """The keys that point a queue at this fake cluster."""
        return {"slurm.bindir": str(self.bindir), "batchstatus.slurm.history": history,
                "batchstatus.slurm.jobcomp": str(self.jobcomp)}

    # -- the state file -----------------------------------------------------------------------
    def _save(self, data: dict[str, Any]) -> None:
        tmp = self.state_file.with_name(f".{self.state_file.name}.{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, self.state_file)

    @contextlib.contextmanager
    def changing(self) -> Iterator[dict[str, Any]]:
        """The state, locked; saved when the block ends."""
        with open(self.folder / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = json.loads(self.state_file.read_text())
            yield data
            self._save(data)

    def read(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text())

    def jobs(self) -> dict[str, FakeJob]:
        """Every job by id (array tasks as ``<array>_<task>``)."""
        return self.read()["jobs"]

    def states(self) -> dict[str, str]:
        return {job_id: job["state"] for job_id, job in self.jobs().items()}

    def calls(self, command: str | None = None) -> list[list[str]]:
        """The command lines the fake was run with, oldest first."""
        return [call[1:] for call in self.read()["calls"] if command in (None, call[0])]

    # -- moving jobs through states --------------------------------------------------------
    def set_down(self, down: bool = True) -> None:
        """slurmctld unreachable: sbatch, squeue and scancel fail as Slurm's do (sacct asks slurmdbd)."""
        with self.changing() as data:
            data["down"] = down

    def start(self, *ids: str) -> None:
        self._move(ids, "RUNNING", "None", started=True)

    def hold(self, *ids: str, reason: str = "JobHeldUser") -> None:
        self._move(ids, "PENDING", reason)

    def release(self, *ids: str) -> None:
        self._move(ids, "PENDING", "None")

    def complete(self, *ids: str) -> None:
        self._move(ids, "COMPLETED", "None", started=True, ended=True)

    def fail(self, *ids: str, exit_code: int = 1) -> None:
        self._move(ids, "FAILED", "NonZeroExitCode", started=True, ended=True, exit_code=exit_code)

    def timeout(self, *ids: str) -> None:
        self._move(ids, "TIMEOUT", "TimeLimit", started=True, ended=True)

    def cancel(self, *ids: str) -> None:
        """Cancelled by someone (a user, an admin), as ``scancel`` would."""
        with self.changing() as data:
            _cancel(data, list(ids), self.jobcomp)

    def backdate(self, seconds: float, *ids: str) -> None:
        """Move the jobs' times ``seconds`` into the past (all jobs if no id is given)."""
        with self.changing() as data:
            for job_id in ids or list(data["jobs"]):
                job = data["jobs"][job_id]
                for key in ("submit", "start", "end"):
                    if job[key] is not None:
                        job[key] -= seconds

    def _move(self, ids: tuple[str, ...], state: str, reason: str, started: bool = False, ended: bool = False,
              exit_code: int = 0) -> None:
        with self.changing() as data:
            now = time.time()
            for job_id in ids:
                job = data["jobs"][job_id]
                job.update(state=state, reason=reason)
                if started and job["start"] is None:
                    job["start"] = now
                if ended:
                    job.update(end=now, exit_code=exit_code)
                    _log_end(self.jobcomp, job)


# -- the commands ---------------------------------------------------------------------------
def _log_end(jobcomp: Path, job: FakeJob) -> None:
    array = (job["array"], job["task"]) if job["task"] is not None else None
    head = job["id"] if array is None else str(job["number"])
    with jobcomp.open("a") as stream:
        stream.write(jobcomp_line(head, job["name"], job["state"], job["submit"], job["start"], job["end"],
                                  array, job.get("exit_code") or 0))


def _cancel(data: dict[str, Any], ids: list[str], jobcomp: Path) -> list[str]:
    """Cancel jobs (a bare array id: its tasks); the error lines for ids that cannot be."""
    now = time.time()
    errors = []
    for asked in ids:
        targets = [asked] if asked in data["jobs"] else [j for j, job in data["jobs"].items() if job["array"] == asked]
        if not targets:
            errors.append(f"scancel: error: Kill job error on job id {asked}: Invalid job id specified")
            continue
        for job_id in targets:
            job = data["jobs"][job_id]
            if job["state"] in _ENDED:
                errors.append(f"scancel: error: Kill job error on job id {job_id}: "
                              "Job/step already completing or completed")
                continue
            never_split = job["start"] is None and job["task"] is not None
            job.update(state="CANCELLED", reason="None", end=now, cancelled_by=UID, unlisted=never_split)
            if not never_split:
                _log_end(jobcomp, job)
    for array in {data["jobs"][j]["array"] for j in data["jobs"] if data["jobs"][j]["array"]}:
        tasks = [job for job in data["jobs"].values() if job["array"] == array]
        unsplit = [job for job in tasks if job.get("unlisted")]
        if unsplit and array not in data["arrays_ended"] and not any(job["state"] == "PENDING" for job in tasks):
            # Slurm's record of the array itself, under its bare id, once no task is left pending
            data["arrays_ended"][array] = {"id": array, "array": array, "task": None, "number": int(array),
                                           "name": tasks[0]["name"], "state": "CANCELLED", "reason": "None",
                                           "submit": tasks[0]["submit"], "start": None, "end": now,
                                           "cancelled_by": UID}
            _log_end(jobcomp, data["arrays_ended"][array])
    return errors


def _sbatch(data: dict[str, Any], args: list[str], cluster: str | None) -> tuple[str, str, int]:
    script = Path(args[-1]).read_text()
    options: dict[str, str] = {}
    for line in script.splitlines():
        if line.startswith("#SBATCH "):
            for word in shlex.split(line[len("#SBATCH "):]):
                name, _, value = word.partition("=")
                options[name] = value
    partition = options.get("--partition", data["partitions"][0])
    if partition not in data["partitions"]:
        return "", ("sbatch: error: invalid partition specified: " + partition + "\n"
                    "sbatch: error: Batch job submission failed: Invalid partition name specified\n"), 1
    number = data["next_id"]
    first, _, last = options.get("--array", "").partition("-")
    tasks = range(int(first), int(last or first) + 1) if first else [None]
    now = time.time()
    for task in tasks:
        job_id = str(number) if task is None else f"{number}_{task}"
        data["jobs"][job_id] = {"id": job_id, "number": number if task is None else number + 1 + task,
                                "array": None if task is None else str(number), "task": task,
                                "name": options.get("--job-name", Path(args[-1]).name),
                                "comment": options.get("--comment", ""), "partition": partition,
                                "state": "PENDING", "reason": "None", "submit": now, "start": None, "end": None,
                                "script": args[-1]}
    data["next_id"] = number + len(tasks) + 1   # each array task has a job number of its own
    return f"{number};{cluster}\n" if cluster else f"{number}\n", "", 0


def _squeue_field(job: FakeJob, letter: str) -> str:
    ended = job["end"] is not None
    values = {"i": job["id"], "A": job["array"] or str(job["number"]), "T": job["state"], "r": job["reason"],
              "j": job["name"],
              "k": job.get("comment", ""), "P": job["partition"], "V": stamp(job["submit"]),
              "S": stamp(job["start"], "N/A"), "e": stamp(job["end"]) if ended else
              ("NONE" if job["start"] is not None else "N/A")}
    return values[letter]


def _squeue(data: dict[str, Any], args: list[str], cluster: str | None) -> tuple[str, str, int]:
    fmt, states, name = "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R", "PENDING,RUNNING", None
    for i, arg in enumerate(args):
        if arg in ("--format", "-o"):
            fmt = args[i + 1]
        elif arg.startswith(("--states=", "--name=")):
            key, _, value = arg.partition("=")
            states, name = (value, name) if key == "--states" else (states, value)
    wanted = None if states.lower() == "all" else {_SHORT_STATES.get(s, s) for s in states.upper().split(",")}
    now = time.time()
    lines = [f"CLUSTER: {cluster}"] if cluster else []
    for job in data["jobs"].values():
        if job.get("unlisted") or (job["end"] is not None and now - job["end"] > MIN_JOB_AGE):
            continue
        if (wanted is not None and job["state"] not in wanted) or (name is not None and job["name"] != name):
            continue
        out, i = [], 0
        while i < len(fmt):
            if fmt[i] == "%":
                i += 1
                while fmt[i] in ".0123456789":
                    i += 1
                out.append(_squeue_field(job, fmt[i]))
            else:
                out.append(fmt[i])
            i += 1
        lines.append("".join(out))
    return "".join(f"{line}\n" for line in lines), "", 0


def _sacct(data: dict[str, Any], args: list[str]) -> tuple[str, str, int]:
    if not data["accounting"]:
        return "Slurm accounting storage is disabled\n", "", 0
    fields = args[args.index("--format") + 1].split(",")
    states = {_SHORT_STATES.get(s, s) for s in args[args.index("--state") + 1].split(",")}
    since = time.mktime(time.strptime(args[args.index("--starttime") + 1], "%Y-%m-%dT%H:%M:%S"))
    rows = []
    for job in [*data["jobs"].values(), *data["arrays_ended"].values()]:
        if job.get("unlisted") or job["end"] is None or job["state"] not in states or job["end"] < since:
            continue
        state = f"CANCELLED by {job['cancelled_by']}" if job.get("cancelled_by") is not None else job["state"]
        values = {"JobID": job["id"], "State": state, "Submit": stamp(job["submit"]), "Start": stamp(job["start"]),
                  "End": stamp(job["end"]), "JobName": job["name"], "ExitCode": f"{job.get('exit_code') or 0}:0"}
        rows.append("|".join(values[field] for field in fields))
    return "".join(f"{row}\n" for row in rows), "", 0


def main(command: str, folder: str, argv: list[str]) -> int:
    """The body of each fake command: one call, answered from and recorded in the state file."""
    fake = FakeSlurm(Path(folder), create=False)
    cluster = argv[argv.index("-M") + 1] if "-M" in argv else None
    args = [arg for i, arg in enumerate(argv) if arg != "-M" and (i == 0 or argv[i - 1] != "-M")]
    with fake.changing() as data:
        data["calls"].append([command, *argv])
        if data["down"] and command != "sacct":
            message = {"squeue": f"slurm_load_jobs error: {UNREACHABLE}",
                       "sbatch": f"sbatch: error: Batch job submission failed: {UNREACHABLE}",
                       "scancel": f"scancel: error: Kill job error on job id {' '.join(args)}: {UNREACHABLE}"}
            out, err, code = "", message[command] + "\n", 1
        elif command == "sbatch":
            out, err, code = _sbatch(data, args, cluster)
        elif command == "squeue":
            out, err, code = _squeue(data, args, cluster)
        elif command == "sacct":
            out, err, code = _sacct(data, args)
        else:
            errors = _cancel(data, args, fake.jobcomp)
            out, err, code = "", "".join(f"{line}\n" for line in errors), 1 if errors else 0
    sys.stdout.write(out)
    sys.stderr.write(err)
    return code
