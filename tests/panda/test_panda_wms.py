"""The Panda wmsstatus plugin against a local HTTP server answering in PanDA's v1 formats."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from apfctl_panda import api, testkit
from apfctl_panda.wmsstatus import Panda
from pytest_httpserver import HTTPServer

from apfctl.errors import BackendError
from tests.panda.panda_helpers import context, make_ca, make_server_cert, queue, server_context

FAST = {"wmsstatus_panda_retries": "0", "wmsstatus_panda_timeout": "5"}


def run(queues, tmp_path: Path):
    """What the status stage does: one instance per endpoint, one query per instance."""
    ctx = context(tmp_path)
    groups: dict = {}
    for q in queues:
        groups.setdefault(Panda.endpoint(q, ctx), []).append(q)
    results = {}
    for endpoint, members in groups.items():
        results.update(Panda(endpoint, ctx).query(members))
    return results, len(groups)


def base(server: HTTPServer) -> str:
    return server.url_for("/").rstrip("/")


def test_counts_are_mapped_as_apf_did_and_status_comes_from_site_specs(httpserver: HTTPServer, tmp_path: Path):
    testkit.serve_panda(httpserver)
    url = base(httpserver)
    names = ["BNL_PROD", "CERN_TEST", "MWT2_OFF", "IDLE_SITE", "SWT2_BROKEROFF", "AGLT2_UCORE"]
    results, instances = run([queue(f"Q-{n}", wmsqueue=n, wmsstatus_panda_baseurl=url) for n in names], tmp_path)

    assert instances == 1
    # BNL_PROD summed over labels (rc_test included) and resource types; merging ignored.
    assert results["Q-BNL_PROD"] == {"queue": "BNL_PROD", "ready": 152, "notready": 8, "running": 48,
                                     "done": 30, "failed": 3, "status": "online"}
    assert results["Q-CERN_TEST"]["ready"] == 6 and results["Q-CERN_TEST"]["status"] == "test"
    assert results["Q-MWT2_OFF"]["status"] == "offline"
    assert results["Q-SWT2_BROKEROFF"]["status"] == "brokeroff"
    # Known to PanDA, no active job: absent from the statistics, so zeros (the truth).
    assert results["Q-IDLE_SITE"] == {"queue": "IDLE_SITE", "ready": 0, "notready": 0, "running": 0,
                                      "done": 0, "failed": 0, "status": "online"}
    # "closed" is not one of APF's statuses.
    assert results["Q-AGLT2_UCORE"]["ready"] == 7 and results["Q-AGLT2_UCORE"]["done"] == 0
    assert testkit.fetches(httpserver) == {api.SITE_SPECS: 1, api.JOB_STATS: 1}


def test_unknown_site_fails_only_that_queue(httpserver: HTTPServer, tmp_path: Path):
    testkit.serve_panda(httpserver)
    url = base(httpserver)
    results, _ = run([queue("typo", wmsqueue="BNL_PRDO", wmsstatus_panda_baseurl=url),
                      queue("good", wmsqueue="BNL_PROD", wmsstatus_panda_baseurl=url)], tmp_path)
    assert isinstance(results["typo"], BackendError)
    assert "unknown PanDA site 'BNL_PRDO'" in str(results["typo"])
    assert results["good"]["ready"] == 152


def test_labels_and_resource_types_restrict_through_the_detailed_endpoint(httpserver: HTTPServer,
                                                                         tmp_path: Path):
    testkit.serve_panda(httpserver)
    url = base(httpserver)
    results, instances = run([
        queue("all", wmsqueue="BNL_PROD", wmsstatus_panda_baseurl=url),
        queue("managed", wmsqueue="BNL_PROD", wmsstatus_panda_baseurl=url, wmsstatus_panda_labels="managed"),
        queue("mcore", wmsqueue="BNL_PROD", wmsstatus_panda_baseurl=url,
              wmsstatus_panda_resourcetypes="MCORE"),
        queue("rctest", wmsqueue="CERN_TEST", wmsstatus_panda_baseurl=url,
              wmsstatus_panda_labels="rc_test, ptest"),
    ], tmp_path)
    assert instances == 1
    assert results["all"]["ready"] == 152
    assert results["managed"]["ready"] == 150 and results["managed"]["running"] == 47
    assert results["mcore"] == {"queue": "BNL_PROD", "ready": 30, "notready": 5, "running": 3, "done": 0,
                                "failed": 0, "status": "online"}
    assert results["rctest"]["ready"] == 6 and results["rctest"]["notready"] == 1
    assert testkit.fetches(httpserver) == {api.SITE_SPECS: 1, api.JOB_STATS: 1, api.DETAILED_JOB_STATS: 1}


def test_one_fetch_per_endpoint_for_100_queues(httpserver: HTTPServer, tmp_path: Path):
    testkit.serve_panda(httpserver)
    url = base(httpserver)
    sites = list(testkit.realistic_statuses())
    queues = [queue(f"Q{i:03d}", wmsqueue=sites[i % len(sites)], wmsstatus_panda_baseurl=url) for i in range(100)]
    results, instances = run(queues, tmp_path)
    assert instances == 1
    assert len(results) == 100 and all(isinstance(r, dict) for r in results.values())
    assert testkit.fetches(httpserver) == {api.SITE_SPECS: 1, api.JOB_STATS: 1}


def test_a_second_server_is_a_second_endpoint(httpserver: HTTPServer, tmp_path: Path):
    testkit.serve_panda(httpserver)
    other = HTTPServer(host="localhost", port=0)
    other.start()
    try:
        testkit.serve_panda(other, statuses={"BNL_PROD": "offline"})
        results, instances = run([queue("a", wmsqueue="BNL_PROD", wmsstatus_panda_baseurl=base(httpserver)),
                                  queue("b", wmsqueue="BNL_PROD", wmsstatus_panda_baseurl=base(other) + "/")],
                                 tmp_path)
        assert instances == 2
        assert results["a"]["status"] == "online" and results["b"]["status"] == "offline"
        assert testkit.fetches(other) == {api.SITE_SPECS: 1, api.JOB_STATS: 1}
    finally:
        other.stop()


def test_success_false_fails_with_the_servers_message(httpserver: HTTPServer, tmp_path: Path):
    httpserver.expect_request(api.SITE_SPECS).respond_with_json(
        testkit.envelope(None, success=False, message="database is down for maintenance"))
    httpserver.expect_request(api.JOB_STATS).respond_with_json(testkit.envelope({}))
    with pytest.raises(BackendError, match="PanDA refused /api/v1/metaconfig/get_site_specs: "
                                           "database is down for maintenance"):
        run([queue("q", wmsqueue="BNL_PROD", wmsstatus_panda_baseurl=base(httpserver), **FAST)], tmp_path)


def test_failed_statistics_fail_the_queues_that_need_them(httpserver: HTTPServer, tmp_path: Path):
    testkit.serve_panda(httpserver)
    httpserver.clear_all_handlers()
    httpserver.expect_request(api.SITE_SPECS).respond_with_json(testkit.envelope(testkit.site_specs({"S": "online"})))
    httpserver.expect_request(api.JOB_STATS).respond_with_json(testkit.envelope({"S": {"activated": 3}}))
    httpserver.expect_request(api.DETAILED_JOB_STATS).respond_with_json(
        testkit.envelope(None, success=False, message="no such method"))
    url = base(httpserver)
    results, _ = run([queue("plain", wmsqueue="S", wmsstatus_panda_baseurl=url, **FAST),
                      queue("labelled", wmsqueue="S", wmsstatus_panda_baseurl=url, wmsstatus_panda_labels="user",
                            **FAST)], tmp_path)
    assert results["plain"]["ready"] == 3
    assert "no such method" in str(results["labelled"])


def test_non_json_answer(httpserver: HTTPServer, tmp_path: Path):
    httpserver.expect_request(api.SITE_SPECS).respond_with_data("<html>Service Unavailable</html>",
                                                                content_type="text/html")
    with pytest.raises(BackendError, match=r"is not JSON \(text/html\).*Service Unavailable"):
        run([queue("q", wmsqueue="S", wmsstatus_panda_baseurl=base(httpserver), **FAST)], tmp_path)


def test_malformed_counts_fail_the_queue(httpserver: HTTPServer, tmp_path: Path):
    httpserver.expect_request(api.SITE_SPECS).respond_with_json(testkit.envelope(testkit.site_specs({"S": "online"})))
    httpserver.expect_request(api.JOB_STATS).respond_with_json(testkit.envelope({"S": {"activated": "12"}}))
    results, _ = run([queue("q", wmsqueue="S", wmsstatus_panda_baseurl=base(httpserver), **FAST)], tmp_path)
    assert "S.activated is '12', not a count (a whole number from 0 to 1000000000)" in str(results["q"])


def test_500_then_success_is_retried(httpserver: HTTPServer, tmp_path: Path):
    httpserver.expect_oneshot_request(api.JOB_STATS).respond_with_data("overloaded", status=500)
    testkit.serve_panda(httpserver)
    results, _ = run([queue("q", wmsqueue="BNL_PROD", wmsstatus_panda_baseurl=base(httpserver),
                            wmsstatus_panda_retries="2")], tmp_path)
    assert results["q"]["ready"] == 152
    assert testkit.fetches(httpserver)[api.JOB_STATS] == 2


def test_500_every_time_gives_up_with_the_status(httpserver: HTTPServer, tmp_path: Path):
    httpserver.expect_request(api.SITE_SPECS).respond_with_data("broken backend", status=500)
    with pytest.raises(BackendError, match=r"HTTP 500 from .*get_site_specs.*: broken backend"):
        run([queue("q", wmsqueue="S", wmsstatus_panda_baseurl=base(httpserver), wmsstatus_panda_retries="1")],
            tmp_path)
    assert testkit.fetches(httpserver)[api.SITE_SPECS] == 2


def test_timeout(httpserver: HTTPServer, tmp_path: Path):
    def slow(request):
        time.sleep(1.0)
        from werkzeug import Response
        return Response("{}", content_type="application/json")

    httpserver.expect_request(api.SITE_SPECS).respond_with_handler(slow)
    with pytest.raises(BackendError, match=r"no answer from http://.*get_site_specs within 0.2 s"):
        run([queue("q", wmsqueue="S", wmsstatus_panda_baseurl=base(httpserver),
                   wmsstatus_panda_timeout="0.2", wmsstatus_panda_retries="0")], tmp_path)
    deadline = time.monotonic() + 10   # let the server finish the slow answer before the next test
    while not httpserver.log and time.monotonic() < deadline:
        time.sleep(0.05)


def test_unreachable_server(tmp_path: Path):
    server = HTTPServer(host="localhost", port=0)
    server.start()
    url = base(server)
    server.stop()   # nothing listens there any more
    with pytest.raises(BackendError, match=r"cannot connect to localhost:\d+: .*(refused|Errno)"):
        run([queue("q", wmsqueue="S", wmsstatus_panda_baseurl=url, **FAST)], tmp_path)


def test_bearer_token_is_sent(httpserver: HTTPServer, tmp_path: Path):
    token = tmp_path / "token"
    token.write_text("eyJhbGciOi.payload.sig\n")
    testkit.serve_panda(httpserver)
    results, _ = run([queue("q", wmsqueue="BNL_PROD", wmsstatus_panda_baseurl=base(httpserver),
                            wmsstatus_panda_token=str(token))], tmp_path)
    assert results["q"]["ready"] == 152
    assert {r.headers.get("Authorization") for r, _ in httpserver.log} == {"Bearer eyJhbGciOi.payload.sig"}
    assert {r.headers.get("Accept") for r, _ in httpserver.log} == {"application/json"}


def test_missing_token_file_is_reported(httpserver: HTTPServer, tmp_path: Path):
    with pytest.raises(BackendError, match=r"cannot read the token file .*nope"):
        run([queue("q", wmsqueue="S", wmsstatus_panda_baseurl=base(httpserver),
                   wmsstatus_panda_token=str(tmp_path / "nope"))], tmp_path)


# --- TLS -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("pki")
    ca, ca_cert, ca_key = make_ca(folder, "apfctl-test-ca")
    other_ca, _, _ = make_ca(folder, "some-other-ca")
    good = make_server_cert(folder, "server", ca_cert, ca_key)
    expired = make_server_cert(folder, "expired", ca_cert, ca_key, expired=True)
    return {"ca": ca, "other_ca": other_ca, "good": good, "expired": expired}


def https_server(pem) -> HTTPServer:
    server = HTTPServer(host="localhost", port=0, ssl_context=server_context(pem))
    server.start()
    testkit.serve_panda(server)
    return server


@pytest.mark.parametrize(("cert", "verify", "reason"), [
    ("good", None, "certificate verify failed: unable to get local issuer certificate"),
    ("good", "other_ca", "certificate verify failed: unable to get local issuer certificate"),
    ("expired", "ca", "certificate verify failed: certificate has expired"),
])
def test_tls_errors_are_reported_clearly(pki, tmp_path: Path, cert: str, verify: str | None, reason: str):
    server = https_server(pki[cert])
    try:
        keys = {"wmsstatus_panda_verify": str(pki[verify].cert)} if verify else {}
        with pytest.raises(BackendError) as failure:
            run([queue("q", wmsqueue="BNL_PROD", wmsstatus_panda_baseurl=base(server), **keys,
                       wmsstatus_panda_retries="3")], tmp_path)
        assert str(failure.value) == f"TLS error talking to localhost:{server.port}: {reason}"
        assert server.log == []   # no request got through, and a TLS failure is not retried
    finally:
        server.stop()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_with_the_right_ca_and_verify_false(pki, tmp_path: Path):
    server = https_server(pki["good"])
    try:
        results, _ = run([queue("ca", wmsqueue="BNL_PROD", wmsstatus_panda_baseurl=base(server),
                                wmsstatus_panda_verify=str(pki["ca"].cert))], tmp_path)
        assert results["ca"]["ready"] == 152
        results, _ = run([queue("insecure", wmsqueue="BNL_PROD", wmsstatus_panda_baseurl=base(server),
                                wmsstatus_panda_verify="False")], tmp_path)
        assert results["insecure"]["status"] == "online"
    finally:
        server.stop()


# --- configuration --------------------------------------------------------------------------
def test_endpoint_key_and_defaults(tmp_path: Path):
    ctx = context(tmp_path)
    default = Panda.endpoint(queue("q"), ctx)
    assert default == ("https://pandaserver.cern.ch:25443", True, None, None, None, 30.0, 3)
    assert Panda.endpoint(queue("q", wmsstatus_panda_baseurl="https://pandaserver.cern.ch:25443/api/v1/"),
                          ctx) == default
    assert Panda.endpoint(queue("q", wmsstatus_panda_verify="/etc/ca.pem"), ctx)[1] == "/etc/ca.pem"


def test_check_reports_bad_settings(tmp_path: Path):
    problems = Panda.check("Panda", queue("q", wmsstatus_panda_baseurl="pandaserver.cern.ch",
                                          wmsstatus_panda_cert=str(tmp_path / "nocert.pem"),
                                          wmsstatus_panda_verify="/no/such/ca"), context(tmp_path))
    assert any("not an http(s) URL" in p for p in problems)
    assert any("wmsstatus.panda.cert: no such file" in p for p in problems)
    assert any("wmsstatus.panda.verify" in p for p in problems)
    legacy = Panda.check("Panda", queue("q", wmsstatus_panda_baseurl="http://pandaserver.cern.ch:25085/server/panda"),
                         context(tmp_path))
    assert any("legacy /server/panda" in p for p in legacy)
