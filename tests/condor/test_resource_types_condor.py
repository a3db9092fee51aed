"""HTCondor per resource type (fake schedd): request_cpus/request_memory, the type attribute,
finding, retiring and counting per type."""

from __future__ import annotations

import time

from apfctl_condor.batchstatus import CondorBatchStatus
from condor_helpers import loaded, queue_section, submit_plugin

from apfctl.interfaces import PilotRequest

CYCLE = "20261201T060000Z-0a0a"
MCORE = PilotRequest("MCORE", 8, 16000)
SCORE = PilotRequest("SCORE", 1, 2000)


def test_typed_pilots_request_their_size_and_carry_their_type(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("BNL", body="""
        executable.arguments = -q BNL --resource-type {resourcetype}
        batchsubmit.condorlocal.condor_attributes.request_cpus = 1
        """))
    plugin = submit_plugin(ld, "BNL")
    text = plugin.for_type(MCORE).submit(2, CYCLE, dry_run=True).description
    lines = text.splitlines()
    assert lines[-4:] == ['+ApfctlResourceType = "MCORE"', "request_cpus = 8", "request_memory = 16000", "queue 2"]
    assert "arguments = -q BNL --resource-type MCORE" in lines
    assert "APFCTL_RESOURCE_TYPE=MCORE APFCTL_CORES=8 APFCTL_MEMORY=16000" in text
    assert "ApfctlResourceType" not in plugin.submit(1, CYCLE, dry_run=True).description   # untyped as before

    typed = plugin.for_type(MCORE)
    assert typed.submit(2, CYCLE).ids == ["1.0", "1.1"]
    assert plugin.for_type(SCORE).submit(3, CYCLE).ids == ["2.0", "2.1", "2.2"]
    ad = pool.schedd().jobs[(1, 0)]
    assert (ad["ApfctlResourceType"], ad["RequestCpus"], ad["RequestMemory"]) == ("MCORE", 8, 16000)
    assert typed.find_submitted(CYCLE) == ["1.0", "1.1"]            # per (queue, type, cycle)
    assert plugin.for_type(SCORE).find_submitted(CYCLE) == ["2.0", "2.1", "2.2"]
    assert plugin.find_submitted(CYCLE) == ["1.0", "1.1", "2.0", "2.1", "2.2"]

    status = CondorBatchStatus(CondorBatchStatus.endpoint(ld.queue("BNL"), ld.context), ld.context)
    counts = status.query([ld.queue("BNL")], time.time() - 3600)["BNL"]
    assert counts.pending == 5
    assert counts.types == {"MCORE": {"pending": 2, "held": 0, "running": 0, "exiting": 0},
                            "SCORE": {"pending": 3, "held": 0, "running": 0, "exiting": 0}}

    assert typed.retire(5).ids == ["1.0", "1.1"]                   # only MCORE pilots go
    assert sorted(pool.schedd().ids()) == ["2.0", "2.1", "2.2"]


def test_htcondor_ce_and_arc_get_their_flavours_size_words(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("CE", plugin="CondorCE", body="""
        batchsubmit.condorce.gridresource = ce01.example.org
        batchsubmit.condorce.condor_attributes.+xcount = 1
        """) + queue_section("ARC", plugin="CondorARC", body="""
        batchsubmit.condorarc.gridresource = arc01.example.org
        """))
    ce = submit_plugin(ld, "CE").for_type(MCORE).submit(1, CYCLE, dry_run=True).description.splitlines()
    assert ce[-6:] == ['+ApfctlResourceType = "MCORE"', "request_cpus = 8", "request_memory = 16000",
                       "+xcount = 8", "+maxMemory = 16000", "queue 1"]   # after the queue's static +xcount
    arc = submit_plugin(ld, "ARC").for_type(MCORE).submit(1, CYCLE, dry_run=True).description.splitlines()
    assert arc[-4:] == ['+ApfctlResourceType = "MCORE"', "request_cpus = 8", "request_memory = 2000", "queue 1"]
