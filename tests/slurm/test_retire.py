"""Retirement on the local cluster: pilots that have not started go first, running ones only
when the queue is not peaceful, newest or oldest first as killorder says."""

from __future__ import annotations

import json
import time

import pytest

from apfctl.interfaces import BatchSubmitPlugin
from apfctl.stages.submit import Submitter
from tests.slurm.slurm_helpers import Site, records, wait_for

pytestmark = pytest.mark.slurm

LATER = {"batchsubmit.slurm.options": "--begin=now+3600"}   # pilots that stay pending


def live(site: Site, queue: str) -> dict[str, str]:
    """Pilots not ended (Slurm keeps a cancelled array's own record under its bare id)."""
    return {job.id: job.state for job in site.jobs(queue) if job.category not in ("done", "fault")}


def plugin(site: Site, queue: str, values: dict[str, str]) -> BatchSubmitPlugin:
    site.write({queue: {"executable.arguments": "300 0", **values}})
    return Submitter(site.loaded(), None).plugin(queue)


def test_retire_cancels_pending_first_and_spares_running_when_peaceful(site: Site) -> None:
    running = plugin(site, "SL_R", {}).submit(1, "20261125T000000Z-0001").ids
    wait_for(lambda: site.states("SL_R") == {running[0]: "RUNNING"}, what="the first pilot to run")
    peaceful = plugin(site, "SL_R", LATER)
    pending = peaceful.submit(3, "20261125T000000Z-0002").ids

    dry = peaceful.retire(2, dry_run=True)
    assert dry.ids == [pending[2], pending[1]] and "scancel" in (dry.description or "")
    assert len(site.jobs("SL_R")) == 4

    assert peaceful.retire(2).ids == [pending[2], pending[1]]          # newest first
    assert peaceful.retire(5).ids == [pending[0]]                      # the running one is spared
    wait_for(lambda: live(site, "SL_R") == {running[0]: "RUNNING"}, what="only the running pilot to be left")
    assert peaceful.retire(1).ids == []

    assert plugin(site, "SL_R", {"batchsubmit.slurm.overlay.peaceful": "False"}).retire(1).ids == running
    wait_for(lambda: live(site, "SL_R") == {}, what="the running pilot to be cancelled")
    assert site.states("SL_R")[running[0]] == "CANCELLED"


def test_killorder_oldest_cancels_the_earliest_pilots(site: Site) -> None:
    oldest = plugin(site, "SL_O", {**LATER, "batchsubmit.slurm.overlay.killorder": "oldest"})
    first = oldest.submit(2, "20261125T000000Z-0001").ids
    second = oldest.submit(2, "20261125T000000Z-0002").ids
    assert oldest.retire(3).ids == [*first, second[0]]
    wait_for(lambda: live(site, "SL_O") == {second[1]: "PENDING"}, what="one pending pilot to be left")


def test_apfctl_submit_retires_on_a_negative_decision(site: Site) -> None:
    pending = plugin(site, "SL_NEG", LATER).submit(3, "20261125T000000Z-0001").ids
    record = {"apfctl": 1, "queue": "SL_NEG", "cycle": "20261125T000000Z-0002",
              "decision": {"pilots": -2, "msg": "test", "trace": []}}
    result = site.apfctl("submit", stdin=json.dumps(record) + "\n")
    assert result.returncode == 0, result.stderr
    submission = records(result)["SL_NEG"]["submission"]
    assert submission["retired"] == 2 and submission["ids"] == [pending[2], pending[1]]


def test_apfctl_clean_cancels_held_and_stale_pilots(site: Site) -> None:
    site.write({"SL_HOLD": {"batchsubmit.slurm.options": "--hold"},
                "SL_STALE": {**LATER, "batchsubmit.slurm.clean.stale.idle": "1"},
                "SL_FRESH": LATER})
    assert site.apfctl("cycle", "--all").returncode == 0
    wait_for(lambda: time.time() - min(job.submit or 0 for job in site.jobs()) > 2, what="pilots to be 2 s old")

    dry = site.apfctl("clean", "--no-logs", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert sorted(json.loads(line)["what"] for line in dry.stdout.splitlines()) == ["remove_held", "remove_stale"]
    assert len(site.jobs()) == 3

    result = site.apfctl("clean", "--no-logs")
    assert result.returncode == 0, result.stderr
    actions = {(a["queue"], a["what"]): a for a in map(json.loads, result.stdout.splitlines())}
    assert set(actions) == {("SL_HOLD", "remove_held"), ("SL_STALE", "remove_stale")}
    assert all(a["succeeded"] == 1 for a in actions.values())
    wait_for(lambda: {job.tag.queue for job in site.jobs() if job.category == "pending"} == {"SL_FRESH"}
             and not any(job.category == "held" for job in site.jobs()), what="held and stale pilots to go")
    status = records(site.apfctl("status", "--all"))
    assert all(record["batch"]["fault_1h"] == 0 for record in status.values())   # the factory's own removals
