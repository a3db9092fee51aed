"""``apfctl status`` against the real factory pool holding 5,000 idle pilots over 100 queues.

Beside it, in the same run, the HTCondor tools asking the schedd the same: ``condor_q -af``
and ``condor_history -af`` with the status plugin's constraint and attributes (apfctl asks
both). Printed as times and ratios (goal: apfctl within 1.5x of the tools' own time):

* ``status_stage``: the status stage in one process (``collect`` for the 100 queues: schedd
  location, the two schedd calls, aggregation, records), medians of a few runs;
* ``status_cli``: ``apfctl status --all`` as a command, Python start-up included;
* the number of schedd ``query`` and ``history`` calls for all 100 queues (must be 1 and 1).

Pilots stay idle: ``requirements = False`` matches no slot. Run by ``make bench`` after
``scripts/condor-pools.sh up``; the pools' settings come from ``APFCTL_CONDOR_POOLS``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUEUES = 100
PER_QUEUE = 50
FID = f"bench-{os.getpid()}"   # earlier runs' pilots (removed: in the history now) do not match
RUNS = 7
GOAL = 1.5
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))   # the repository: tests.condor.real_pools


def fill(schedd) -> None:
    import htcondor2

    for q in range(QUEUES):
        name = f"BENCH_{q:03d}"
        description = htcondor2.Submit({
            "executable": "/bin/true", "requirements": "False", "universe": "vanilla",
            "+MATCH_APF_QUEUE": f'"{name}"', "+ApfctlFactory": f'"{FID}"',
            "+ApfctlCycle": '"20261201T000000Z-bench"'})
        schedd.submit(description, count=PER_QUEUE)


def factory_files(folder: Path) -> Path:
    queues = "".join(f"[BENCH_{q:03d}]\nenabled = True\nbatchstatusplugin = Condor\nbatchsubmitplugin = CondorLocal\n"
                     f"schedplugin = Ready\nwmsstatusplugin = None\nexecutable = /bin/true\n\n" for q in range(QUEUES))
    (folder / "queues.conf").write_text(queues)
    conf = folder / "apfctl.conf"
    conf.write_text(f"[Factory]\nfactoryId = {FID}\nfactoryAdminEmail = admin@example.org\nfactoryUser = apf\n"
                    f"baseLogDir = {folder / 'logs'}\nqueueConf = queues.conf\n")
    return conf


def median_times(runs: dict, rounds: int = RUNS) -> dict[str, float]:
    """Median time of each run, measured in turns (the machine is shared: load hits all alike)."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for turn in range(rounds + 1):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            if turn:   # turn 0 warms caches, the schedd's and the collector's first answers
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


class Counting:
    """A schedd factory for the plugins' seam that counts the calls made on the real schedds."""

    def __init__(self) -> None:
        from apfctl_condor.schedd import connect

        self.connect = connect
        self.calls: list[str] = []

    def __call__(self, endpoint):
        schedd = self.connect(endpoint)
        counter = self

        class Proxy:
            def __getattr__(self, name):
                counter.calls.append(name)
                return getattr(schedd, name)

        return Proxy()


def main() -> int:
    from tests.condor.real_pools import Pools, use_config

    pools_file = os.environ.get("APFCTL_CONDOR_POOLS")
    if not pools_file:
        print("condor.real_status: SKIPPED (no APFCTL_CONDOR_POOLS; run scripts/condor-pools.sh up)")
        return 0
    pools = Pools.from_env_file(pools_file)
    with use_config(pools.factory_config), tempfile.TemporaryDirectory(prefix="apfctl-bench-") as tmp:
        import htcondor2
        from apfctl_condor.schedd import history_stop, use_schedd_factory
        from apfctl_condor.settings import pilot_constraint
        from apfctl_condor.states import HISTORY_ATTRS, QUEUE_ATTRS

        from apfctl.config.loader import load
        from apfctl.stages.status import collect

        schedd = htcondor2.Schedd()
        constraint = pilot_constraint(FID)
        schedd.act(htcondor2.JobAction.Remove, constraint, ("bench: leftovers", None))
        start = time.perf_counter()
        fill(schedd)
        print(f"condor.real_fill: {time.perf_counter() - start:.1f} s to submit {QUEUES * PER_QUEUE} idle pilots "
              f"over {QUEUES} queues (not part of the comparison)")
        try:
            conf = factory_files(Path(tmp))
            loaded = load(str(conf), str(Path(tmp) / "state"))
            names = list(loaded.queues)
            counting = Counting()
            with use_schedd_factory(counting):
                records = collect(loaded, names)
            pending = sum(r["batch"].get("pending", 0) for r in records)
            calls = {name: counting.calls.count(name) for name in ("query", "history")}
            print(f"condor.real_status_calls: {calls['query']} query and {calls['history']} history call(s) "
                  f"for {len(names)} queues ({'OK' if calls == {'query': 1, 'history': 1} else 'WRONG'}); "
                  f"{pending} pending counted ({'OK' if pending == QUEUES * PER_QUEUE else 'WRONG'})")
            since = int(time.time()) - 3600
            tools = pools.release / "bin"
            env = {**os.environ, "CONDOR_CONFIG": pools.factory_config}
            queue_cmd = [str(tools / "condor_q"), "-allusers", "-constraint", constraint, "-af", *QUEUE_ATTRS]
            history_cmd = [str(tools / "condor_history"), "-constraint",   # the scan stops where apfctl's does
                           f"({constraint}) && EnteredCurrentStatus >= {since}", "-since", history_stop(since),
                           "-af", *HISTORY_ATTRS]

            def tools_run() -> None:
                for cmd in (queue_cmd, history_cmd):
                    subprocess.run(cmd, env=env, capture_output=True, check=True, timeout=120)

            cli = [str(Path(sys.executable).parent / "apfctl"), "status", "--all", "--config", str(conf)]
            env["APFCTL_STATE_DIR"] = str(Path(tmp) / "state")

            def cli_run() -> None:
                result = subprocess.run(cli, env=env, capture_output=True, check=False, timeout=120)
                if result.returncode != 0:
                    raise SystemExit(f"condor.real_status_cli: apfctl status failed: {result.stderr[-500:]!r}")

            took = median_times({
                "condor_q": lambda: subprocess.run(queue_cmd, env=env, capture_output=True, check=True, timeout=120),
                "tools": tools_run, "stage": lambda: collect(loaded, names), "cli": cli_run})
            condor_q_alone, reference, stage, command = (took[k] for k in ("condor_q", "tools", "stage", "cli"))
        finally:
            schedd.act(htcondor2.JobAction.Remove, constraint, ("bench over", None))
    print(f"condor.real_condor_q: {condor_q_alone * 1000:.0f} ms (condor_q -af alone); "
          f"{reference * 1000:.0f} ms with condor_history -af (the two queries apfctl makes)")
    for label, seconds in (("status_stage", stage), ("status_cli", command)):
        ratio = seconds / reference
        print(f"condor.real_{label}: {seconds * 1000:.0f} ms for {QUEUES} queues / {QUEUES * PER_QUEUE} pilots, "
              f"{ratio:.2f}x condor_q + condor_history (goal {GOAL}x: {'OK' if ratio <= GOAL else 'OVER'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
