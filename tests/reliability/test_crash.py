"""Crash consistency: kill -9 at chosen and at random moments, state that vanishes, is replaced or emptied.

Each fault is made real (a process killed with SIGKILL, a folder removed under a running
cycle, a ledger truncated) and the invariants are read from the fake Slurm's jobs and the
ledger: no pilot twice, no claim left "submitting", the ledger readable, the next run heals.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.reliability.reliability_helpers import Factory, no_traceback
from tests.support import wait_for

FIXED = {"schedplugin": "Fixed", "sched.fixed.pilotspercycle": "2"}


def kill(process: subprocess.Popen[str]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)


def decided_record(factory: Factory, queue: str) -> str:
    status = factory.run("status", "-q", queue)
    decided = factory.run("decide", stdin=status.stdout)
    assert decided.returncode == 0, decided.stderr
    return decided.stdout


def test_a_claim_left_by_a_killed_submit_is_released_when_the_batch_system_has_no_pilots(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": dict(FIXED)})
    flag = factory.hold_sbatch("RQ_A")
    record = decided_record(factory, "RQ_A")
    cycle = json.loads(record)["cycle"]
    (tmp_path / "record.jsonl").write_text(record)
    process = factory.start("submit", str(tmp_path / "record.jsonl"))
    wait_for(lambda: flag.with_name(flag.name + ".started").exists(), what="sbatch to start")
    kill(process)
    assert factory.claims()[("RQ_A", cycle)] == ("submitting", 0)
    flag.with_name(flag.name + ".abort").touch()   # the held sbatch gives up without submitting
    flag.with_name(flag.name + ".hold").unlink()
    factory.queues["RQ_A"].pop("slurm.sbatch")
    factory.write()

    again = factory.run("submit", str(tmp_path / "record.jsonl"))
    no_traceback(again)
    assert again.returncode == 0, again.stderr
    assert "none of its pilots: claim released" in again.stderr
    assert factory.pilots()[("RQ_A", cycle)] == 2
    assert factory.claims()[("RQ_A", cycle)] == ("submitted", 2)
    assert factory.run("submit", str(tmp_path / "record.jsonl")).returncode == 0
    assert factory.pilots()[("RQ_A", cycle)] == 2   # and never twice


def test_a_claim_left_after_the_batch_system_took_the_pilots_is_recorded_as_submitted(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": dict(FIXED)})
    flag = factory.hold_sbatch("RQ_A")
    script = Path(factory.queues["RQ_A"]["slurm.sbatch"])
    real = factory.slurm.bindir / "sbatch"
    # submit first, then hang: the process dies between the batch system's answer and the ledger's
    script.write_text(f'#!/bin/sh\n"{real}" "$@"\ntouch "{flag}.started"\nwhile true; do sleep 0.05; done\n')
    (tmp_path / "record.jsonl").write_text(decided_record(factory, "RQ_A"))
    cycle = json.loads((tmp_path / "record.jsonl").read_text())["cycle"]
    process = factory.start("submit", str(tmp_path / "record.jsonl"))
    wait_for(lambda: flag.with_name(flag.name + ".started").exists(), what="sbatch to submit")
    kill(process)
    assert factory.pilots()[("RQ_A", cycle)] == 2
    assert factory.claims()[("RQ_A", cycle)][0] == "submitting"

    factory.queues["RQ_A"].pop("slurm.sbatch")
    factory.write()
    healed = factory.run("cycle", "--all")
    no_traceback(healed)
    assert "has 2 of its pilots: recorded as submitted" in healed.stderr
    assert factory.claims()[("RQ_A", cycle)] == ("submitted", 2)
    assert factory.run("submit", str(tmp_path / "record.jsonl")).returncode == 0
    assert factory.pilots()[("RQ_A", cycle)] == 2


def test_the_records_of_a_killed_cycle_reach_history(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": dict(FIXED), "RQ_B": dict(FIXED)})
    flag = factory.hold_sbatch("RQ_B")
    process = factory.start("cycle", "--all")
    wait_for(lambda: flag.with_name(flag.name + ".started").exists(), what="sbatch of RQ_B to start")
    kill(process)
    flag.with_name(flag.name + ".abort").touch()
    flag.with_name(flag.name + ".hold").unlink()
    history = factory.run("history", "--since", "1h")
    assert history.returncode == 0, history.stderr
    records = {r["queue"]: r for r in map(json.loads, history.stdout.splitlines())}
    assert set(records) == {"RQ_A", "RQ_B"}
    assert records["RQ_A"]["submission"]["submitted"] == 2   # stored as soon as it was submitted
    assert records["RQ_B"]["decision"]["pilots"] == 2 and "submission" not in records["RQ_B"]


def test_a_state_folder_removed_under_a_running_cycle_is_reported(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": dict(FIXED)})
    flag = factory.hold_sbatch("RQ_A")
    process = factory.start("cycle", "--all")
    wait_for(lambda: flag.with_name(flag.name + ".started").exists(), what="sbatch to start")
    shutil.rmtree(factory.state)
    flag.with_name(flag.name + ".hold").unlink()
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    assert "was deleted while apfctl had it open" in err
    assert "Traceback" not in err
    record = json.loads(out)
    assert record["submission"]["submitted"] == 2 and "was deleted" in record["submission"]["error"]


def test_a_ledger_replaced_under_a_running_cycle_is_reported(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": dict(FIXED)})
    assert factory.run("cycle", "--all").returncode == 0
    flag = factory.hold_sbatch("RQ_A")
    process = factory.start("cycle", "--all")
    wait_for(lambda: flag.with_name(flag.name + ".started").exists(), what="sbatch to start")
    ledger = factory.state / "ledger.sqlite"
    shutil.copy(ledger, tmp_path / "copy.sqlite")
    os.replace(tmp_path / "copy.sqlite", ledger)
    flag.with_name(flag.name + ".hold").unlink()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "was replaced by another file" in err


def test_an_emptied_ledger_is_reported_and_never_replaced(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": dict(FIXED)})
    assert factory.run("cycle", "--all").returncode == 0
    ledger = factory.state / "ledger.sqlite"
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{ledger}{suffix}")
        if path.exists():
            path.write_bytes(b"")
    result = factory.run("cycle", "--all")
    no_traceback(result)
    assert result.returncode == 2
    assert "is empty (0 bytes)" in result.stderr
    assert ledger.stat().st_size == 0
    assert not factory.pilots() or sum(factory.pilots().values()) == 2   # nothing submitted blind


def _mount_tmpfs(folder: Path) -> bool:
    """A 64 KB tmpfs at ``folder`` (root, where mounts are allowed); False when there cannot be one."""
    folder.mkdir()
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                          capture_output=True).returncode == 0


def _fill(folder: Path) -> None:
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:   # full: what the test wants
        pass
    finally:
        os.close(fd)


def test_a_full_disk_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    factory = Factory(tmp_path, {"RQ_A": dict(FIXED)})
    full = tmp_path / "full"
    if _mount_tmpfs(full):
        try:
            _fill(full)
            factory.state = full / "state"
            result = factory.run("cycle", "--all")
        finally:
            subprocess.run(["umount", "-l", str(full)], check=False)
        no_traceback(result)
        assert result.returncode != 0
        assert "no space left" in result.stderr
        assert not factory.pilots()
        return
    # not root, or no mount allowed (a container): the same error, injected where SQLite meets it
    import sqlite3

    from apfctl.errors import LedgerError
    from apfctl.ledger import Ledger

    def full_disk(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(sqlite3, "connect", full_disk)
    with pytest.raises(LedgerError, match="no space left on its file system"):
        Ledger(tmp_path / "new-state")


def test_kill_9_at_random_moments_of_cycles_never_duplicates_and_always_heals(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": dict(FIXED), "RQ_B": dict(FIXED)})
    chance = random.Random(13)
    for _ in range(6):
        process = factory.start("cycle", "--all")
        try:
            process.communicate(timeout=chance.uniform(0.2, 1.5))
        except subprocess.TimeoutExpired:
            kill(process)
        assert factory.integrity() == "ok"
    healed = factory.run("cycle", "--all")
    no_traceback(healed)
    assert healed.returncode == 0, healed.stderr
    claims = factory.claims()
    assert not [key for key, (state, _) in claims.items() if state == "submitting"]
    for key, count in factory.pilots().items():
        assert claims[key] == ("submitted", count), key   # every pilot is claimed once, none twice
        assert count == 2
    assert factory.run("cycle", "--all").returncode == 0   # no lock or claim left stuck
