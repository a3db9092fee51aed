"""Slurm batch status against the local cluster: every pilot state, one squeue for all queues."""

from __future__ import annotations

import subprocess
import time

import pytest
from apfctl_slurm import history
from apfctl_slurm.batchstatus import DEFAULT_JOBCOMP

from apfctl.stages.submit import Submitter
from tests.slurm.slurm_helpers import LOCAL, Site, accounting_on, records, wait_for

pytestmark = pytest.mark.slurm

QUEUES = {
    "SL_PEND": {"batchsubmit.slurm.options": "--begin=now+3600"},
    "SL_HELD": {"batchsubmit.slurm.options": "--hold"},
    "SL_RUN": {"executable.arguments": "300 0"},
    "SL_DONE": {},
    "SL_FAIL": {"executable.arguments": "0 3"},
    "SL_CANCEL": {"executable.arguments": "300 0"},
    "SL_RETIRED": {"executable.arguments": "300 0", "batchsubmit.slurm.overlay.peaceful": "False"},
    "SL_DROPPED": {"sched.fixed.pilotspercycle": "2", "batchsubmit.slurm.options": "--begin=now+3600"},
}


def _counting(site: Site, command: str) -> str:
    """A wrapper that logs each call of a Slurm command, then runs it."""
    wrapper = site.folder / f"counting-{command}"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {site.folder}/{command}.calls\nexec {command} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def test_status_sees_every_state_with_one_squeue_for_all_queues(site: Site) -> None:
    site.write(QUEUES)
    submitted = records(site.apfctl("cycle", "--all"))
    assert all(r["submission"]["submitted"] >= 1 for r in submitted.values()), submitted

    wait_for(lambda: site.states("SL_RUN") and set(site.states("SL_RUN").values()) == {"RUNNING"}
             and set(site.states("SL_RETIRED").values()) == {"RUNNING"}
             and set(site.states("SL_CANCEL").values()) == {"RUNNING"}, what="pilots to run")
    subprocess.run(["scancel", *site.states("SL_CANCEL")], check=True)          # someone else cancels
    submitter = Submitter(site.loaded(), None)
    assert submitter.plugin("SL_RETIRED").retire(1).ids == list(site.states("SL_RETIRED"))  # the factory retires
    assert len(submitter.plugin("SL_DROPPED").retire(2).ids) == 2
    ended = {"SL_DONE": "COMPLETED", "SL_FAIL": "FAILED", "SL_CANCEL": "CANCELLED", "SL_RETIRED": "CANCELLED",
             "SL_DROPPED": "CANCELLED"}
    wait_for(lambda: all(set(site.states(q).values()) == {s} for q, s in ended.items()), what="pilots to end")

    squeue, sacct = _counting(site, "squeue"), _counting(site, "sacct")
    site.write({name: {**values, "slurm.squeue": squeue, "slurm.sacct": sacct} for name, values in QUEUES.items()})
    result = site.apfctl("status", "--all")
    assert result.returncode == 0, result.stderr
    batch = {queue: record["batch"] for queue, record in records(result).items()}
    seen = {queue: (b["pending"], b["held"], b["running"], b["done_1h"], b["fault_1h"]) for queue, b in batch.items()}
    assert seen == {
        "SL_PEND": (1, 0, 0, 0, 0),
        "SL_HELD": (0, 1, 0, 0, 0),
        "SL_RUN": (0, 0, 1, 0, 0),
        "SL_DONE": (0, 0, 0, 1, 0),
        "SL_FAIL": (0, 0, 0, 0, 1),
        "SL_CANCEL": (0, 0, 0, 0, 1),
        "SL_RETIRED": (0, 0, 0, 0, 0),   # the factory's own removal is neither done nor fault
        "SL_DROPPED": (0, 0, 0, 0, 0),   # ... also of pilots that never started
    }
    assert batch["SL_HELD"]["held_reasons"] == [{"code": None, "subcode": None, "count": 1, "example": "JobHeldUser"}]
    assert batch["SL_RUN"]["factory_total"] == 2       # pending + running over the cluster's queues
    assert len((site.folder / "squeue.calls").read_text().splitlines()) == 1
    assert len((site.folder / "sacct.calls").read_text().splitlines()) == 1


def test_history_sources_read_the_pilots_that_ended(site: Site) -> None:
    site.write({"SL_HIST": {"sched.fixed.pilotspercycle": "2"}, "SL_HISTFAIL": {"executable.arguments": "0 7"}})
    since = time.time() - 5
    assert site.apfctl("cycle", "--all").returncode == 0
    wait_for(lambda: len(site.jobs()) == 3 and all(j.category in ("done", "fault") for j in site.jobs()),
             what="pilots to end")

    def mine(jobs: list) -> dict[str, str]:
        return {job.id: job.state for job in jobs if job.tag.factory == site.factory_id}

    expected = {job.id: job.state for job in site.jobs()}
    assert wait_for(lambda: mine(history.jobcomp(history.Path(DEFAULT_JOBCOMP), since)) == expected,
                    what="the completion log to list the pilots")
    if accounting_on():
        assert wait_for(lambda: mine(history.sacct(LOCAL, since)) == expected, what="sacct to list the pilots")
        for job in history.sacct(LOCAL, since):
            if job.tag.factory == site.factory_id:
                assert job.end is not None and job.start is not None and job.end >= since
    else:
        with pytest.raises(history.AccountingDisabled):
            history.sacct(LOCAL, since)
