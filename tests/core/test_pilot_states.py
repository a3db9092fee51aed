"""One pilot-state vocabulary: every backend's table maps into it, and the batch section counts it."""

from __future__ import annotations

import itertools

import pytest
from apfctl_condor.states import IN_QUEUE, BadAttribute, aggregate
from apfctl_local.status import ENDED, LOST, STATES
from apfctl_slurm.jobs import STATES as SLURM_STATES
from apfctl_slurm.jobs import categorize

from apfctl.interfaces import BatchCounts, Finished
from apfctl.record import BATCH_COUNTS
from apfctl.record.states import IN_QUEUE as QUEUED
from apfctl.record.states import PilotState, batch_counts


def test_the_batch_section_counts_exactly_the_pilot_states() -> None:
    counts = BatchCounts(pending=1, held=2, running=3, exiting=4,
                         finished=[Finished(10, 5, "done"), Finished(10, 1, "fault"), Finished(10, 1, "removed"),
                                   Finished(1, 1, "done")])
    section = batch_counts(counts, since=5)
    assert tuple(section) == BATCH_COUNTS
    assert section == {"pending": 1, "held": 2, "running": 3, "exiting": 4, "done_1h": 1, "fault_1h": 1}


def test_condor_table_counts_only_jobs_in_the_queue() -> None:
    assert set(IN_QUEUE.values()) == set(QUEUED)
    ads = [{"MATCH_APF_QUEUE": "Q", "JobStatus": status} for status in range(8)] + [
        {"MATCH_APF_QUEUE": "Q", "JobStatus": None}]
    counts = aggregate(ads, [], ["Q"])["Q"]
    assert (counts.pending, counts.running, counts.held, counts.exiting) == (2, 1, 1, 1)
    # a status of the wrong type is no state: an error that names the attribute, never a guess
    with pytest.raises(BadAttribute, match="JobStatus"):
        aggregate([{"MATCH_APF_QUEUE": "Q", "JobStatus": "2"}], [], ["Q"])


def test_slurm_table_and_hold_reasons() -> None:
    assert set(SLURM_STATES.values()) == set(PilotState)
    assert {state: categorize(state) for state in SLURM_STATES} == SLURM_STATES
    assert categorize("PENDING", "JobHeldAdmin") is PilotState.HELD
    assert categorize("CANCELLED by 0") is PilotState.FAULT
    assert categorize("A_STATE_FROM_2030") is PilotState.PENDING   # counted, never lost


def test_local_table_covers_every_case_of_a_pilot_file() -> None:
    assert set(STATES) == set(itertools.product((False, True), repeat=3))
    assert set(STATES.values()) == {PilotState.PENDING, PilotState.RUNNING, PilotState.EXITING, LOST, ENDED}
