"""The token broker in a cycle: ``batch.credential`` for 1,000 CondorCE queues on 100 CEs, one issuer.

Every queue names one token profile with ``token.issuer``; the cycle's status stage calls
:func:`apfctl.auth.queues.credential_statuses` with ``refresh``: cold, it obtains one token
per CE from the local test issuer (tests/auth/oidc_issuer.py, on 127.0.0.1: discovery, the
client-credentials grant, an atomic private write); warm, every token is fresh and nothing
is fetched. Budgets: cold 5 s (100 tokens), warm 0.5 s, against ``cycle --all``'s 10 s for
1,000 queues.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

QUEUES = 1_000
CES = 100
BUDGETS_S = {"cold": 5.0, "warm": 0.5}


def main() -> None:
    from apfctl.auth import queues as credentials
    from apfctl.config.loader import load
    from tests.auth.oidc_issuer import Issuer

    issuer = Issuer(lifetime=3600).start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            tmp = Path(folder)
            secret = tmp / "client.secret"
            secret.write_text(issuer.secret + "\n")
            secret.chmod(0o600)
            (tmp / "auth.conf").write_text(f"[wlcg]\nplugin = Token\ntoken.issuer = {issuer.url}\n"
                                           f"token.client_id = {issuer.client_id}\n"
                                           f"token.client_secret_file = {secret}\ntoken.scope = compute.create\n")
            queues = ["[DEFAULT]", "enabled = True", "batchstatusplugin = Condor", "batchsubmitplugin = CondorCE",
                      "schedplugin = Fixed", "executable = /bin/true", "batchsubmit.condorce.proxy = wlcg"]
            for index in range(QUEUES):
                queues += [f"[Q{index:04d}]", f"batchsubmit.condorce.gridresource = ce{index % CES:03d}.example.org"]
            (tmp / "queues.conf").write_text("\n".join(queues) + "\n")
            (tmp / "apfctl.conf").write_text(f"[Factory]\nqueueConf = queues.conf\nauthConf = auth.conf\n"
                                             f"baseLogDir = {tmp}/logs\n")
            loaded = load(str(tmp / "apfctl.conf"), str(tmp / "state"))
            names = loaded.enabled_queues()
            for label, budget in BUDGETS_S.items():
                start = time.perf_counter()
                fields = list(credentials.credential_statuses([loaded.queue(n) for n in names], loaded.context,
                                                              refresh=True).values())
                elapsed = time.perf_counter() - start
                assert all(field["error"] is None for field in fields), fields[:3]
                print(f"auth.token_broker_{label}: {elapsed:.3f} s for {QUEUES} queues / {CES} CEs, "
                      f"{len(issuer.issued)} tokens obtained so far "
                      f"(budget {budget:g} s, ratio {elapsed / budget:.2f})")
    finally:
        issuer.stop()


if __name__ == "__main__":
    main()
