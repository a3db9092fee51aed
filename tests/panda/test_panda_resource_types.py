"""Per-resource-type counts from PanDA's detailed statistics, served by a local HTTP server."""

from __future__ import annotations

from pathlib import Path

import pytest
from apfctl_panda import api, testkit
from apfctl_panda.counts import BadCounts, per_type_site_counts
from apfctl_panda.wmsstatus import Panda
from pytest_httpserver import HTTPServer

from apfctl.errors import BackendError
from tests.panda.panda_helpers import context, queue

TYPES = "SCORE, MCORE, SCORE_HIMEM, MCORE_HIMEM"


def run(queues, tmp_path: Path):
    ctx = context(tmp_path)
    (endpoint,) = {Panda.endpoint(q, ctx) for q in queues}
    return Panda(endpoint, ctx).query(queues)


def serve(httpserver: HTTPServer) -> str:
    testkit.serve_panda(httpserver, testkit.unified_detailed(), {"BNL_UCORE": "online", "IDLE_UCORE": "online"})
    return httpserver.url_for("/").rstrip("/")


def test_unified_queue_gets_counts_per_type_beside_the_totals(httpserver: HTTPServer, tmp_path: Path):
    url = serve(httpserver)
    got = run([queue("BNL", wmsqueue="BNL_UCORE", wmsstatus_panda_baseurl=url, resourcetypes=TYPES)], tmp_path)["BNL"]
    assert got["types"] == {
        "SCORE": {"ready": 320, "notready": 0, "running": 815, "done": 40, "failed": 3},
        "MCORE": {"ready": 45, "notready": 6, "running": 120, "done": 0, "failed": 0},   # merging ignored
        "SCORE_HIMEM": {"ready": 7, "notready": 0, "running": 3, "done": 0, "failed": 0},
        "MCORE_HIMEM": {"ready": 0, "notready": 1, "running": 0, "done": 0, "failed": 0},
    }
    for field in ("ready", "notready", "running", "done", "failed"):   # the totals are the sums
        assert got[field] == sum(counts[field] for counts in got["types"].values())
    assert testkit.fetches(httpserver) == {api.SITE_SPECS: 1, api.DETAILED_JOB_STATS: 1}


def test_types_the_queue_does_not_serve_are_left_out_and_labels_apply(httpserver: HTTPServer, tmp_path: Path):
    url = serve(httpserver)
    got = run([queue("BNL", wmsqueue="BNL_UCORE", wmsstatus_panda_baseurl=url, resourcetypes="SCORE, MCORE",
                     wmsstatus_panda_labels="managed")], tmp_path)["BNL"]
    assert set(got["types"]) == {"SCORE", "MCORE"}
    assert got["types"]["SCORE"]["ready"] == 300 and got["types"]["SCORE"]["running"] == 805


def test_apf_style_sections_share_one_fetch_and_each_sees_its_type(httpserver: HTTPServer, tmp_path: Path):
    url = serve(httpserver)
    queues = [queue(f"BNL-{rt}", wmsqueue="BNL_UCORE", wmsstatus_panda_baseurl=url, resourcetype=rt)
              for rt in ("SCORE", "MCORE")]
    queues += [queue(f"PLAIN{i}", wmsqueue="BNL_UCORE", wmsstatus_panda_baseurl=url) for i in range(50)]
    got = run(queues, tmp_path)
    assert got["BNL-MCORE"]["types"] == {"MCORE": {"ready": 45, "notready": 6, "running": 120, "done": 0,
                                                   "failed": 0}}
    assert "types" not in got["PLAIN0"] and got["PLAIN0"]["ready"] == got["BNL-SCORE"]["ready"] == 372
    # typed queues add no query: one detailed fetch for all of them, one summary for the others
    assert testkit.fetches(httpserver) == {api.SITE_SPECS: 1, api.JOB_STATS: 1, api.DETAILED_JOB_STATS: 1}


def test_known_site_without_jobs_gets_zeros_for_each_type(httpserver: HTTPServer, tmp_path: Path):
    url = serve(httpserver)
    got = run([queue("IDLE", wmsqueue="IDLE_UCORE", wmsstatus_panda_baseurl=url, resourcetypes="SCORE, MCORE")],
              tmp_path)["IDLE"]
    assert got["types"] == {rt: {"ready": 0, "notready": 0, "running": 0, "done": 0, "failed": 0}
                            for rt in ("SCORE", "MCORE")}


@pytest.mark.parametrize(("stats", "words"), [
    ({"SCORE": ["activated", 3]}, "BNL_UCORE.SCORE is not an object of labels"),
    ({"SCORE": {"managed": {"activated": -3}}}, "BNL_UCORE.SCORE.managed.activated is -3"),
    ({"SCORE": {"managed": {"activated": "3"}}}, "is '3', not a count"),
    ({"MCORE": {"managed": {"running": 2.5}}}, "BNL_UCORE.MCORE.managed.running is 2.5"),
])
def test_malformed_per_type_counts_fail_that_queue_only(httpserver: HTTPServer, tmp_path: Path, stats, words):
    detailed = {"BNL_UCORE": stats, "OTHER": {"SCORE": {"managed": {"activated": 1}}}}
    httpserver.expect_request(api.DETAILED_JOB_STATS).respond_with_json(testkit.envelope(detailed))
    httpserver.expect_request(api.SITE_SPECS).respond_with_json(
        testkit.envelope(testkit.site_specs({"BNL_UCORE": "online", "OTHER": "online"})))
    url = httpserver.url_for("/").rstrip("/")
    got = run([queue("BAD", wmsqueue="BNL_UCORE", wmsstatus_panda_baseurl=url, resourcetypes="SCORE, MCORE"),
               queue("GOOD", wmsqueue="OTHER", wmsstatus_panda_baseurl=url, resourcetypes="SCORE, MCORE")], tmp_path)
    assert isinstance(got["BAD"], BackendError) and words in str(got["BAD"])
    assert got["GOOD"]["types"]["SCORE"]["ready"] == 1


def test_per_type_parse_refuses_a_site_that_is_not_an_object():
    with pytest.raises(BadCounts, match="S is not an object of resource types"):
        per_type_site_counts([1, 2], "S", None, ("SCORE",))
