"""The ``Metrics`` monitor plugin at scale: 1,000 queues with two hours of cycles (20 each).

* ``metrics.publish_first``: the first publish, which also counts the whole ledger's last
  hours into the Prometheus counters (``<state>/monitor/totals.json``). Budget 3 s.
* ``metrics.publish``: the publish after a further cycle of every queue, what each
  ``apfctl cycle --all`` pays from then on (view, counters, render, atomic write). Budget 2 s.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

QUEUES = 1_000
CYCLES = 20


def report(name: str, seconds: float, what: str, budget: float) -> None:
    print(f"{name}: {seconds:.2f} s for {what} (budget {budget:g} s, ratio {seconds / budget:.2f})")


def main() -> None:
    from apfctl.config.loader import load
    from apfctl.ledger import Ledger
    from apfctl.stages.publish import publish
    from tests.monitor.monitor_helpers import record, write_factory

    now = dt.datetime.now(dt.UTC)
    names = [f"SITE_{index:04d}" for index in range(QUEUES)]
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        out = tmp / "apfctl.prom"
        config = write_factory(tmp / "conf", {name: {"monitorsection": "metrics"} for name in names},
                               monitor_conf=f"[metrics]\nmonitorplugin = Metrics\nmetrics.file = {out}\n")
        loaded = load(str(config), str(tmp / "state"))
        with Ledger(tmp / "state") as ledger:
            for cycle in range(CYCLES):
                ledger.store(record(name, 6 * (CYCLES - cycle) - 5, now=now, submitted=cycle % 5) for name in names)

        started = time.perf_counter()
        publish(loaded, [record(names[0], 1, now=now)])
        report("metrics.publish_first", time.perf_counter() - started,
               f"{QUEUES} queues / {QUEUES * CYCLES} records", 3.0)
        if not out.is_file():
            raise SystemExit("metrics.publish wrote no file")

        records = [record(name, 0, now=now) for name in names]
        with Ledger(tmp / "state") as ledger:
            ledger.store(records)
        started = time.perf_counter()
        publish(loaded, records)
        report("metrics.publish", time.perf_counter() - started, f"{QUEUES} queues after one more cycle", 2.0)


if __name__ == "__main__":
    main()
