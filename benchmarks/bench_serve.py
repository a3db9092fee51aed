"""``apfctl serve`` under load: 200 clients at once, each fetching a small pilot log 5 times.

The server runs as a real uvicorn in this process (a thread); the clients are threads with
their own connections. Reported: the wall time for all 1,000 requests, and the slowest
request (the old ``http.server`` log server took up to 2.7 s for 50 clients and timed out
at 30 s for 200). Budget 10 s for the whole, 5 s for the slowest request.
"""

from __future__ import annotations

import http.client
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CLIENTS = 200
REQUESTS = 5


def report(name: str, seconds: float, what: str, budget: float) -> None:
    print(f"{name}: {seconds:.2f} s for {what} (budget {budget:g} s, ratio {seconds / budget:.2f})")


def main() -> None:
    from apfctl.serve.app import build_app
    from apfctl.serve.logs import ServeRules
    from tests.support import serving

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "logs"
        (root / "2026-11-25" / "Q").mkdir(parents=True)
        (root / "2026-11-25" / "Q" / "p.out").write_text("0123456789")
        app = build_app(ServeRules.build(root, index=True, allow_robots=False))
        with serving(app) as port:

            def client(_: int) -> float:
                slowest = 0.0
                for _ in range(REQUESTS):
                    started = time.perf_counter()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    connection.request("GET", "/2026-11-25/Q/p.out")
                    response = connection.getresponse()
                    assert response.status == 200 and response.read() == b"0123456789"
                    connection.close()
                    slowest = max(slowest, time.perf_counter() - started)
                return slowest

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
                slowest = max(pool.map(client, range(CLIENTS)))
            report("serve.concurrent", time.perf_counter() - started,
                   f"{CLIENTS} clients x {REQUESTS} requests", 10.0)
            report("serve.slowest_request", slowest, f"the slowest of {CLIENTS * REQUESTS}", 5.0)


if __name__ == "__main__":
    main()
