"""Start-up and whole-cycle figures of docs/architecture.md §7, printed as numbers and ratios.

* ``apfctl --help`` and ``apfctl decide`` on one record, against the bare interpreter's
  start-up (budget: at most twice the bare start-up plus 60 ms);
* ``apfctl cycle --all`` over 1,000 queues on the Local backend and the File WMS
  (budget: 10 s). The queues have no waiting work, so the figure is the factory's own cost:
  locks, one status query per endpoint, 1,000 decisions, the ledger.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 9
RECORD = {"apfctl": 1, "queue": "DEMO_SITE_A", "cycle": "20261125T060000Z-beef",
          "wms": {"plugin": "File", "ok": True, "ready": 5, "notready": 0, "running": 0, "done": 0, "failed": 0,
                  "status": "online", "error": None},
          "batch": {"plugin": "Local", "ok": True, "pending": 0, "held": 0, "running": 0, "exiting": 0,
                    "done_1h": 0, "fault_1h": 0, "error": None}}


def median_seconds(command: list[str], env: dict[str, str], stdin: str | None = None) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, input=stdin, env=env, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def startup(env: dict[str, str]) -> None:
    bare = median_seconds([sys.executable, "-c", "pass"], env)
    budget = 2 * bare + 0.060
    print(f"core.bare_interpreter: {bare * 1000:.1f} ms (median of {RUNS})")
    for name, args, stdin in (("help", ["--help"], None),
                              ("decide_one_record", ["decide", "--config", "embedded:demo"], json.dumps(RECORD))):
        took = median_seconds([sys.executable, "-m", "apfctl", *args], env, stdin)
        print(f"core.startup_{name}: {took * 1000:.1f} ms (budget {budget * 1000:.1f} ms = 2 x bare + 60 ms, "
              f"ratio {took / budget:.2f}; {took / bare:.1f} x bare)")


def cycle_all(env: dict[str, str], queues: int = 1000) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "wms.json").write_text(json.dumps({f"SITE_{i}": {"ready": 0, "status": "online"}
                                                   for i in range(queues)}))
        sections = "".join(f"[Q{i:04d}]\nwmsqueue = SITE_{i}\n\n" for i in range(queues))
        (root / "queues.conf").write_text(
            "[DEFAULT]\nenabled = True\nwmsstatusplugin = File\nwmsstatus.file.path = wms.json\n"
            "batchstatusplugin = Local\nbatchsubmitplugin = Local\nexecutable = /bin/true\n"
            "schedplugin = Ready, Scale, MaxPerCycle, MinPerCycle, StatusTest, StatusOffline, MaxPending\n"
            "sched.maxpercycle.maximum = 10\nsched.minpercycle.minimum = 0\nsched.maxpending.maximum = 20\n\n"
            + sections)
        (root / "apfctl.conf").write_text(f"[Factory]\nfactoryId = bench\nqueueConf = queues.conf\n"
                                          f"baseLogDir = {root / 'logs'}\n")
        run_env = dict(env, APFCTL_CONFIG=str(root / "apfctl.conf"), APFCTL_STATE_DIR=str(root / "state"))
        command = [sys.executable, "-m", "apfctl", "cycle", "--all", "--format", "json"]
        for attempt in ("first", "second"):
            start = time.perf_counter()
            result = subprocess.run(command, env=run_env, capture_output=True, text=True)
            took = time.perf_counter() - start
            count = sum(1 for line in result.stdout.splitlines() if line.strip())
            print(f"core.cycle_all_{attempt}: {took:.2f} s for {count} queues, exit {result.returncode} "
                  f"(budget 10 s, ratio {took / 10:.2f}; {took / max(count, 1) * 1000:.2f} ms per queue)")


def main() -> None:
    env = dict(os.environ, CONDOR_CONFIG="/dev/null")
    env.pop("APFCTL_CONFIG", None)
    with tempfile.TemporaryDirectory() as state:
        env["APFCTL_STATE_DIR"] = state
        startup(env)
    cycle_all(env)


if __name__ == "__main__":
    main()
