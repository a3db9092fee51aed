"""Slurm's client commands as a queue configures them, and running them.

A factory may drive a remote cluster through its client tools: ``slurm.bindir`` says where
they are (default: PATH), ``slurm.<command>`` replaces one of them (a wrapper script, say),
and ``slurm.cluster`` adds ``-M <cluster>`` to every call. The same keys serve the submit
and the status plugin, so a queue sets them once.

Every call is made once (no retries: a failing cluster is reported in the record, and the
next cycle tries again) with a timeout, in an environment that pins the output formats.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from apfctl.bounded import run_command
from apfctl.config.keys import Key
from apfctl.config.model import QueueConfig
from apfctl.errors import BackendError

COMMANDS = ("sbatch", "squeue", "sacct", "scancel")

KEYS: dict[str, Key] = {
    "slurm.bindir": Key("path", None, doc="folder of Slurm's client commands (default: found on PATH)"),
    "slurm.cluster": Key("str", None, doc="cluster to address with -M (default: the local cluster)"),
    "slurm.timeout": Key("float", 60.0, minimum=1, doc="seconds one Slurm command may take"),
    **{f"slurm.{command}": Key("command", None, doc=f"the {command} command to run (default: bindir/{command})")
       for command in COMMANDS},
}

# Output that apfctl parses must not depend on the operator's environment.
_PINNED_ENV = {"SLURM_TIME_FORMAT": "standard", "LC_ALL": "C"}
# Every input variable of the four commands (SBATCH_PARTITION, SQUEUE_FORMAT, SACCT_FORMAT, ...)
# would change what they submit, list or cancel; SLURM_CLUSTERS would redirect all of them.
_UNSET_PREFIXES = tuple(f"{command.upper()}_" for command in COMMANDS)
_UNSET_NAMES = ("SLURM_CLUSTERS",)


def clean_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without the variables that change Slurm's commands, with the pinned formats."""
    env = {k: v for k, v in environ.items() if not k.startswith(_UNSET_PREFIXES) and k not in _UNSET_NAMES}
    env.update(_PINNED_ENV)
    return env


@dataclass(frozen=True)
class SlurmCommands:
    """Where Slurm's commands are and which cluster they address; hashable (an endpoint)."""

    paths: tuple[tuple[str, str], ...]   # (command, path or bare name for a PATH lookup)
    cluster: str | None
    timeout: float

    @classmethod
    def from_queue(cls, queue: QueueConfig) -> SlurmCommands:
        bindir = queue.typed("slurm.bindir", KEYS["slurm.bindir"])
        paths = []
        for command in COMMANDS:
            override = queue.typed(f"slurm.{command}", KEYS[f"slurm.{command}"])
            paths.append((command, override or (str(Path(bindir) / command) if bindir else command)))
        return cls(tuple(paths), queue.typed("slurm.cluster", KEYS["slurm.cluster"]),
                   queue.typed("slurm.timeout", KEYS["slurm.timeout"]))

    def path(self, command: str) -> str:
        return dict(self.paths)[command]

    def argv(self, command: str, *args: str) -> list[str]:
        cluster = ["-M", self.cluster] if self.cluster else []
        return [self.path(command), *cluster, *args]

    def run(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a Slurm command once; BackendError if it cannot be started or does not answer.

        A non-zero exit is returned, not raised: callers judge Slurm's message themselves.
        Bytes that are not UTF-8 (a job name, a site's message) become U+FFFD instead of
        a UnicodeDecodeError, so the parsers report them like any other odd output. On
        time-out the command's whole process group is killed (a wrapper's children too).
        """
        argv = self.argv(command, *args)
        env = clean_environment(os.environ)
        try:
            return run_command(argv, env=env, timeout=self.timeout)
        except FileNotFoundError:
            raise BackendError(f"{command} not found ({self._where(command)})") from None
        except PermissionError:
            raise BackendError(f"{argv[0]} is not executable ({self._where(command)})") from None
        except subprocess.TimeoutExpired:
            raise BackendError(f"{command} did not answer within {self.timeout:g} s and was killed with its "
                               f"children (slurm.timeout; is slurmctld{self._on_cluster()} up?)") from None

    def _where(self, command: str) -> str:
        path = self.path(command)
        if os.sep not in path:
            return f"not on PATH; set slurm.bindir or slurm.{command}"
        return f"{path}, from slurm.bindir or slurm.{command}"

    def _on_cluster(self) -> str:
        return f" of cluster {self.cluster}" if self.cluster else ""

    def fail(self, command: str, result: subprocess.CompletedProcess[str], hint: str = "") -> BackendError:
        """A BackendError carrying Slurm's own message."""
        lines = [re.sub(rf"^{command}: (error: )?", "", " ".join(line.split()))
                 for line in (result.stderr or result.stdout).splitlines() if line.strip()]
        message = "; ".join(lines) or f"exit code {result.returncode}"
        return BackendError(f"{command} failed{self._on_cluster()}: {message}{hint}")


def check_paths(queue: QueueConfig) -> list[str]:
    """Configured command paths that do not exist (config-time; PATH lookups are left to run time)."""
    problems = []
    bindir = queue.typed("slurm.bindir", KEYS["slurm.bindir"])
    if bindir and not Path(bindir).is_dir():
        problems.append(f"slurm.bindir: {bindir} is not a folder")
    for command in COMMANDS:
        override = queue.typed(f"slurm.{command}", KEYS[f"slurm.{command}"])
        if override and shutil.which(override) is None:
            problems.append(f"slurm.{command}: {override} is not an executable command")
    return problems
