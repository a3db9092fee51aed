"""Builders for the Slurm tests: a factory on disk whose queues submit to the local cluster.

Every :class:`Site` has its own factory id, so pilots of other tests (and of earlier runs,
which ``squeue`` keeps listing for MinJobAge) never count in its queues.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from apfctl_slurm.commands import SlurmCommands
from apfctl_slurm.jobs import Job, squeue

from apfctl.config.loader import Loaded, load
from tests import support

REPO = Path(__file__).resolve().parents[2]
HOW_TO_RUN = ("the Slurm integration tests need the project's local Slurm: run them as root "
              "(`sudo make test`, which runs scripts/slurm-local.sh first), or start it with "
              "`sudo make slurm-up`")

# A pilot: prints its environment's stamps, sleeps $1 seconds, exits with $2.
PILOT = """#!/bin/sh
env | grep -E '^(APF[A-Z]*|FACTORY[A-Z_]*|GTAG|PANDA_JSID|LEAKED|EXTRA)=' | sort
sleep "${1:-0}"
exit "${2:-0}"
"""

LOCAL = SlurmCommands((("sbatch", "sbatch"), ("squeue", "squeue"), ("sacct", "sacct"), ("scancel", "scancel")),
                      None, 30.0)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def slurm_problem() -> str | None:
    """Why the local cluster cannot run pilots now, or None."""
    try:
        ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=30)
        node = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        return "Slurm's commands are not installed"
    except subprocess.TimeoutExpired:
        return "Slurm's controller does not answer"
    if " is UP" not in ping.stdout:
        return f"slurmctld is not up ({(ping.stdout + ping.stderr).strip()})"
    if node.stdout.strip() not in ("idle", "mixed", "allocated", "completing"):
        return f"the node is not usable (sinfo says {node.stdout.strip() or node.stderr.strip()!r})"
    return None


def start_slurm() -> str | None:
    """Start the local cluster if it is not up and we may (root); why it is unusable, or None."""
    problem = slurm_problem()
    if problem and os.geteuid() == 0:
        try:
            started = subprocess.run(["bash", str(REPO / "scripts" / "slurm-local.sh")], capture_output=True,
                                     text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"cannot run scripts/slurm-local.sh: {exc}"
        if started.returncode != 0:
            return "scripts/slurm-local.sh failed: " + (started.stderr.strip().splitlines() or ["?"])[-1]
        problem = slurm_problem()
    return problem


def how_to_fix(euid: int | None = None) -> str:
    """What to do about an unusable cluster: as root, running as root is no advice."""
    if (os.geteuid() if euid is None else euid) == 0:
        return ("scripts/slurm-local.sh ran as root and the cluster is still unusable: a foreign "
                "/etc/slurm/slurm.conf or another slurmctld may be in the way (see docs/slurm.md)")
    return HOW_TO_RUN


def require_slurm(problem: str | None) -> None:
    """Skip (or, under CI, fail) a test that needs the cluster when it is unusable."""
    if problem:
        if in_ci():
            pytest.fail(f"CI: {problem}", pytrace=False)
        pytest.skip(f"{problem}; {how_to_fix()}")


def accounting_on() -> bool:
    config = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, timeout=30).stdout
    return "accounting_storage/slurmdbd" in config


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll the cluster (every 0.2 s: Slurm's own commands are the cost)."""
    return support.wait_for(predicate, timeout, what, step=0.2)


class Site:
    """A factory in a folder: its config files, state, logs and pilot script."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.factory_id = f"t-{secrets.token_hex(4)}"
        self.state = folder / "state"
        self.logs = folder / "logs"
        self.pilot = folder / "pilot.sh"
        self.pilot.write_text(PILOT)
        self.pilot.chmod(0o755)
        self.config = folder / "apfctl.conf"

    def write(self, queues: Mapping[str, Mapping[str, str]], name: str = "queues.conf") -> Path:
        """Queue sections (on top of Slurm defaults) and the factory file naming them."""
        lines = ["[DEFAULT]", "enabled = True", "wmsstatusplugin = None", "batchstatusplugin = Slurm",
                 "batchsubmitplugin = Slurm", "schedplugin = Fixed", "sched.fixed.pilotspercycle = 1",
                 f"executable = {self.pilot}", "executable.arguments = 0 0", ""]
        for queue, values in queues.items():
            lines += [f"[{queue}]", *(f"{key} = {value}" for key, value in values.items()), ""]
        (self.folder / name).write_text("\n".join(lines))
        self.config.write_text(f"[Factory]\nfactoryId = {self.factory_id}\nbaseLogDir = {self.logs}\n"
                               f"baseLogDirUrl = http://logs.invalid/f\nqueueConf = {name}\n")
        return self.config

    def loaded(self) -> Loaded:
        return load(str(self.config), self.state)

    def apfctl(self, *args: str, stdin: str | None = None, env: Mapping[str, str] | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "APFCTL_CONFIG": str(self.config), "APFCTL_STATE_DIR": str(self.state),
                    "CONDOR_CONFIG": "/dev/null", **(env or {})}
        return subprocess.run([sys.executable, "-m", "apfctl", *args], input=stdin, capture_output=True,
                              text=True, env=full_env, timeout=timeout)

    def jobs(self, queue: str | None = None) -> list[Job]:
        """This factory's pilots that squeue lists (ended ones within MinJobAge included)."""
        return [job for job in squeue(LOCAL) if job.tag.factory == self.factory_id
                and (queue is None or job.tag.queue == queue)]

    def states(self, queue: str) -> dict[str, str]:
        return {job.id: job.state for job in self.jobs(queue)}

    def cancel_all(self) -> None:
        live = [job.id for job in self.jobs() if job.category not in ("done", "fault")]
        if live:
            subprocess.run(["scancel", *live], capture_output=True, timeout=30)


def records(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    """apfctl's JSON Lines output by queue."""
    return {record["queue"]: record for record in map(json.loads, result.stdout.splitlines())}
