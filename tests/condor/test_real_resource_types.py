"""A unified queue's SCORE and MCORE pilots on the real factory pool's schedd (``scripts/condor-pools.sh``).

status, decide and submit run in process on the real schedd: the typed pilots' ads carry
their size (``RequestCpus``, ``RequestMemory``) and their type (``ApfctlResourceType``), the
Condor batch status counts them per type, the same cycle submits nothing twice, and
retiring one type leaves the other. The pilots carry ``requirements = False`` so they stay
idle (their sizes are what is looked at); the test's jobs are removed after (``real``).
"""

from __future__ import annotations

import json

import pytest

from apfctl.ledger import Ledger
from apfctl.record import new_cycle_id
from apfctl.stages.decide import Decider
from apfctl.stages.status import collect
from apfctl.stages.submit import Submitter
from tests.condor.condor_helpers import NEVER, batch, loaded, real_section

pytestmark = pytest.mark.condor_pool

UCORE = NEVER + "resourcetypes = SCORE, MCORE\ncorecount = 4\nmaxrss = 8000\nsched.fixed.pilotspercycle = 2\n"


def test_unified_queue_pilots_get_their_size_and_type_on_the_real_schedd_and_retire_per_type(real):
    queue = real.queue("UCORE")
    ld = loaded(real.folder, real_section(queue, real.pilot(0), body=UCORE))
    [status] = collect(ld, [queue])
    status["cycle"] = new_cycle_id()
    decided = Decider(ld).decide(status)
    assert {rt: (t["pilots"], t["cores"], t["memory"]) for rt, t in decided["decision"]["types"].items()} == {
        "SCORE": (2, 1, 2000), "MCORE": (2, 4, 8000)}
    with Ledger(ld.context.state_dir) as ledger:
        done = Submitter(ld, ledger).submit(json.loads(json.dumps(decided)))
        again = Submitter(ld, ledger).submit(json.loads(json.dumps(decided)))
    section = done["submission"]
    assert section["error"] is None and section["submitted"] == 4
    assert {rt: len(t["ids"]) for rt, t in section["types"].items()} == {"SCORE": 2, "MCORE": 2}
    assert all(t["submitted"] == 0 for t in again["submission"]["types"].values())   # the same cycle: once

    ads = real.jobs(projection=["ClusterId", "ProcId", "ApfctlResourceType", "RequestCpus", "RequestMemory"])
    sizes = sorted((ad["ApfctlResourceType"], ad["RequestCpus"], ad["RequestMemory"]) for ad in ads)
    assert sizes == [("MCORE", 4, 8000)] * 2 + [("SCORE", 1, 2000)] * 2
    by_type = {rt: sorted(t["ids"]) for rt, t in section["types"].items()}
    assert sorted(f"{ad['ClusterId']}.{ad['ProcId']}" for ad in ads if ad["ApfctlResourceType"] == "MCORE") \
        == by_type["MCORE"]

    counts = batch(ld, queue)
    assert counts["pending"] == 4
    assert counts["types"] == {"SCORE": {"pending": 2, "held": 0, "running": 0, "exiting": 0},
                               "MCORE": {"pending": 2, "held": 0, "running": 0, "exiting": 0}}

    retire = json.loads(json.dumps(decided))
    retire["cycle"] = new_cycle_id()
    retire["decision"]["types"]["MCORE"]["pilots"] = -2
    retire["decision"]["types"]["SCORE"]["pilots"] = 0
    retire["decision"]["pilots"] = -2
    with Ledger(ld.context.state_dir) as ledger:
        retired = Submitter(ld, ledger).submit(retire)["submission"]
    assert retired["types"]["MCORE"]["retired"] == 2 and retired["types"]["SCORE"]["retired"] == 0
    assert sorted(retired["types"]["MCORE"]["ids"]) == by_type["MCORE"]
    left = real.jobs("JobStatus == 1", ["ApfctlResourceType"])
    assert sorted(ad["ApfctlResourceType"] for ad in left) == ["SCORE", "SCORE"]
    assert batch(ld, queue)["types"] == {"SCORE": {"pending": 2, "held": 0, "running": 0, "exiting": 0}}
