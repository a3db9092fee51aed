"""A factory on a fake Slurm and a File WMS, and apfctl as a subprocess, for the fault-injection tests.

The fake Slurm (``apfctl_slurm.testing.FakeSlurm``) keeps its jobs in one JSON file, so a
test can count every pilot of every (queue, cycle) after a fault: the invariants are read
from there and from the ledger, never from apfctl's own output.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

from apfctl_slurm.tags import parse_job_name
from apfctl_slurm.testing import FakeSlurm

APFCTL = [sys.executable, "-m", "apfctl"]

# An sbatch that says it started (touches <flag>.started), waits while <flag>.hold exists, then
# submits, or fails without submitting if <flag>.abort exists (an sbatch that died with apfctl).
HOLDING_SBATCH = """#!/bin/sh
touch "{flag}.started"
while [ -e "{flag}.hold" ]; do sleep 0.05; done
[ -e "{flag}.abort" ] && exit 1
exec "{real}" "$@"
"""


class Factory:
    """Config files, state folder, a fake Slurm and a File WMS document in one folder."""

    def __init__(self, folder: Path, queues: dict[str, dict[str, str]] | None = None,
                 ready: int = 5, factory_extra: str = "") -> None:
        self.folder = folder
        self.state = folder / "state"
        self.slurm = FakeSlurm(folder / "slurm")
        self.wms = folder / "wms.json"
        self.config = folder / "apfctl.conf"
        self.queues = queues or {"RQ_A": {}}
        self.write_wms(dict.fromkeys(self.queues, ready))
        self.write(factory_extra)

    def write_wms(self, ready: dict[str, object]) -> None:
        self.wms.write_text(json.dumps({name: {"ready": value} for name, value in ready.items()}))

    def write(self, factory_extra: str = "") -> None:
        sections = []
        for name, extra in self.queues.items():
            keys = {"enabled": "True", "wmsstatusplugin": "File", "wmsstatus.file.path": str(self.wms),
                    "batchstatusplugin": "Slurm", "batchsubmitplugin": "Slurm", "schedplugin": "Ready",
                    "executable": "/bin/true", **self.slurm.queue_keys(history="squeue"), **extra}
            sections.append(f"[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in keys.items()))
        (self.folder / "queues.conf").write_text("\n".join(sections))
        self.config.write_text(textwrap.dedent(f"""\
            [Factory]
            factoryId = rel-factory
            baseLogDir = {self.folder / 'logs'}
            queueConf = queues.conf
            """) + factory_extra)

    def env(self) -> dict[str, str]:
        return dict(os.environ, APFCTL_CONFIG=str(self.config), APFCTL_STATE_DIR=str(self.state),
                    CONDOR_CONFIG="/dev/null")

    def run(self, *args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*APFCTL, *args], input=stdin, capture_output=True, text=True, env=self.env(),
                              timeout=timeout)

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([*APFCTL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.env(), start_new_session=True)

    def hold_sbatch(self, queue: str) -> Path:
        """Make the queue's sbatch wait (until the returned flag's ``.hold`` file goes)."""
        flag = self.folder / f"sbatch-{queue}"
        script = self.folder / f"sbatch-{queue}.sh"
        script.write_text(HOLDING_SBATCH.format(flag=flag, real=self.slurm.bindir / "sbatch"))
        script.chmod(0o755)
        flag.with_name(flag.name + ".hold").touch()
        self.queues[queue]["slurm.sbatch"] = str(script)
        self.write()
        return flag

    # -- invariants ------------------------------------------------------------------------
    def pilots(self) -> Counter[tuple[str, str]]:
        """Pilots in the batch system per (queue, cycle)."""
        counts: Counter[tuple[str, str]] = Counter()
        for job in self.slurm.jobs().values():
            tag = parse_job_name(job["name"])
            if tag is not None and tag.factory == "rel-factory":
                counts[(tag.queue, tag.cycle)] += 1
        return counts

    def ledger(self) -> sqlite3.Connection:
        return sqlite3.connect(self.state / "ledger.sqlite")

    def claims(self) -> dict[tuple[str, str], tuple[str, int]]:
        """(queue, cycle) -> (state, number of ids) of the ledger's submissions."""
        with self.ledger() as db:
            return {(q, c): (s, len(json.loads(i))) for q, c, s, i in
                    db.execute("SELECT queue, cycle, state, ids FROM submissions")}

    def integrity(self) -> str:
        with self.ledger() as db:
            return db.execute("PRAGMA integrity_check").fetchone()[0]


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1, 2), (result.returncode, result.stderr)
