"""Two personal HTCondor pools for the SciTokens end-to-end test: a factory pool and a CE pool.

The CE pool's schedd takes jobs over HTCondor-C only with a SciToken (WRITE needs SCITOKENS)
whose audience is ``SCITOKENS_SERVER_AUDIENCE`` and whose issuer and subject are mapped to
the pool's user. The factory pool's HTCondor-C client (the c-gahp) offers only SCITOKENS, so
a token the CE refuses cannot be replaced by local (FS) authentication.

scitokens-cpp (Debian 12: 0.7.3) fetches an issuer's keys over HTTPS with libcurl's
built-in CA bundle and no way to add one. Instead of adding a test CA to the machine's trust
store, :func:`seed_key_cache` puts the test issuer's JWKS into scitokens-cpp's own key cache
(``$XDG_CACHE_HOME/scitokens/scitokens_cpp.sqllite``, the CE daemons' ``XDG_CACHE_HOME``),
as a site pre-seeds an offline CE.

Pools live under ``APFCTL_SCITOKENS_POOLS`` (default ``/tmp/apfctl-scitokens``), on the two
collector ports of ``APFCTL_SCITOKENS_PORTS`` (default: two free ports), from the HTCondor
release found as scripts/condor-pools.sh finds it (``APFCTL_HTCONDOR``, ``condor_master`` on
PATH, the shared tarball).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

POOL_USER = "htcuser"
DOMAIN = "apfctl.test"
SCHEDD_HOST = f"127-0-0-1.{DOMAIN}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_release(folder: Path) -> Path | None:
    """An HTCondor release folder (with sbin/condor_master), unpacked into ``folder`` if need be."""
    given = os.environ.get("APFCTL_HTCONDOR")
    if given and Path(given, "sbin", "condor_master").exists():
        return Path(given)
    for parent in Path(__file__).resolve().parents:
        for tarball in sorted(parent.glob("shared/htcondor/htcondor-*.tar.gz")):
            with tarfile.open(tarball) as archive:
                top = archive.getnames()[0].split("/")[0]
                release = folder / "release" / top
                if not (release / "sbin" / "condor_master").exists():
                    release.parent.mkdir(parents=True, exist_ok=True)
                    archive.extractall(release.parent, filter="tar")
            return release
    return None


@dataclass
class Pools:
    release: Path
    folder: Path
    factory_port: int
    ce_port: int

    @property
    def factory(self) -> Path:
        return self.folder / "factory"

    @property
    def ce(self) -> Path:
        return self.folder / "ce"

    @property
    def audience(self) -> str:
        """What the CE pool's schedd accepts: ``host:port`` as an HTCondor-CE's."""
        return f"{SCHEDD_HOST}:{self.ce_port}"

    @property
    def key_cache(self) -> Path:
        return self.folder / "ce-cache"

    def env(self, pool: Path) -> dict[str, str]:
        return dict(os.environ, CONDOR_CONFIG=str(pool / "condor_config"),
                    PATH=f"{self.release}/bin:{self.release}/sbin:{os.environ['PATH']}")

    def run(self, pool: Path, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), env=self.env(pool), capture_output=True, text=True, timeout=timeout)

    def start(self, issuer: str, subject: str, ca_file: Path, host_cert: Path, host_key: Path) -> None:
        """Start both pools: the CE maps tokens of ``issuer`` for ``subject`` to its user.

        SciTokens authentication runs inside TLS: the CE schedd presents ``host_cert`` (for
        its host name, signed by the CA in ``ca_file``) and the factory's client trusts that CA.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o755)
        work = self.folder / "work"
        work.mkdir(exist_ok=True)
        work.chmod(0o1777)
        self.key_cache.mkdir(exist_ok=True)
        common = f"NO_DNS = True\nDEFAULT_DOMAIN_NAME = {DOMAIN}\n"
        mapfile = self.folder / "ce-mapfile"
        mapfile.write_text(f'SCITOKENS "{issuer},{subject}" {POOL_USER}\nFS /^(.*)$/ \\1\n')
        mapfile.chmod(0o644)
        ce = (f"{common}SCITOKENS_SERVER_AUDIENCE = {self.audience}\n"
              "SEC_DEFAULT_AUTHENTICATION_METHODS = FS, SCITOKENS\n"
              "SCHEDD.SEC_WRITE_AUTHENTICATION_METHODS = SCITOKENS\n"
              f"CERTIFICATE_MAPFILE = {mapfile}\n"
              f"AUTH_SSL_SERVER_CERTFILE = {host_cert}\nAUTH_SSL_SERVER_KEYFILE = {host_key}\n")
        factory = (f"{common}C_GAHP.SEC_CLIENT_AUTHENTICATION_METHODS = SCITOKENS\n"
                   "C_GAHP_WORKER_THREAD.SEC_CLIENT_AUTHENTICATION_METHODS = SCITOKENS\n"
                   f"AUTH_SSL_CLIENT_CAFILE = {ca_file}\n")
        for pool, port, text, extra_env in ((self.ce, self.ce_port, ce, {"XDG_CACHE_HOME": str(self.key_cache)}),
                                            (self.factory, self.factory_port, factory, {})):
            self.stop_pool(pool)
            subprocess.run(["rm", "-rf", str(pool)], check=True)
            (pool / "config.d").mkdir(parents=True)
            (pool / "config.d" / "60-scitokens.conf").write_text(text)
            env = dict(os.environ, HTCONDOR_POOL_PORT=str(port), HTCONDOR_POOL_CPUS="2",
                       HTCONDOR_POOL_USER=POOL_USER, HTCONDOR_RELEASE_DIR=str(self.release), **extra_env)
            script = self.release / "bin" / "htcondor-start-pool.sh"
            result = subprocess.run(["bash", str(script), str(pool)], env=env, capture_output=True, text=True,
                                    timeout=180)
            if result.returncode != 0:
                raise RuntimeError(f"{script} {pool} failed: {result.stderr[-2000:]}")
        subprocess.run(["chown", "-R", f"{POOL_USER}:{POOL_USER}", str(self.key_cache)], check=False)

    def seed_key_cache(self, issuer: str, jwks: dict) -> None:
        """Put ``jwks`` into the CE daemons' scitokens-cpp key cache for ``issuer`` (valid a day)."""
        folder = self.key_cache / "scitokens"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "scitokens_cpp.sqllite"
        now = int(time.time())
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS keycache (issuer text UNIQUE PRIMARY KEY NOT NULL,"
                       " keys text NOT NULL)")
            db.execute("DELETE FROM keycache WHERE issuer = ?", (issuer,))
            db.execute("INSERT INTO keycache VALUES (?, ?)",
                       (issuer, json.dumps({"jwks": jwks, "next_update": now + 86400, "expires": now + 86400})))
        subprocess.run(["chown", "-R", f"{POOL_USER}:{POOL_USER}", str(self.key_cache)], check=False)
        folder.chmod(0o700)

    def stop_pool(self, pool: Path) -> None:
        if (pool / "run" / "master.pid").exists():
            subprocess.run(["bash", str(self.release / "bin" / "htcondor-stop-pool.sh"), str(pool), "30"],
                           capture_output=True, timeout=120)

    def stop(self) -> None:
        for pool in (self.ce, self.factory):
            self.stop_pool(pool)


def make_pools() -> Pools | None:
    folder = Path(os.environ.get("APFCTL_SCITOKENS_POOLS", "/tmp/apfctl-scitokens"))
    release = find_release(folder)
    if release is None:
        return None
    ports = os.environ.get("APFCTL_SCITOKENS_PORTS", "").split()
    factory_port, ce_port = (int(ports[0]), int(ports[1])) if len(ports) == 2 else (_free_port(), _free_port())
    return Pools(release, folder, factory_port, ce_port)
