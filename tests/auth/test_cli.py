"""``apfctl auth``, ``apfctl config check`` and ``apfctl status`` with auth.conf profiles, as subprocesses."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.auth import pki

HOUR = dt.timedelta(hours=1)


def run(args: list[str], config: Path, state: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, APFCTL_CONFIG=str(config), APFCTL_STATE_DIR=str(state), CONDOR_CONFIG="/dev/null")
    return subprocess.run([sys.executable, "-m", "apfctl", *args], capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.fixture
def factory(tmp_path: Path, user: pki.Identity) -> Path:
    """A factory with three profiles (fresh proxy, expired proxy, future token) and queues using them."""
    (tmp_path / "fresh.pem").write_bytes(pki.make_proxy(user, 48 * HOUR))
    (tmp_path / "expired.pem").write_bytes(pki.make_proxy(user, -HOUR))
    (tmp_path / "token").write_text(pki.make_jwt(time.time() + 5 * 86400))
    (tmp_path / "token").chmod(0o600)
    (tmp_path / "auth.conf").write_text(textwrap.dedent(f"""
        [DEFAULT]
        x509.renew = False
        x509.minlife = 3600

        [production]
        plugin = X509
        x509.proxyfile = {tmp_path}/fresh.pem

        [old]
        plugin = X509
        x509.proxyfile = {tmp_path}/expired.pem

        [ce-token]
        plugin = Token
        token.file = {tmp_path}/token
        """))
    (tmp_path / "queues.conf").write_text(textwrap.dedent("""
        [DEFAULT]
        enabled = True
        wmsstatusplugin = None
        batchstatusplugin = Local
        batchsubmitplugin = Local
        schedplugin = Fixed
        sched.fixed.pilotspercycle = 0
        executable = /bin/true

        [WITH_PROXY]
        batchsubmit.local.proxy = production

        [WITH_EXPIRED]
        batchsubmit.local.proxy = old, production

        [WITH_TOKEN]
        batchsubmit.local.proxy = ce-token

        [NO_CREDENTIAL]
        """))
    config = tmp_path / "apfctl.conf"
    config.write_text(textwrap.dedent(f"""
        [Factory]
        factoryId = auth-test
        baseLogDir = {tmp_path}/logs
        queueConf = queues.conf
        authConf = auth.conf
        """))
    return config


def test_auth_check_json_and_table(factory, tmp_path):
    result = run(["auth", "check", "--format", "json"], factory, tmp_path / "state")
    assert result.returncode == 1, result.stderr      # one profile is expired
    states = {line["profile"]: line for line in map(json.loads, result.stdout.splitlines())}
    assert states["production"]["state"] == "ok" and states["production"]["lifetime"] > 47 * 3600
    assert states["old"]["state"] == "expired" and states["old"]["lifetime"] == 0
    assert states["ce-token"]["kind"] == "token" and states["ce-token"]["state"] == "ok"

    table = run(["auth", "check", "production", "ce-token"], factory, tmp_path / "state")
    assert table.returncode == 0, table.stderr
    assert "production" in table.stdout and "x509" in table.stdout and "old" not in table.stdout


def test_auth_unknown_profile_and_missing_auth_conf(factory, tmp_path):
    unknown = run(["auth", "renew", "nosuch"], factory, tmp_path / "state")
    assert unknown.returncode == 2 and "no profile nosuch" in unknown.stderr
    bare = tmp_path / "bare.conf"
    bare.write_text(f"[Factory]\nqueueConf = queues.conf\nbaseLogDir = {tmp_path}/logs\n")
    no_auth = run(["auth", "check"], bare, tmp_path / "state")
    assert no_auth.returncode == 2 and "authConf is not set" in no_auth.stderr


def test_auth_renew_without_renewal_configured_reports_and_goes_on(factory, tmp_path):
    result = run(["auth", "renew", "--format", "json"], factory, tmp_path / "state")
    assert result.returncode == 1
    states = {line["profile"]: line for line in map(json.loads, result.stdout.splitlines())}
    assert "renewal is not configured" in states["old"]["error"]
    assert states["production"]["state"] == "ok" and states["production"]["error"] is None


def test_status_puts_the_credential_into_the_record(factory, tmp_path):
    result = run(["status", "--all"], factory, tmp_path / "state")
    assert result.returncode == 0, result.stderr
    records = {record["queue"]: record for record in map(json.loads, result.stdout.splitlines())}
    proxy = records["WITH_PROXY"]["batch"]["credential"]
    assert proxy["profile"] == "production" and proxy["kind"] == "x509" and proxy["lifetime"] > 47 * 3600
    assert proxy["error"] is None
    fallback = records["WITH_EXPIRED"]["batch"]["credential"]
    assert fallback["profile"] == "old" and fallback["lifetime"] == 0     # first profile, readable
    assert records["WITH_TOKEN"]["batch"]["credential"]["kind"] == "token"
    assert "credential" not in records["NO_CREDENTIAL"]["batch"]


def test_config_check_names_a_missing_profile(factory, tmp_path):
    queues = tmp_path / "queues.conf"
    queues.write_text(queues.read_text() + "\n[TYPO]\nbatchsubmit.local.proxy = producton\n")
    result = run(["config", "check"], factory, tmp_path / "state")
    assert result.returncode == 2
    assert "[TYPO] batchsubmit.local.proxy = 'producton'" in result.stderr
    assert "profile 'producton' is not defined in" in result.stderr


def test_config_check_names_an_unusable_profile(factory, tmp_path):
    auth = tmp_path / "auth.conf"
    auth.write_text(auth.read_text() + "\n[broken]\nplugin = X509\n")
    queues = tmp_path / "queues.conf"
    queues.write_text(queues.read_text() + "\n[USES_BROKEN]\nbatchsubmit.local.proxy = broken\n")
    result = run(["config", "check"], factory, tmp_path / "state")
    assert result.returncode == 2
    assert "profile 'broken' is unusable" in result.stderr and "x509.proxyfile" in result.stderr


def test_unreadable_auth_conf_fails_the_credential_of_each_queue_not_the_status(factory, tmp_path):
    (tmp_path / "auth.conf").write_text("this line is not ini\n")
    result = run(["status", "--all"], factory, tmp_path / "state")
    records = {record["queue"]: record for record in map(json.loads, result.stdout.splitlines())}
    assert set(records) == {"WITH_PROXY", "WITH_EXPIRED", "WITH_TOKEN", "NO_CREDENTIAL"}, result.stderr
    credential = records["WITH_PROXY"]["batch"]["credential"]
    assert credential["lifetime"] is None and "auth.conf:1" in credential["error"]
    assert "auth.conf:1" in result.stderr


def test_library_calls_for_one_queue(factory, tmp_path):
    from apfctl.auth.queues import credential_status, resolve
    from apfctl.config.loader import load
    from apfctl.errors import ConfigError

    loaded = load(str(factory), str(tmp_path / "state"))
    field = credential_status(loaded.queue("WITH_TOKEN"), loaded.context)
    assert field["profile"] == "ce-token" and field["kind"] == "token" and field["lifetime"] > 4 * 86400
    assert credential_status(loaded.queue("NO_CREDENTIAL"), loaded.context) is None
    chosen = resolve(loaded.queue("WITH_PROXY"), loaded.context)
    assert chosen.policy == "proxy" and chosen.proxy == tmp_path / "fresh.pem" and chosen.token is None
    assert resolve(loaded.queue("NO_CREDENTIAL"), loaded.context) is None
    (tmp_path / "queues.conf").write_text((tmp_path / "queues.conf").read_text() + "\n[GONE]\n"
                                          "batchsubmit.local.proxy = nosuch\n")
    loaded = load(str(factory), str(tmp_path / "state"))
    with pytest.raises(ConfigError, match="profile nosuch is not defined"):
        resolve(loaded.queue("GONE"), loaded.context)
    assert "is not defined" in credential_status(loaded.queue("GONE"), loaded.context)["error"]


def test_a_token_just_past_expiry_shows_no_negative_time_and_integer_lifetimes(tmp_path):
    token = tmp_path / "past"
    token.write_text(pki.make_jwt(time.time() - 15, aud="https://other.example.org") + "\n")
    token.chmod(0o600)
    auth = tmp_path / "past.conf"
    auth.write_text(f"[past]\nplugin = Token\ntoken.file = {token}\ntoken.audience = https://ce.example.org\n")
    table = run(["auth", "check", "--auth-conf", str(auth)], tmp_path / "none.conf", tmp_path / "state")
    assert table.returncode == 1 and "-1d" not in table.stdout and "0h00m" in table.stdout, table.stdout
    as_json = run(["auth", "check", "--auth-conf", str(auth), "--format", "json"], tmp_path / "none.conf",
                  tmp_path / "state")
    [state] = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert state["lifetime"] == 0 and isinstance(state["lifetime"], int) and "lacks" in state["error"]
