"""The Slurm backend's readers and writers on Slurm's real formats, without a cluster."""

from __future__ import annotations

import fcntl
import subprocess
import threading
import time
from pathlib import Path

import pytest
from apfctl_slurm import history, journal
from apfctl_slurm.commands import SlurmCommands
from apfctl_slurm.jobs import categorize, parse_squeue
from apfctl_slurm.script import BatchScript, check_memory, check_time
from apfctl_slurm.tags import Tag, parse_job_name
from apfctl_slurm.testing import canned_command, jobcomp_line


@pytest.mark.parametrize("queue", ["BNL_ATLAS_1", "ANALY SITE:odd%20/x", "ünïcode"])
def test_stamps_survive_the_job_name(queue: str) -> None:
    tag = Tag("factory:1", queue, "20261125T060000Z-3f2a")
    name = tag.job_name()
    assert " " not in name and name.count(":") == 3
    assert parse_job_name(name) == tag


def test_a_typed_pilot_carries_its_resource_type() -> None:
    tag = Tag("f", "Q:1", "20261125T060000Z-3f2a", "MCORE_HIMEM")
    assert tag.job_name() == "apf:f:Q%3A1:20261125T060000Z-3f2a:MCORE_HIMEM"
    assert tag.comment().endswith(",APF_RESOURCETYPE=MCORE_HIMEM")
    assert parse_job_name(tag.job_name()) == tag


@pytest.mark.parametrize("name", ["wrap", "apf:only:three", "apf:a:b:c:d", "apf:a:b:c:D E", "apf:a:b:c:d:e",
                                  "allocation", ""])
def test_other_jobs_are_not_pilots(name: str) -> None:
    assert parse_job_name(name) is None


@pytest.mark.parametrize(("state", "reason", "category"), [
    ("PENDING", "Resources", "pending"), ("CONFIGURING", "None", "pending"),
    ("PENDING", "JobHeldUser", "held"), ("PENDING", "JobHeldAdmin", "held"), ("SUSPENDED", "None", "held"),
    ("RUNNING", "None", "running"), ("COMPLETING", "None", "exiting"), ("COMPLETED", "None", "done"),
    ("FAILED", "NonZeroExitCode", "fault"), ("CANCELLED by 0", "", "fault"), ("TIMEOUT", "TimeLimit", "fault"),
    ("NODE_FAIL", "", "fault"), ("OUT_OF_MEMORY", "", "fault"), ("BOOT_FAIL", "", "fault"),
    ("PREEMPTED", "", "fault"), ("SOMETHING_NEW", "", "pending"),
])
def test_slurm_states_map_to_designs_table(state: str, reason: str, category: str) -> None:
    assert categorize(state, reason) == category


def test_squeue_lines_with_the_name_last() -> None:
    name = Tag("f", "Q|1", "c").job_name()
    text = (f"12_3|RUNNING|None|2026-11-25T06:24:45|2026-11-25T06:24:46|NONE|{name}\n"
            f"12_4|PENDING|BeginTime|2026-11-25T06:24:45|2026-11-25T07:24:45|NONE|{name}\n"
            "13|RUNNING|None|2026-11-25T06:24:45|N/A|N/A|somebody|else's|job\n"
            "CLUSTER: apflocal\n")
    jobs = parse_squeue(text)
    assert [(job.id, job.tag.queue, job.category) for job in jobs] == [("12_3", "Q|1", "running"),
                                                                      ("12_4", "Q|1", "pending")]
    assert jobs[0].start is not None and jobs[0].end is None and jobs[0].walltime == 0.0


@pytest.mark.parametrize("good", ["30", "0", "5:00", "1:30:00", "2-0", "2-12:00", "1-00:00:00", "UNLIMITED"])
def test_time_limits_slurm_accepts(good: str) -> None:
    assert check_time(good) is None


@pytest.mark.parametrize("bad", ["2h", "1 hour", "1:2:3:4", "-5", "1-", "", "90m"])
def test_time_limits_slurm_refuses(bad: str) -> None:
    assert "not a Slurm time limit" in (check_time(bad) or "")


def test_memory_sizes() -> None:
    assert check_memory("2000") is None and check_memory("4G") is None
    assert check_memory("4 GB") is not None and check_memory("lots") is not None


def _jobcomp_line(job_id: int, name: str, state: str, end: float, array: tuple[int, int] | None = None) -> str:
    return jobcomp_line(str(job_id), name, state, end - 10, end - 10, end,
                        (str(array[0]), str(array[1])) if array else None)


def test_the_completion_log_is_read_backwards_only_as_far_as_needed(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history, "_BLOCK", 97)            # lines straddle many block boundaries
    now = time.time()
    name = Tag("f", "Q", "c").job_name()
    lines = [_jobcomp_line(1, name, "COMPLETED", now - 7200)]        # outside the window
    lines += [_jobcomp_line(10 + i, name, "COMPLETED", now - 1000 + i, array=(9, i)) for i in range(30)]
    lines += [_jobcomp_line(50, "wrap", "FAILED", now - 5), _jobcomp_line(51, name, "TIMEOUT", now - 1)]
    log = tmp_path / "jobcomp.log"
    log.write_text("".join(lines))
    jobs = history.jobcomp(log, now - 3600)
    assert sorted(job.id for job in jobs) == sorted(["51", *(f"9_{i}" for i in range(30))])
    timeout = next(job for job in jobs if job.id == "51")
    assert (timeout.state, timeout.category, timeout.walltime) == ("TIMEOUT", "fault", 10.0)


def test_an_unreadable_completion_log_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(history.BackendError, match=r"batchstatus\.slurm\.jobcomp"):
        history.jobcomp(tmp_path / "missing.log", 0.0)


def test_the_journal_keeps_recent_cancels_and_drops_old_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = journal.journal_path(tmp_path, "my cluster")
    journal.record(path, ["5_1", "5_2"], now=time.time() - 30 * 86400)
    journal.record(path, ["7_0"])
    assert journal.retired_ids(path) == {"5_1", "5_2", "7_0"}
    monkeypatch.setattr(journal, "_PRUNE_AT", 10)
    journal.record(path, ["8_0"])
    assert journal.retired_ids(path) == {"7_0", "8_0"}
    assert journal.retired_ids(tmp_path / "nothing.txt") == set()


def test_reading_the_journal_waits_for_a_prune_in_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = journal.journal_path(tmp_path, None)
    journal.record(path, ["1_0", "2_0"])
    asked = threading.Event()
    real_flock = fcntl.flock

    def flock(stream: object, operation: int) -> None:
        if operation == fcntl.LOCK_SH:
            asked.set()
        real_flock(stream, operation)

    monkeypatch.setattr(journal.fcntl, "flock", flock)
    found: list[set[str]] = []
    with path.open("r+", encoding="ascii") as pruning:
        real_flock(pruning, fcntl.LOCK_EX)
        text = pruning.read()
        pruning.seek(0)
        pruning.truncate()                      # the middle of _prune: the file is empty
        reader = threading.Thread(target=lambda: found.append(journal.retired_ids(path)))
        reader.start()
        assert asked.wait(10), "retired_ids read without taking the shared lock"
        pruning.write(text)
        pruning.flush()
        real_flock(pruning, fcntl.LOCK_UN)
    reader.join(10)
    assert found == [{"1_0", "2_0"}]


def test_batch_script_escapes_and_options(tmp_path: Path) -> None:
    script = BatchScript(Tag("fid", "Q", "c1"), 3, tmp_path / "100%" / "Q", "http://x/logs", "/bin/pilot",
                         ["-s", "a b"], {"time": "10:00"}, ["--export=ALL", '--constraint=x "y"'],
                         {"EXTRA": "it's"}).text()
    assert f'#SBATCH --output="{tmp_path}/100%%/Q/%A_%a.out"' in script
    assert '#SBATCH --export="NONE"' not in script and '#SBATCH --export="ALL"' in script
    assert '#SBATCH --constraint="x \\"y\\""' in script
    assert '#SBATCH --array="0-2"' in script and '#SBATCH --time="10:00"' in script
    assert "export EXTRA='it'\"'\"'s'" in script
    assert script.rstrip().endswith("exec /bin/pilot -s 'a b'")


def test_directive_values_are_always_quoted_backslash_first(tmp_path: Path) -> None:
    script = BatchScript(Tag("fid", "Q", "c1"), 1, tmp_path, None, "/bin/pilot", [], {},
                         ["--constraint=a#b", "--comment-free=x\\\"y", "--exclusive"]).text()
    assert '#SBATCH --constraint="a#b"' in script
    assert '#SBATCH --comment-free="x\\\\\\"y"' in script     # x\"y: backslash doubled, then \"
    assert "#SBATCH --exclusive\n" in script


def test_the_cycle_id_cannot_break_out_of_its_comment(tmp_path: Path) -> None:
    cycle = f"c1\ntouch {tmp_path}/pwned #"
    script = BatchScript(Tag("fid", "Q", cycle), 1, tmp_path, None, "/bin/true", [], {}).text()
    comment = next(line for line in script.splitlines() if line.startswith("# apfctl:"))
    assert comment.endswith(f"cycle {cycle!r}")
    path = tmp_path / "job.sh"
    path.write_text(script)
    subprocess.run(["bash", str(path)], check=True, timeout=30)
    assert not (tmp_path / "pwned").exists()


def _sacct(tmp_path: Path, output: str) -> SlurmCommands:
    """A stand-in sacct that prints what Slurm 22.05 printed here (tests need no cluster)."""
    return SlurmCommands((("sacct", str(canned_command(tmp_path, "sacct", output))),), None, 10.0)


def test_sacct_lines_and_an_arrays_own_record(tmp_path: Path) -> None:
    name = Tag("f", "Q", "c").job_name()
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now))
    commands = _sacct(tmp_path, f"5_0|COMPLETED|{stamp}|{stamp}|{stamp}|{name}\n"
                                f"5_1|CANCELLED by 0|{stamp}|{stamp}|{stamp}|{name}\n"
                                f"6_[0-1]|CANCELLED by 0|{stamp}|Unknown|{stamp}|{name}\n"
                                f"7|COMPLETED|{stamp}|{stamp}|{stamp}|allocation\n")
    jobs = history.sacct(commands, now - 60)
    assert [(job.id, job.state, job.category) for job in jobs] == [
        ("5_0", "COMPLETED", "done"), ("5_1", "CANCELLED", "fault"), ("6", "CANCELLED", "fault")]
    assert jobs[2].walltime == 0.0


def test_sacct_without_accounting(tmp_path: Path) -> None:
    with pytest.raises(history.AccountingDisabled):
        history.sacct(_sacct(tmp_path, "Slurm accounting storage is disabled\n"), 0.0)


def test_history_modes_without_accounting(tmp_path: Path) -> None:
    disabled = _sacct(tmp_path, "Slurm accounting storage is disabled\n")
    log = tmp_path / "jobcomp.log"
    assert history.ended_jobs(disabled, "auto", log, 0.0) == []                 # no log here: squeue only
    log.write_text(_jobcomp_line(3, Tag("f", "Q", "c").job_name(), "FAILED", time.time()))
    assert [job.id for job in history.ended_jobs(disabled, "auto", log, 0.0)] == ["3"]
    assert [job.id for job in history.ended_jobs(disabled, "jobcomp", log, 0.0)] == ["3"]
    assert history.ended_jobs(disabled, "squeue", log, 0.0) == []
    with pytest.raises(history.BackendError, match=r"batchstatus\.slurm\.history = sacct"):
        history.ended_jobs(disabled, "sacct", log, 0.0)
