"""The pilot states, named once: what the batch section counts, whatever the backend.

Every backend maps its own job states onto these six with a table written beside its code
(``apfctl_condor/states.py``, ``apfctl_slurm/jobs.py``, ``apfctl_local/pilotstate.py``), in the
manner of TARDIS's ``dronestates.py``: one row per native state, so that a reader sees at
once where each of them goes.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apfctl.interfaces import BatchCounts, Finished


class PilotState(StrEnum):
    PENDING = "pending"   # waiting to start (idle, queued)
    HELD = "held"         # stopped by the batch system or the CE: will not start by itself
    RUNNING = "running"
    EXITING = "exiting"   # ending: counted neither as running nor as done
    DONE = "done"         # ended well (exit code 0)
    FAULT = "fault"       # ended badly, or removed by someone other than the factory


# The states of pilots still in the batch queue: the batch section's counts of the same names.
IN_QUEUE = (PilotState.PENDING, PilotState.HELD, PilotState.RUNNING, PilotState.EXITING)
# The states a pilot ends in: the batch section counts them over the last hour (``done_1h``, ``fault_1h``).
ENDED = (PilotState.DONE, PilotState.FAULT)


def batch_counts(counts: BatchCounts, since: float) -> dict[str, int]:
    """The batch section's counts: pilots per state in the queue, and per end state since ``since``."""
    section = {state.value: getattr(counts, state.value) for state in IN_QUEUE}
    section.update(ended_since(counts.finished, since))
    return section


def ended_since(finished: Iterable[Finished], since: float) -> dict[str, int]:
    """``done_1h`` and ``fault_1h``: pilots that ended after ``since``, by end state (``removed`` is neither)."""
    ended = dict.fromkeys((f"{state.value}_1h" for state in ENDED), 0)
    for pilot in finished:
        if pilot.end >= since and pilot.outcome != "removed":
            ended[f"{pilot.outcome}_1h"] += 1
    return ended
