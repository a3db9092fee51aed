"""PanDA reporting at scale: 1,000 queues, 10 new pilots each, reported through the Harvester API.

* ``pandareport.worker_ids``: the submit stage's share, 1,000 submissions of 10 pilots each
  taking a block of worker ids and storing the batch ids beside them (CPU time). Budget 1 s.
* ``pandareport.publish``: one cycle's report of those 10,000 new workers to a local HTTP
  server answering as PanDA: a heartbeat, 100 ``update_workers`` of 100 workers and 1,000
  ``report_worker_statistics`` (wall time). Budget 15 s, pandareport.budget's default.
* ``pandareport.publish_down``: the same cycle with PanDA refusing connections: what the
  cycle pays when PanDA is down (every call goes to the outbox; building the report is not
  under pandareport.budget, only the sending is). Budget 2 s.
"""

from __future__ import annotations

import json
import socket
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

QUEUES = 1_000
PILOTS = 10


def report(name: str, seconds: float, what: str, budget: float) -> None:
    print(f"{name}: {seconds:.2f} s for {what} (budget {budget:g} s, ratio {seconds / budget:.2f})")


class _Panda(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        data = [True] * len(body["workers"]) if "workers" in body else None
        answer = json.dumps({"success": True, "message": "", "data": data}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    from apfctl.config.loader import load
    from apfctl.ledger import Ledger
    from apfctl.stages.publish import publish
    from apfctl.workers import WorkerLedger
    from tests.monitor.monitor_helpers import record, write_factory

    names = [f"SITE_{index:04d}" for index in range(QUEUES)]
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Panda)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        for label, url in (("publish", f"http://127.0.0.1:{server.server_address[1]}"),
                           ("publish_down", f"http://127.0.0.1:{closed_port()}")):
            state = tmp / label
            config = write_factory(tmp / f"conf-{label}", {name: {"monitorsection": "panda"} for name in names},
                                   monitor_conf=f"[panda]\nmonitorplugin = PandaReport\npandareport.baseurl = {url}\n"
                                                "pandareport.outbox = 5000\n")
            loaded = load(str(config), str(state))
            with Ledger(state) as ledger:
                workers = WorkerLedger(ledger)
                started = time.process_time()
                for name in names:
                    block = workers.allocate("bench", PILOTS)
                    workers.record(name, "20261201T120000Z-0001", None,
                                   {f"{name}.{i}": worker for i, worker in enumerate(block.ids())})
                took = time.process_time() - started
            if label == "publish":
                report("pandareport.worker_ids", took, f"{QUEUES} submissions of {PILOTS} pilots", 1.0)
            records = [record(name, 0, submitted=PILOTS) for name in names]
            started = time.perf_counter()
            publish(loaded, records)
            report(f"pandareport.{label}", time.perf_counter() - started,
                   f"{QUEUES} queues / {QUEUES * PILOTS} workers", 15.0 if label == "publish" else 2.0)
        server.shutdown()


if __name__ == "__main__":
    main()
