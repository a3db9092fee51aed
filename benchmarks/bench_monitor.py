"""The monitor at scale: 1,000 queues with two hours of cycles (20 each) in the ledger.

* ``monitor.snapshot``: the view from the ledger (last record of each queue, two hours of
  records for the sparklines); what every refresh of ``apfctl monitor`` costs. Budget 1 s.
* ``monitor.render_*``: the terminal table, the plain table, JSON and OpenMetrics text for
  that view. Budget 1 s each.
* ``monitor.refresh_cpu``: the CPU time (this process, all threads) of one refresh of the
  live table: the ledger view, the filter and sort of the keys, and the table drawn at 80
  columns, the mean of 5 refreshes. Budget 1 s of CPU.
* ``serve.queue_page``: the data of one queue's page of ``apfctl serve`` (24 hours), which
  reads that queue alone, not the factory's view; the mean of 10 queues. Budget 100 ms.
* ``apfmon.publish``: one cycle of 1,000 queues and 10,000 new pilots sent to a local
  apfmon (100 per PUT). Budget 5 s (well within apfmon.budget's default of 10 s).
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

QUEUES = 1_000
CYCLES = 20
PILOTS = 10


def report(name: str, seconds: float, what: str, budget: float) -> None:
    print(f"{name}: {seconds:.2f} s for {what} (budget {budget:g} s, ratio {seconds / budget:.2f})")


class _Apfmon(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PUT = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    from rich.console import Console

    from apfctl.config.loader import load
    from apfctl.dashboard import machine, plain, table
    from apfctl.dashboard.source import snapshot
    from apfctl.ledger import Ledger
    from apfctl.stages.publish import publish
    from tests.monitor.monitor_helpers import record, write_factory

    now = dt.datetime.now(dt.UTC)
    names = [f"SITE_{index:04d}" for index in range(QUEUES)]
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Apfmon)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/api"
        config = write_factory(tmp / "conf", {name: {"monitorsection": "apfmon"} for name in names},
                               monitor_conf=f"[apfmon]\nmonitorplugin = APFMon\nmonitorURL = {url}\n")
        loaded = load(str(config), str(tmp / "state"))
        with Ledger(tmp / "state") as ledger:
            for cycle in range(CYCLES):
                ledger.store(record(name, 6 * (CYCLES - cycle) - 5, now=now, submitted=cycle % 5) for name in names)

        started = time.perf_counter()
        view = snapshot(loaded)
        report("monitor.snapshot", time.perf_counter() - started,
               f"{QUEUES} queues / {QUEUES * CYCLES} records", 1.0)

        console = Console(file=io.StringIO(), width=160, force_terminal=True)
        for name, render in (("table", lambda: console.print(table.render(view, 160))),
                             ("plain", lambda: plain.render(view)),
                             ("json", lambda: machine.render_json(view)),
                             ("prometheus", lambda: machine.render_prometheus(view))):
            started = time.perf_counter()
            render()
            report(f"monitor.render_{name}", time.perf_counter() - started, f"{QUEUES} queues", 1.0)

        from apfctl.dashboard.navigate import Navigator

        narrow = Console(file=io.StringIO(), width=80, height=40, force_terminal=True)
        nav = Navigator(room=35)
        refreshes = 5
        started = time.process_time()
        for _ in range(refreshes):
            shown = snapshot(loaded)
            shown.rows = nav.rows(shown.rows)
            narrow.print(table.render(shown, 80, height=40, footer=nav.status(), first=nav.first))
        report("monitor.refresh_cpu", (time.process_time() - started) / refreshes,
               f"CPU per refresh, {QUEUES} queues at 80 columns", 1.0)

        from apfctl.cli.serve import dashboard

        pages = dashboard(loaded)
        started = time.perf_counter()
        for name in names[:10]:
            assert pages.queue_page(name, 24.0) is not None
        page = (time.perf_counter() - started) / 10
        print(f"serve.queue_page: {page * 1000:.1f} ms for one queue's page (24 h), {QUEUES} queues in the factory "
              f"(budget 100 ms, ratio {page / 0.1:.2f})")

        records = [record(name, 0, now=now, submitted=PILOTS) for name in names]
        started = time.perf_counter()
        publish(loaded, records)
        report("apfmon.publish", time.perf_counter() - started,
               f"{QUEUES} queues / {QUEUES * PILOTS} pilots", 5.0)
        server.shutdown()


if __name__ == "__main__":
    main()
