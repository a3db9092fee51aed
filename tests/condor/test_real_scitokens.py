"""End to end with SciTokens: a CE pool that takes pilots only with a token for its audience.

A private factory pool and CE pool (scripts/condor-pools.sh, the suite's pools script, in a
folder of their own, on the ports of ``APFCTL_SCITOKENS_PORTS`` or free ones: the CE pool is
reconfigured to require SciTokens, which the shared pools must not). The CE schedd
authenticates HTCondor-C submissions with SCITOKENS only
(``SCHEDD.SEC_WRITE_AUTHENTICATION_METHODS``), checks ``SCITOKENS_SERVER_AUDIENCE`` and maps
the test issuer's tokens to its user; the factory's HTCondor-C client offers SCITOKENS only.
SciTokens authentication runs inside TLS: the CE schedd presents a host certificate of the
test CA, which the factory's client trusts (``AUTH_SSL_CLIENT_CAFILE``).

The test issuer (tests/auth/oidc_issuer.py) speaks HTTPS with a certificate of the same CA
(the broker verifies it with ``token.cafile``). scitokens-cpp on Debian 12 (0.7.3) fetches an
issuer's keys with libcurl's built-in CA bundle and cannot be given another CA, so rather
than adding a test CA to the machine's trust store the test seeds scitokens-cpp's own key
cache (an sqlite file under the CE daemons' ``XDG_CACHE_HOME``) with the issuer's JWKS.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from apfctl.auth import broker, token
from apfctl.stages.cycle import run_cycle
from tests.auth import pki
from tests.auth.oidc_issuer import Issuer
from tests.condor.condor_helpers import loaded, real_section
from tests.condor.real_pools import IN_CI, PoolsUnavailable, start, stop, use_config, wait_for

pytestmark = pytest.mark.condor_pool

POOL_USER = os.environ.get("APFCTL_CONDOR_USER", "htcuser")
SCOPES = "compute.create, compute.read, condor:/READ, condor:/WRITE"   # HTCondor authorizes by condor:/ scopes


def _owned(path: Path, mode: int) -> Path:
    shutil.chown(path, POOL_USER, POOL_USER)
    path.chmod(mode)
    return path


def seed_key_cache(cache_home: Path, issuer: str, jwks: dict) -> None:
    """scitokens-cpp's key cache (0.7.x layout) holding ``jwks`` for ``issuer`` for a day."""
    folder = cache_home / "scitokens"
    folder.mkdir(parents=True, exist_ok=True)
    now = int(time.time())
    with sqlite3.connect(folder / "scitokens_cpp.sqllite") as db:
        db.execute("CREATE TABLE IF NOT EXISTS keycache (issuer text UNIQUE PRIMARY KEY NOT NULL, keys text NOT NULL)")
        db.execute("DELETE FROM keycache WHERE issuer = ?", (issuer,))
        db.execute("INSERT INTO keycache VALUES (?, ?)",
                   (issuer, json.dumps({"jwks": jwks, "next_update": now + 86400, "expires": now + 86400})))
    for path in (cache_home, folder, *folder.iterdir()):
        _owned(path, 0o700 if path.is_dir() else 0o600)


def _set_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


class TokenPools:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        tls = folder / "tls"
        tls.mkdir(parents=True, exist_ok=True)
        tls.chmod(0o755)
        ca = pki.make_ca()
        self.ca_file = tls / "ca.pem"
        self.ca_file.write_bytes(ca.cert_pem())
        self.ca_file.chmod(0o644)
        self.issuer = Issuer(tls=pki.make_server(ca, tls / "issuer")).start()
        self.host_cert, self.host_key = pki.make_server(ca, tls / "ce", "127-0-0-1.apfctl.test")
        for path in (tls / "ce", self.host_cert):
            _owned(path, 0o755 if path.is_dir() else 0o644)
        _owned(self.host_key, 0o600)
        self.cache_home = folder / "ce-cache"
        self.cache_home.mkdir(exist_ok=True)
        # the daemons' key cache; ports of their own (APFCTL_SCITOKENS_PORTS, else free ones)
        wanted = {"XDG_CACHE_HOME": str(self.cache_home),
                  "APFCTL_CONDOR_PORTS": os.environ.get("APFCTL_SCITOKENS_PORTS")}
        previous = {name: os.environ.get(name) for name in wanted}
        try:
            for name, value in wanted.items():
                _set_env(name, value)
            self.pools = start(folder)
        finally:
            for name, value in previous.items():
                _set_env(name, value)
        self.audience = f"{self.pools.ce_schedd}:{self.pools.ce_port}"
        self.configure()
        seed_key_cache(self.cache_home, self.issuer.url, self.issuer.jwks())

    def configure(self) -> None:
        mapfile = self.folder / "ce-mapfile"
        mapfile.write_text(f'SCITOKENS "{self.issuer.url},{self.issuer.client_id}" {POOL_USER}\nFS /^(.*)$/ \\1\n')
        mapfile.chmod(0o644)
        ce = Path(self.pools.ce_config).parent / "config.d" / "70-scitokens.conf"
        ce.write_text(f"SCITOKENS_SERVER_AUDIENCE = {self.audience}\n"
                      "SEC_DEFAULT_AUTHENTICATION_METHODS = FS, SCITOKENS\n"
                      "SCHEDD.SEC_WRITE_AUTHENTICATION_METHODS = SCITOKENS\n"
                      f"CERTIFICATE_MAPFILE = {mapfile}\n"
                      f"AUTH_SSL_SERVER_CERTFILE = {self.host_cert}\nAUTH_SSL_SERVER_KEYFILE = {self.host_key}\n")
        factory = Path(self.pools.factory_config).parent / "config.d" / "70-scitokens.conf"
        factory.write_text("C_GAHP.SEC_CLIENT_AUTHENTICATION_METHODS = SCITOKENS\n"
                           "C_GAHP_WORKER_THREAD.SEC_CLIENT_AUTHENTICATION_METHODS = SCITOKENS\n"
                           f"AUTH_SSL_CLIENT_CAFILE = {self.ca_file}\n")
        for path in (ce, factory):
            path.chmod(0o644)
        for config in (self.pools.ce_config, self.pools.factory_config):
            subprocess.run([str(self.pools.release / "sbin" / "condor_reconfig")],
                           env={**os.environ, "CONDOR_CONFIG": config}, capture_output=True, timeout=60, check=True)
        time.sleep(2)   # the daemons reread their configuration

    def close(self) -> None:
        stop(self.folder)
        self.issuer.stop()


@pytest.fixture(scope="module")
def token_pools():
    folder = Path(f"/tmp/apfctl-scitokens-{os.getpid()}")
    try:
        pools = TokenPools(folder)
    except (PoolsUnavailable, subprocess.SubprocessError, OSError, KeyError) as exc:
        stop(folder)
        shutil.rmtree(folder, ignore_errors=True)
        if IN_CI:
            pytest.fail(f"CI needs real HTCondor pools: {exc}", pytrace=False)
        pytest.skip(f"no real HTCondor pools: {exc}")
    yield pools
    pools.close()
    shutil.rmtree(folder, ignore_errors=True)


def _ce_jobs(pools, constraint: str) -> list:
    import htcondor2

    with use_config(pools.pools.ce_config):
        schedd = htcondor2.Schedd()
        return [*schedd.query(constraint=constraint, projection=["ClusterId", "Owner"]),
                *schedd.history(constraint=constraint, projection=["ClusterId", "Owner"])]


def test_the_brokers_token_is_accepted_and_a_token_for_another_ce_is_refused(token_pools):
    tag = uuid.uuid4().hex[:8]
    work = token_pools.pools.work / f"t-{tag}"
    work.mkdir(mode=0o777)
    work.chmod(0o777)
    pilot = work / "pilot.sh"
    pilot.write_text("#!/bin/sh\nexit 0\n")
    pilot.chmod(0o755)
    issuer = token_pools.issuer
    secret = work / "client.secret"
    secret.write_text(issuer.secret + "\n")
    secret.chmod(0o600)
    other = work / "other-ce.jwt"
    other.write_text(issuer.token_for("ce.elsewhere.example.org:9619", "compute.create condor:/READ condor:/WRITE")
                     + "\n")
    _owned(other, 0o600)
    auth = work / "auth.conf"
    auth.write_text(f"[wlcg]\nplugin = Token\ntoken.issuer = {issuer.url}\ntoken.client_id = {issuer.client_id}\n"
                    f"token.client_secret_file = {secret}\ntoken.cafile = {token_pools.ca_file}\n"
                    f"token.scope = {SCOPES}\ntoken.owner = {POOL_USER}\n\n"
                    f"[elsewhere]\nplugin = Token\ntoken.file = {other}\n")
    pools = token_pools.pools
    ce_body = (f"batchsubmit.{{p}}.gridresource = {pools.ce_schedd}\nbatchsubmit.{{p}}.port = {pools.ce_port}\n"
               "schedplugin = Fixed, CredentialLifetime\nsched.fixed.pilotspercycle = 1\n")
    good, wrong = f"GOOD_{tag}", f"WRONG_{tag}"
    ld = loaded(work, real_section(good, str(pilot), "CondorCE", ce_body + "batchsubmit.{p}.proxy = wlcg\n")
                + real_section(wrong, str(pilot), "CondorCE", ce_body + "batchsubmit.{p}.proxy = elsewhere\n"),
                extra=f"authConf = {auth}")
    umask = os.umask(0)
    try:
        with use_config(pools.factory_config):
            [record] = run_cycle(ld, [good]).records
    finally:
        os.umask(umask)
    assert record["batch"]["credential"]["error"] is None, record["batch"]["credential"]
    assert record["submission"]["submitted"] == 1, record["submission"]
    token_file = broker.token_path(work / "state", "wlcg", token_pools.audience)
    assert token.read_token(token_file).audience == [token_pools.audience]
    # HTCondor-C carried the pilot to the CE pool with the broker's token, and it ran there
    wait_for(lambda: _ce_jobs(token_pools, f'MATCH_APF_QUEUE == "{good}"'), "the pilot on the CE pool", timeout=240)

    umask = os.umask(0)
    try:
        with use_config(pools.factory_config):
            [record] = run_cycle(ld, [wrong]).records
    finally:
        os.umask(umask)
    assert record["submission"]["submitted"] == 1, record   # a file profile without token.audience: not gated
    sched_log = Path(pools.ce_config).parent / "log" / "SchedLog"
    wait_for(lambda: "'aud' claim verification failed" in sched_log.read_text(errors="replace"),
             "the CE schedd to refuse the token for another CE", timeout=120)
    time.sleep(5)
    assert _ce_jobs(token_pools, f'MATCH_APF_QUEUE == "{wrong}"') == []
