"""Credentials in the status stage: ``batch.credential`` for 1,000 queues sharing 4 profiles.

Every queue names a profile (``batchsubmit.local.proxy``); the status stage asks
:func:`apfctl.auth.queues.credential_statuses` once for all of them. The proxies and the
token are read once per profile (then reused while the file is unchanged), so the
cost per cycle should stay a small part of ``cycle --all``'s 10 s budget for 1,000
queues: budget 0.5 s, cold (first call reads the PEMs) and warm.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

QUEUES = 1_000
PROFILES = 4
BUDGET_S = 0.5


def main() -> None:
    from apfctl.auth import queues as credentials
    from apfctl.config.loader import load
    from tests.auth import pki

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        ca = pki.make_ca()
        user = pki.make_user(ca)
        auth = ["[DEFAULT]", "x509.renew = False"]
        for index in range(PROFILES - 1):
            (tmp / f"proxy{index}.pem").write_bytes(pki.make_proxy(user, dt.timedelta(hours=24 + index)))
            auth += [f"[p{index}]", "plugin = X509", f"x509.proxyfile = {tmp}/proxy{index}.pem"]
        (tmp / "token").write_text(pki.make_jwt(time.time() + 86400))
        (tmp / "token").chmod(0o600)
        auth += [f"[p{PROFILES - 1}]", "plugin = Token", f"token.file = {tmp}/token"]
        (tmp / "auth.conf").write_text("\n".join(auth) + "\n")
        queues = ["[DEFAULT]", "enabled = True", "batchstatusplugin = Local", "batchsubmitplugin = Local",
                  "schedplugin = Fixed", "executable = /bin/true"]
        for index in range(QUEUES):
            queues += [f"[Q{index:04d}]", f"batchsubmit.local.proxy = p{index % PROFILES}"]
        (tmp / "queues.conf").write_text("\n".join(queues) + "\n")
        (tmp / "apfctl.conf").write_text(f"[Factory]\nqueueConf = queues.conf\nauthConf = auth.conf\n"
                                         f"baseLogDir = {tmp}/logs\n")
        loaded = load(str(tmp / "apfctl.conf"), str(tmp / "state"))
        names = loaded.enabled_queues()
        for label in ("cold", "warm"):
            start = time.perf_counter()
            fields = list(credentials.credential_statuses([loaded.queue(n) for n in names], loaded.context).values())
            elapsed = time.perf_counter() - start
            assert all(field and field["error"] is None for field in fields), fields[:3]
            print(f"auth.credential_statuses_{label}: {elapsed:.3f} s for {QUEUES} queues / {PROFILES} profiles "
                  f"(budget {BUDGET_S:g} s, ratio {elapsed / BUDGET_S:.2f})")


if __name__ == "__main__":
    main()
