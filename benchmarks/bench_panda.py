"""PanDA and CRIC: HTTP fetches per endpoint for 1,000 queues (docs/architecture.md §7: budget exactly 1).

A local HTTP server answers in PanDA's v1 formats (``apfctl_panda.testkit``); 1,000 queues
over 250 sites go through the real status stage; the server's log counts the requests per
path. Then 1,000 CRIC queues are configured from a CRIC document on the same kind of server,
loaded twice (a second cron run inside the refresh interval). Time is printed for
information; the budget is the count.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path

from apfctl_panda import api, testkit
from pytest_httpserver import HTTPServer

from apfctl.config.loader import load
from apfctl.stages.status import collect

QUEUES = 1000
SITES = 250
CRIC_PATH = "/api/atlas/pandaqueue/query/"


def report(name: str, counts: dict[str, int], paths: list[str], took: float, what: str) -> bool:
    worst = max(counts.get(path, 0) for path in paths)
    detail = ", ".join(f"{path.rstrip('/').rsplit('/', 1)[-1]}={counts.get(path, 0)}" for path in paths)
    print(f"{name}: {worst} fetch(es) per endpoint ({detail}) for {what} in {took:.2f} s "
          f"(budget 1, ratio {worst:.2f})")
    return worst == 1 and all(counts.get(path, 0) == 1 for path in paths)


def panda(folder: Path, server: HTTPServer) -> bool:
    sites = [f"SITE_{i:03d}" for i in range(SITES)]
    detailed = {site: {"SCORE": {"managed": {"activated": i, "running": 2 * i, "defined": 1}},
                       "MCORE": {"user": {"activated": 1, "finished": 3}}} for i, site in enumerate(sites)}
    testkit.serve_panda(server, detailed, {site: "online" for site in sites})
    lines = ["[DEFAULT]", "enabled = True", "wmsstatusplugin = Panda",
             f"wmsstatus.panda.baseurl = {server.url_for('/').rstrip('/')}", "batchstatusplugin = Local",
             "batchsubmitplugin = Local", "schedplugin = Ready", "executable = /bin/true"]
    for i in range(QUEUES):
        lines += [f"[Q{i:04d}]", f"wmsqueue = {sites[i % SITES]}"]
        if i % 10 == 0:
            lines.append("wmsstatus.panda.labels = managed")
    (folder / "queues.conf").write_text("\n".join(lines) + "\n")
    (folder / "apfctl.conf").write_text("[Factory]\nfactoryId = bench\nqueueConf = queues.conf\n")
    loaded = load(str(folder / "apfctl.conf"), folder / "state")
    start = time.perf_counter()
    records = collect(loaded, loaded.enabled_queues())
    took = time.perf_counter() - start
    if sum(r["wms"]["ok"] for r in records) != QUEUES:
        print("panda.fetches_per_endpoint: FAILED, some queue has no WMS status")
        return False
    return report("panda.fetches_per_endpoint", testkit.fetches(server),
                  [api.SITE_SPECS, api.JOB_STATS, api.DETAILED_JOB_STATS], took, f"{QUEUES} queues")


def cric(folder: Path, server: HTTPServer) -> bool:
    document = {f"PQ_{i:04d}": testkit.cric_queue(f"PQ_{i:04d}", [testkit.cric_ce(f"ce{i:04d}.example.org:9619")])
                for i in range(QUEUES)}
    server.expect_request(CRIC_PATH).respond_with_data(json.dumps(document), content_type="application/json")
    (folder / "apfctl.conf").write_text(
        "[Factory]\nfactoryId = bench\nconfig.queues.plugin = CRIC\n"
        f"config.queues.cric.url = {server.url_for(CRIC_PATH)}?json\n")
    start = time.perf_counter()
    sizes = [len(load(str(folder / "apfctl.conf"), folder / "state").queues) for _ in range(2)]
    took = time.perf_counter() - start
    if sizes != [QUEUES, QUEUES]:
        print(f"cric.fetches_per_refresh: FAILED, {sizes} queues configured instead of {QUEUES}")
        return False
    return report("cric.fetches_per_refresh", testkit.fetches(server), [CRIC_PATH], took,
                  f"{QUEUES} queues loaded twice")


def main() -> int:
    os.environ.setdefault("CONDOR_CONFIG", "/dev/null")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)   # one access-log line per request otherwise
    ok = True
    for bench in (panda, cric):
        server = HTTPServer(host="localhost", port=0)
        server.start()
        try:
            with tempfile.TemporaryDirectory() as folder:
                os.environ["APFCTL_STATE_DIR"] = str(Path(folder) / "state")
                ok = bench(Path(folder), server) and ok
        finally:
            server.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
