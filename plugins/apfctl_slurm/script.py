"""The batch script of one submission: n pilots as one job array, and the checks of its keys.

Everything the queue configures becomes an ``#SBATCH`` line, so the script alone says what
was asked (it is what ``--dry-run`` shows, and a copy stays in the queue's log folder). The
pilot's environment carries the stamps the Condor backends set (APFCID, APFFID, GTAG, ...),
and the submitting process's own environment is not passed on (``--export=NONE``) unless the
queue's options say otherwise.
"""

from __future__ import annotations

import re
import shlex
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from apfctl.config import shellwords
from apfctl.workers import ID_VARIABLE, WORKER_VARIABLE, WorkerBlock
from apfctl_slurm.tags import Tag

# Slurm's time formats: minutes, minutes:seconds, hours:minutes:seconds, days-hours,
# days-hours:minutes, days-hours:minutes:seconds; 0 or UNLIMITED for none.
_TIME = re.compile(r"\d+(:\d{1,2}){0,2}|\d+-\d+(:\d{1,2}){0,2}|UNLIMITED|INFINITE", re.IGNORECASE)
_MEMORY = re.compile(r"\d+[KMGT]?", re.IGNORECASE)
_OPTION = re.compile(r"--([a-z][a-z0-9-]*)(=.*)?", re.DOTALL)
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# options apfctl sets itself (the stamps, the array, the log files), and those that have keys
RESERVED = {"array": None, "job-name": None, "comment": None, "output": None, "error": None,
            "parsable": None, "wrap": None, "clusters": "slurm.cluster", "partition": "partition",
            "account": "account", "time": "time", "mem": "memory", "cpus-per-task": "cores"}


def check_time(text: str) -> str | None:
    if _TIME.fullmatch(text.strip()):
        return None
    return ("is not a Slurm time limit: use minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS "
            "or UNLIMITED")


def check_memory(text: str) -> str | None:
    if _MEMORY.fullmatch(text.strip()):
        return None
    return "is not a Slurm memory size: a number of megabytes, or with a K, M, G or T suffix"


def parse_options(text: str, prefix: str) -> list[str]:
    """The extra sbatch options, each ``--name=value`` or ``--flag``; ValueError says why not."""
    try:
        tokens = shellwords.split(text)
    except ValueError as exc:
        raise ValueError(f"cannot be split like a shell command line: {exc}") from None
    for token in tokens:
        match = _OPTION.fullmatch(token)
        if match is None or "\n" in token:
            raise ValueError(f"{token!r} is not --name=value or --flag (write --qos=normal, not -q normal)")
        owner = RESERVED.get(match.group(1), "")
        if owner is None:
            raise ValueError(f"--{match.group(1)} is set by apfctl itself")
        if owner:
            key = owner if owner.startswith("slurm.") else f"{prefix}.{owner}"
            raise ValueError(f"--{match.group(1)} has its own key: set {key}")
    return tokens


def parse_environ(text: str) -> dict[str, str]:
    """APF's ``environ``: space-separated ``VAR=value`` (shell quoting allowed)."""
    try:
        items = shellwords.split(text)
    except ValueError as exc:
        raise ValueError(f"cannot be split like a shell command line: {exc}") from None
    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not _VARIABLE.fullmatch(name):
            raise ValueError(f"{item!r} is not VAR=value")
        pairs[name] = value
    return pairs


def _directive(option: str) -> str:
    """One ``#SBATCH`` line; a value is always double-quoted (sbatch reads ``\\`` and ``\\"`` in it).

    Unquoted, a ``#`` or a space would end the value early; backslashes are escaped before
    the double quotes so that an escape added here is never escaped again.
    """
    name, sep, value = option.partition("=")
    if sep:
        value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"#SBATCH {name}{sep}{value}"


@dataclass
class BatchScript:
    """What one ``sbatch`` of n pilots asks for."""

    tag: Tag
    pilots: int
    log_dir: Path
    log_url: str | None
    executable: str
    arguments: list[str]
    resources: Mapping[str, str]             # sbatch option name -> value (partition, time, ...)
    options: list[str] = field(default_factory=list)
    environ: Mapping[str, str] = field(default_factory=dict)
    monitor_url: str | None = None
    factory_user: str | None = None
    workers: WorkerBlock | None = None      # array task i is worker workers.first + i

    def directives(self) -> list[str]:
        folder = str(self.log_dir).replace("%", "%%")   # a literal % in Slurm's file name patterns
        options = [f"--job-name={self.tag.job_name()}", f"--comment={self.tag.comment()}",
                   f"--array=0-{self.pilots - 1}",
                   f"--output={folder}/%A_%a.out", f"--error={folder}/%A_%a.err"]
        if not any(option.startswith("--export") for option in self.options):
            options.append("--export=NONE")
        options += [f"--{name}={value}" for name, value in self.resources.items()]
        options += self.options
        return [_directive(option) for option in options]

    def environment(self) -> list[str]:
        fixed = {"APFFID": self.tag.factory, "PANDA_JSID": self.tag.factory, "FACTORYQUEUE": self.tag.queue,
                 "APFCTL_CYCLE": self.tag.cycle}
        if self.monitor_url:
            fixed["APFMON"] = self.monitor_url
        if self.factory_user:
            fixed["FACTORYUSER"] = self.factory_user
        lines = [f"export {name}={shlex.quote(value)}" for name, value in fixed.items()]
        lines.append('export APFCID="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"')
        lines.append(f'export FACTORY_JOBID={shlex.quote(socket.gethostname())}"#$APFCID"')
        if self.workers is not None:
            lines.append(f"export {ID_VARIABLE}={shlex.quote(self.workers.harvester)}")
            lines.append(f'export {WORKER_VARIABLE}="$(({self.workers.first} + SLURM_ARRAY_TASK_ID))"')
        if self.log_url:
            lines.append(f'export GTAG={shlex.quote(self.log_url)}"/$APFCID.out"')
        lines += [f"export {name}={shlex.quote(value)}" for name, value in self.environ.items()]
        return lines

    def text(self) -> str:
        header = [
            "#!/bin/bash",
            *self.directives(),
            f"# apfctl: {self.pilots} pilot(s) of queue {self.tag.queue!r}, factory {self.tag.factory!r}, "
            f"cycle {self.tag.cycle!r}",   # repr: a line break in it cannot end the comment
        ]
        command = shlex.join([self.executable, *self.arguments])
        return "\n".join([*header, *self.environment(), f"exec {command}", ""])
