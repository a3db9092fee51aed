"""Tokens per CE on HTCondor queues: scitokens_file, the policy, the audience, the gate (fake schedds).

The tokens come from a real local OIDC issuer on 127.0.0.1 (tests/auth/oidc_issuer.py).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from apfctl.auth import broker
from apfctl.config.validate import check
from apfctl.stages.cycle import run_cycle
from apfctl.stages.decide import Decider
from apfctl.stages.status import collect
from tests.auth.oidc_issuer import Issuer
from tests.condor.condor_helpers import loaded, queue_section, submit_plugin

CYCLE = "20261201T060000Z-7c1d"
CE_AUDIENCE = "ce01.example.org:9619"


@pytest.fixture
def issuer():
    server = Issuer(lifetime=3600).start()
    yield server
    server.stop()


def auth_conf(tmp_path: Path, issuer: Issuer, extra: str = "") -> Path:
    secret = tmp_path / "client.secret"
    secret.write_text(issuer.secret + "\n")
    secret.chmod(0o600)
    proxy = tmp_path / "proxy.pem"
    proxy.write_text("x")
    path = tmp_path / "auth.conf"
    path.write_text(f"[wlcg]\nplugin = Token\ntoken.issuer = {issuer.url}\ntoken.client_id = {issuer.client_id}\n"
                    f"token.client_secret_file = {secret}\ntoken.scope = compute.create, compute.read\n"
                    f"token.timeout = 5\n{extra}\n"
                    f"[prod]\nplugin = X509\nx509.proxyfile = {proxy}\nx509.renew = False\n")
    return path


def lines(text: str) -> list[str]:
    return text.splitlines()


def test_condorce_on_a_token_profile_gets_its_ce_token_file(tmp_path, issuer):
    ld = loaded(tmp_path, queue_section("Q", "CondorCE", """
        batchsubmit.condorce.gridresource = ce01.example.org
        batchsubmit.condorce.proxy = wlcg
        """), extra=f"authConf = {auth_conf(tmp_path, issuer)}")
    text = submit_plugin(ld, "Q").submit(1, CYCLE, dry_run=True).description
    token_file = broker.token_path(tmp_path / "state", "wlcg", CE_AUDIENCE)
    assert token_file.name == "ce01%2Eexample%2Eorg%3A9619.jwt"
    assert f"scitokens_file = {token_file}" in lines(text) and "x509userproxy" not in text
    assert issuer.requests == []      # describing a pilot obtains nothing


def test_a_configured_port_is_part_of_the_audience(tmp_path, issuer):
    ld = loaded(tmp_path, queue_section("Q", "CondorOSGCE", """
        batchsubmit.condorosgce.gridresource = CE01.example.org
        batchsubmit.condorce.port = 9620
        batchsubmit.condorgrid.proxy = wlcg
        """), extra=f"authConf = {auth_conf(tmp_path, issuer)}")
    text = submit_plugin(ld, "Q").submit(1, CYCLE, dry_run=True).description
    assert f"scitokens_file = {broker.token_path(tmp_path / 'state', 'wlcg', 'ce01.example.org:9620')}" in lines(text)


@pytest.mark.parametrize("endpoint, audience", [
    ("arc01.example.org", "https://arc01.example.org"),
    ("https://arc01.example.org:8443/arex", "https://arc01.example.org:8443"),
    ("gsiftp://arc01.example.org:2811/jobs", "https://arc01.example.org"),
])
def test_condorarc_with_policy_both_carries_the_token_and_the_proxy(tmp_path, issuer, endpoint, audience):
    ld = loaded(tmp_path, queue_section("Q", "CondorARC", f"""
        batchsubmit.condorarc.gridresource = {endpoint}
        batchsubmit.condorarc.proxy = wlcg, prod
        batchsubmit.condorarc.credential = both
        """), extra=f"authConf = {auth_conf(tmp_path, issuer)}")
    text = lines(submit_plugin(ld, "Q").submit(1, CYCLE, dry_run=True).description)
    assert f"scitokens_file = {broker.token_path(tmp_path / 'state', 'wlcg', audience)}" in text
    assert f"x509userproxy = {tmp_path / 'proxy.pem'}" in text
    if endpoint.startswith("gsiftp"):
        assert "grid_resource = arc https://arc01.example.org" in text


def test_policy_proxy_picks_the_proxy_and_an_unmet_policy_is_a_config_error(tmp_path, issuer):
    auth = auth_conf(tmp_path, issuer)
    ld = loaded(tmp_path, queue_section("P", "CondorCE", """
        batchsubmit.condorce.gridresource = ce01.example.org
        batchsubmit.condorce.proxy = wlcg, prod
        batchsubmit.condorce.credential = proxy
        """) + queue_section("B", "CondorCE", """
        batchsubmit.condorce.gridresource = ce01.example.org
        batchsubmit.condorce.proxy = wlcg
        batchsubmit.condorce.credential = both
        """), extra=f"authConf = {auth}")
    text = lines(submit_plugin(ld, "P").submit(1, CYCLE, dry_run=True).description)
    assert f"x509userproxy = {tmp_path / 'proxy.pem'}" in text and not any("scitokens" in line for line in text)
    errors = [str(e) for e in check(ld).errors]
    assert any("[B]" in e and "batchsubmit.condorce.proxy" in e and "policy both" in e and "x509 profile" in e
               for e in errors), errors


def test_no_ce_host_means_no_audience_a_config_error_naming_the_key(tmp_path, issuer):
    ld = loaded(tmp_path, queue_section("Q", "CondorCE", "batchsubmit.condorce.proxy = wlcg\n"),
                extra=f"authConf = {auth_conf(tmp_path, issuer)}")
    errors = [str(e) for e in check(ld).errors]
    assert any("[Q]" in e and "batchsubmit.condorce.gridresource" in e and "no token audience" in e
               for e in errors), errors
    local = loaded(tmp_path / "local", queue_section("L", "CondorLocal", "batchsubmit.condorlocal.proxy = wlcg\n"),
                   extra=f"authConf = {auth_conf(tmp_path, issuer)}")
    errors = [str(e) for e in check(local).errors]
    assert any("[L]" in e and "has no CE audience" in e for e in errors), errors


def gated_queue(name: str, body: str) -> str:
    return queue_section(name, "CondorCE", body, sched="Fixed, CredentialLifetime") + "sched.fixed.pilotspercycle = 3\n"


def test_cycle_obtains_the_token_then_submits_with_it(tmp_path, pool, issuer):
    ld = loaded(tmp_path, gated_queue("Q", """
        batchsubmit.condorce.gridresource = ce01.example.org
        batchsubmit.condorce.proxy = wlcg
        """), extra=f"authConf = {auth_conf(tmp_path, issuer)}")
    result = run_cycle(ld, ["Q"], cycle=CYCLE)
    [record] = result.records
    assert record["batch"]["credential"]["error"] is None, record["batch"]["credential"]
    assert record["batch"]["credential"]["kind"] == "token"
    assert record["decision"]["pilots"] == 3, record["decision"]
    token_file = broker.token_path(tmp_path / "state", "wlcg", CE_AUDIENCE)
    assert [claims["aud"] for claims in issuer.issued] == [CE_AUDIENCE]
    jobs = list(pool.schedd().jobs.values())
    assert len(jobs) == 3 and all(job.get("ScitokensFile") == str(token_file) for job in jobs), jobs[0]
    # the next cycle finds it fresh: nothing obtained
    run_cycle(ld, ["Q"], cycle="20261201T061000Z-7c1e")
    assert len(issuer.issued) == 1


@pytest.mark.parametrize("mode, reason", [("wrongaud", "lacks 'ce01.example.org:9619'"),
                                          ("fail", "answered HTTP 500")])
def test_no_usable_token_gates_the_queue_with_the_reason_in_its_trace(tmp_path, pool, issuer, mode, reason):
    issuer.mode = mode
    ld = loaded(tmp_path, gated_queue("Q", """
        batchsubmit.condorce.gridresource = ce01.example.org
        batchsubmit.condorce.proxy = wlcg
        """), extra=f"authConf = {auth_conf(tmp_path, issuer)}")
    [record] = run_cycle(ld, ["Q"], cycle=CYCLE).records
    assert record["decision"]["pilots"] == 0
    message = record["decision"]["msg"]
    assert "CredentialLifetime:comment=unknown lifetime" in message and reason.replace(":", " ") in message
    assert pool.schedd().jobs == {}
    assert issuer.secret not in json.dumps(record)


def test_a_file_token_of_the_wrong_audience_is_gated_though_its_lifetime_is_known(tmp_path, pool):
    import time

    from tests.auth import pki

    token = tmp_path / "token"
    token.write_text(pki.make_jwt(time.time() + 7200, aud="https://other.example.org") + "\n")
    token.chmod(0o600)
    (tmp_path / "auth.conf").write_text(f"[ce]\nplugin = Token\ntoken.file = {token}\n"
                                        f"token.audience = {CE_AUDIENCE}\n")
    ld = loaded(tmp_path, gated_queue("Q", """
        batchsubmit.condorce.gridresource = ce01.example.org
        batchsubmit.condorce.proxy = ce
        """), extra=f"authConf = {tmp_path / 'auth.conf'}")
    [record] = collect(ld, ["Q"], CYCLE)
    assert record["batch"]["credential"]["lifetime"] > 7000
    decided = Decider(ld).decide(record)
    assert decided["decision"]["pilots"] == 0
    assert any(step["msg"].startswith("CredentialLifetime:comment=error,reason=") and "lacks" in step["msg"]
               for step in decided["decision"]["trace"]), decided["decision"]


def test_auth_renew_and_check_per_ce_never_print_the_secret_even_with_debug(tmp_path, issuer):
    auth = auth_conf(tmp_path, issuer)
    factory = loaded(tmp_path, queue_section("A", "CondorCE", """
        batchsubmit.condorce.gridresource = ce01.example.org
        batchsubmit.condorce.proxy = wlcg
        """) + queue_section("B", "CondorARC", """
        batchsubmit.condorarc.gridresource = arc01.example.org
        batchsubmit.condorarc.proxy = wlcg
        """), extra=f"authConf = {auth}").source

    def apfctl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "apfctl", *args, "--config", str(factory),
                               "--state-dir", str(tmp_path / "state")], capture_output=True, text=True, timeout=120)

    renewed = apfctl("auth", "renew", "wlcg", "--format", "json", "--debug")
    assert renewed.returncode == 0, renewed.stderr
    states = [json.loads(line) for line in renewed.stdout.splitlines()]
    assert {state["ce"] for state in states} == {CE_AUDIENCE, "https://arc01.example.org"}
    assert all(state["renewed"] and state["state"] == "ok" for state in states)
    tokens = [Path(state["file"]).read_text().strip() for state in states]
    for text in (renewed.stdout, renewed.stderr):
        assert issuer.secret not in text and not any(token in text for token in tokens)
    checked = apfctl("auth", "check", "wlcg")
    assert checked.returncode == 0, checked.stderr
    row = next(line for line in checked.stdout.splitlines() if CE_AUDIENCE in line)
    assert "compute.create compute.read" in row and f"iss={issuer.url}" in row and "T" in row.split()[5]
    assert issuer.secret not in checked.stdout + checked.stderr
    # the issuer fails: the previous tokens are kept, one warning per CE, exit 0
    issuer.mode = "fail"
    again = apfctl("auth", "renew", "wlcg", "--force")
    assert again.returncode == 0 and again.stdout.count("WARNING") == 2 and "answered HTTP 500" in again.stdout
    assert issuer.secret not in again.stdout + again.stderr


def test_a_failed_refresh_keeps_the_token_and_is_logged_once_per_cycle(tmp_path, pool, issuer, caplog):
    import time

    from apfctl.auth.queues import load_auth

    two = "".join(gated_queue(name, """
        batchsubmit.condorce.gridresource = ce01.example.org
        batchsubmit.condorce.proxy = wlcg
        """) for name in ("Q1", "Q2"))
    ld = loaded(tmp_path, two, extra=f"authConf = {auth_conf(tmp_path, issuer, 'token.refresh.interval = 50')}")
    issuer.lifetime = 1000
    issuer.clock = lambda: time.time() - 600    # issued 600 s ago: past half its life, 400 s left
    broker.ensure(load_auth(ld.factory).profiles["wlcg"], CE_AUDIENCE, tmp_path / "state")
    issuer.mode = "fail"
    caplog.set_level(logging.WARNING, logger="apfctl.auth")
    records = collect(ld, ["Q1", "Q2"], CYCLE, refresh_tokens=True)
    warnings = [r.getMessage() for r in caplog.records if "refreshing the token" in r.getMessage()]
    assert len(warnings) == 1 and "answered HTTP 500" in warnings[0] and "previous token is kept" in warnings[0]
    assert all(r["batch"]["credential"]["error"] is None for r in records)
    assert issuer.secret not in caplog.text


def test_a_failing_issuer_is_asked_once_per_cycle_not_once_per_ce(tmp_path, pool, issuer):
    issuer.mode = "fail"
    queues = "".join(gated_queue(f"Q{n}", f"""
        batchsubmit.condorce.gridresource = ce0{n}.example.org
        batchsubmit.condorce.proxy = wlcg
        """) for n in range(1, 4))
    ld = loaded(tmp_path, queues, extra=f"authConf = {auth_conf(tmp_path, issuer)}")
    records = collect(ld, ["Q1", "Q2", "Q3"], CYCLE, refresh_tokens=True)
    assert issuer.requests.count("/.well-known/openid-configuration") == 1
    errors = [r["batch"]["credential"]["error"] for r in records]
    assert "answered HTTP 500" in errors[0]
    assert all("not refreshed, its issuer failed in this cycle" in e and "HTTP 500" in e for e in errors[1:])
