"""Against a real HTCondor pool: run where ``condor_q`` is on PATH and APFCTL_TEST_SCHEDD names a schedd.

APFCTL_TEST_SCHEDD is ``local`` for the local schedd, or a schedd name located through the
collector in APFCTL_TEST_COLLECTOR (default: the pool's own). Pilots are submitted on hold
(``hold = True``) so nothing runs, and every test removes what it submitted.
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest

from tests.condor.condor_helpers import loaded, queue_section, submit_plugin

# The suite's conftest points CONDOR_CONFIG at /dev/null; a real pool needs the real one.
REAL_CONDOR_CONFIG = os.environ.get("CONDOR_CONFIG")
SCHEDD = os.environ.get("APFCTL_TEST_SCHEDD")

pytestmark = [
    pytest.mark.condor_pool,
    pytest.mark.skipif(shutil.which("condor_q") is None or not SCHEDD,
                       reason="needs condor_q on PATH and APFCTL_TEST_SCHEDD naming a schedd"),
]


@pytest.fixture
def real_pool(monkeypatch):
    if REAL_CONDOR_CONFIG and REAL_CONDOR_CONFIG != "/dev/null":
        monkeypatch.setenv("CONDOR_CONFIG", REAL_CONDOR_CONFIG)
    else:
        monkeypatch.delenv("CONDOR_CONFIG", raising=False)
    if SCHEDD in ("local", "localhost"):
        return ""
    collector = os.environ.get("APFCTL_TEST_COLLECTOR", "")
    return (f"batchstatus.condor.scheddhost = {SCHEDD}\n"
            + (f"batchstatus.condor.collectorhost = {collector}\n" if collector else ""))


def test_submit_status_find_and_clean_on_a_real_schedd(tmp_path, real_pool):
    from apfctl_condor.batchstatus import CondorBatchStatus

    queue = f"APFCTL_TEST_{uuid.uuid4().hex[:8]}"   # unique: other runs' pilots never count
    body = real_pool + "batchsubmit.condorlocal.condor_attributes = hold = True\n"
    ld = loaded(tmp_path, queue_section(queue, body=body))
    plugin = submit_plugin(ld, queue)
    cycle = "20261125T060000Z-test"
    result = plugin.submit(2, cycle)
    try:
        assert len(result.ids) == 2
        assert sorted(plugin.find_submitted(cycle)) == sorted(result.ids)
        status = CondorBatchStatus(CondorBatchStatus.endpoint(ld.queue(queue), ld.context), ld.context)
        counts = status.query([ld.queue(queue)], 0)[queue]
        assert counts.held == 2 and counts.pending == 0
    finally:
        actions = plugin.clean(dry_run=False)
    assert sorted(actions[0]["ids"]) == sorted(result.ids)
