"""Decide throughput (docs/architecture.md §7: at least 90,000 records/s through a 7-rule chain, as a command).

The headline figure is ``apfctl decide`` as a command on a file of 100,000 status records
over 1,000 queues (the chain of APF's worked example: Ready, Scale, MaxPerCycle,
MinPerCycle, StatusTest, StatusOffline, MaxPending), JSON in and out, every line fully
checked (``apfctl.record.check``), process start, config load and queue checks included.
In-process figures split the path: read and check (``read_records``), the check alone, the
decision (the real ``Decider``), the rules alone, and writing (``dumps``); a second chain
runs the 4 new guards on top (11 rules), for information. The ratio is budget / measured:
below 1 is within budget. The collector is off while the records are held, as the command
does (``apfctl/cli/stages.py``).
"""

from __future__ import annotations

import gc
import io
import json
import random
import tempfile
import time
from pathlib import Path

from apfctl.config.loader import load
from apfctl.record import check, dumps, dumps_line, read_records
from apfctl.stages.decide import Decider

RECORDS = 100_000
QUEUES = 1_000
BUDGET = 90_000  # records per second, the command end to end
REPEAT = 2  # the whole path is timed this many times; the best counts (shared, noisy machines)
CHAIN = "Ready, Scale, MaxPerCycle, MinPerCycle, StatusTest, StatusOffline, MaxPending"
GUARDS = "HeldGuard, CircuitBreaker, RampUp, CredentialLifetime"


def write_config(folder: Path, chain: str) -> Path:
    lines = ["[DEFAULT]", "enabled = True", "wmsstatusplugin = File", "wmsstatus.file.path = wms.json",
             "batchstatusplugin = Local", "batchsubmitplugin = Local", "executable = /bin/true",
             f"schedplugin = {chain}", "sched.ready.offset = 4", "sched.scale.factor = 0.5",
             "sched.maxpercycle.maximum = 100", "sched.minpercycle.minimum = 0", "sched.statustest.pilots = 3",
             "sched.statusoffline.pilots = 1", "sched.maxpending.maximum = 25", "sched.rampup.curbs = 10, 50",
             "sched.credentiallifetime.walltime = 3600", ""]
    lines += [f"[BENCH_{i:04d}]" for i in range(QUEUES)]
    (folder / "queues.conf").write_text("\n".join(lines) + "\n")
    (folder / "wms.json").write_text("{}")
    config = folder / "apfctl.conf"
    config.write_text(f"[Factory]\nfactoryId = bench\nbaseLogDir = {folder / 'logs'}\nqueueConf = queues.conf\n")
    return config


def make_lines(seed: int = 7) -> str:
    rng = random.Random(seed)
    out = io.StringIO()
    for i in range(RECORDS):
        record = {
            "apfctl": 1, "queue": f"BENCH_{i % QUEUES:04d}", "cycle": f"20261125T060000Z-{i:05x}",
            "wms": {"plugin": "File", "ok": True, "time": "2026-11-25T06:00:01Z", "queue": "X",
                    "ready": rng.randrange(0, 400), "notready": 0, "running": rng.randrange(0, 200), "done": 0,
                    "failed": 0, "status": rng.choice(("online", "online", "online", "test", "offline")),
                    "error": None},
            "batch": {"plugin": "Local", "ok": True, "time": "2026-11-25T06:00:01Z",
                      "pending": rng.randrange(0, 60), "held": rng.randrange(0, 3), "running": rng.randrange(0, 200),
                      "exiting": rng.randrange(0, 3), "done_1h": rng.randrange(0, 50), "fault_1h": rng.randrange(0, 20),
                      "factory_total": 5000, "credential": {"lifetime": rng.choice((1800.0, 90000.0))},
                      "error": None},
        }
        out.write(json.dumps(record, separators=(",", ":")))
        out.write("\n")
    return out.getvalue()


def measure(chain: str, text: str) -> dict[str, float]:
    """Seconds for the in-process path (best of REPEAT), then for each part."""
    with tempfile.TemporaryDirectory() as folder:
        decider = Decider(load(str(write_config(Path(folder), chain)), folder))
        data = text.encode()
        whole = float("inf")
        gc.disable()
        for _ in range(REPEAT):
            sink = io.BytesIO()
            start = time.perf_counter()
            records = [record for _, record in read_records(io.BytesIO(data))]
            for record in records:
                decider.decide(record)
            sink.writelines(map(dumps_line, records))
            whole = min(whole, time.perf_counter() - start)
            del records
        start = time.perf_counter()
        records = [record for _, record in read_records(io.BytesIO(data))]
        parse = time.perf_counter() - start
        start = time.perf_counter()
        for record in records:
            check(record)
        alone = time.perf_counter() - start
        start = time.perf_counter()
        for record in records:
            decider.decide(record)
        decide = time.perf_counter() - start
        start = time.perf_counter()
        for record in records:
            n = 0
            for _, rule in decider.chain(record["queue"]):
                n, _ = rule(n, record)
        rules = time.perf_counter() - start
        start = time.perf_counter()
        for record in records:
            dumps(record)
        encode = time.perf_counter() - start
        del records
        gc.enable()
    return {"whole": whole, "read+check": parse, "check alone": alone, "decide": decide, "rules": rules,
            "dumps": encode}


def json_floor(text: str) -> float:
    """Seconds to only parse and re-encode every line (no check, no decision): the floor."""
    loads = json.loads
    start = time.perf_counter()
    for line in text.splitlines():
        dumps(loads(line))
    return time.perf_counter() - start


def cli_end_to_end(text: str) -> float:
    """Seconds for the ``apfctl decide`` command on a file (best of REPEAT): start-up, config, 1,000 queue checks."""
    import os
    import subprocess
    import sys

    with tempfile.TemporaryDirectory() as folder:
        config = write_config(Path(folder), CHAIN)
        (Path(folder) / "in.jsonl").write_text(text)
        env = dict(os.environ, APFCTL_STATE_DIR=folder)
        command = [sys.executable, "-m", "apfctl", "decide", "--config", str(config), str(Path(folder) / "in.jsonl")]
        took = float("inf")
        for _ in range(REPEAT):
            start = time.perf_counter()
            subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)
            took = min(took, time.perf_counter() - start)
    return took


def main() -> None:
    text = make_lines()
    took = cli_end_to_end(text)
    rate = RECORDS / took
    print(f"decide.cli_end_to_end: {rate:,.0f} records/s ({took:.2f} s for `apfctl decide` on {RECORDS:,} lines of "
          f"{QUEUES:,} queues, 7-rule chain, full validation, JSON in and out: process start, config load and queue "
          f"checks included; budget >= {BUDGET:,}/s, ratio {BUDGET / rate:.2f})")
    floor = json_floor(text)
    print(f"decide.json_floor: {RECORDS / floor:,.0f} records/s ({floor / RECORDS * 1e6:.1f} us/record to parse and "
          f"re-encode a status line, before any check or rule: the ceiling for this JSON codec on this machine)")
    for name, chain in (("decide.in_process_7_rules", CHAIN), ("decide.in_process_11_rules", f"{CHAIN}, {GUARDS}")):
        times = measure(chain, text)
        rate = RECORDS / times["whole"]
        rules = chain.count(",") + 1
        parts = ", ".join(f"{part} {seconds / RECORDS * 1e6:.1f}" for part, seconds in times.items() if part != "whole")
        print(f"{name}: {rate:,.0f} records/s ({times['whole']:.2f} s for {RECORDS:,} records / {QUEUES:,} queues, "
              f"{rules}-rule chain, read+check -> decide -> dumps; us/record: {parts})")
        if rules == 7:
            alone = RECORDS / times["check alone"]
            each = times["check alone"] / RECORDS * 1e6
            print(f"decide.validator_alone: {alone:,.0f} records/s ({each:.1f} us/record "
                  f"to check every field of a parsed status record; ratio to the command budget "
                  f"{BUDGET / alone:.2f}: the share of the budget full validation takes)")


if __name__ == "__main__":
    main()
