"""Slurm batch status at scale: 1,000 pilots over 50 queues on the local cluster, one squeue.

Submits 20 pilots to each of 50 queues (one job array each, held so they stay pending and
use no CPU), then times the status stage's work for all 50 queues: the plugin's ``query``
(one ``squeue`` and one history read, sorted into queues) and the whole stage
(``apfctl.stages.status.collect``). A counting wrapper around ``squeue`` shows how many
calls were made. For comparison it also times the bare ``squeue -o`` that apfctl runs and
``squeue --json`` over the same jobs.
Needs the project's local Slurm (``sudo make slurm-up``); says so and exits 0 without it.

Budget: 1 s for the whole stage (the status aggregation budget of docs/architecture.md §7, for 200,000
Condor ads, is also 1 s).
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

QUEUES = 50
PER_QUEUE = 20
RUNS = 5
BUDGET_S = 1.0


def _best(action: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    from tests.slurm.slurm_helpers import Site, slurm_problem

    problem = slurm_problem()
    if problem:
        print(f"slurm.status: skipped: {problem} (start the local cluster with `sudo make slurm-up`)")
        return

    from apfctl_slurm.batchstatus import SlurmBatchStatus
    from apfctl_slurm.jobs import SQUEUE_FORMAT

    from apfctl.stages.status import collect
    from apfctl.stages.submit import Submitter

    with tempfile.TemporaryDirectory() as folder:
        site = Site(Path(folder))
        counter = Path(folder) / "squeue.calls"
        wrapper = Path(folder) / "squeue"
        wrapper.write_text(f'#!/bin/sh\necho call >> {counter}\nexec squeue "$@"\n')
        wrapper.chmod(0o755)
        names = [f"BENCH_{index:02d}" for index in range(QUEUES)]
        site.write({name: {"batchsubmit.slurm.options": "--hold", "slurm.squeue": str(wrapper)} for name in names})
        loaded = site.loaded()
        try:
            submitter = Submitter(loaded, None)
            start = time.perf_counter()
            for name in names:
                submitter.plugin(name).submit(PER_QUEUE, "20261125T000000Z-bench")
            submit_s = time.perf_counter() - start

            queues = [loaded.queue(name) for name in names]
            endpoint = SlurmBatchStatus.endpoint(queues[0], loaded.context)
            since = time.time() - 3600
            counts = SlurmBatchStatus(endpoint, loaded.context).query(queues, since)
            total = sum(c.held for c in counts.values() if not isinstance(c, Exception))
            assert total == QUEUES * PER_QUEUE, f"expected {QUEUES * PER_QUEUE} held pilots, saw {total}"

            counter.unlink()
            records = collect(loaded, names)
            calls = len(counter.read_text().splitlines())
            assert all(r["batch"]["held"] == PER_QUEUE for r in records), records[0]["batch"]

            query_s = _best(lambda: SlurmBatchStatus(endpoint, loaded.context).query(queues, since))
            stage_s = _best(lambda: collect(loaded, names))
            plain_s = _best(lambda: subprocess.run(["squeue", "--me", "-h", "-r", "--states=all", "-o", SQUEUE_FORMAT],
                                                   capture_output=True, check=True))
            json_s = _best(lambda: subprocess.run(["squeue", "--json"], capture_output=True, check=True))
            jobs = QUEUES * PER_QUEUE
        finally:
            site.cancel_all()

    print(f"slurm.submit: {submit_s:.3f} s for {jobs} pilots as {QUEUES} job arrays "
          f"({submit_s / QUEUES * 1e3:.1f} ms per sbatch)")
    print(f"slurm.status_query: {query_s:.3f} s for {jobs} pilots / {QUEUES} queues, one squeue "
          f"({query_s / jobs * 1e6:.0f} us per pilot)")
    print(f"slurm.status_stage: {stage_s:.3f} s for {jobs} pilots / {QUEUES} queues, {calls} squeue call(s) "
          f"({stage_s / jobs * 1e6:.0f} us per pilot) (budget {BUDGET_S:g} s, ratio {stage_s / BUDGET_S:.2f})")
    print(f"slurm.squeue_commands_alone: squeue -o {plain_s * 1e3:.0f} ms (what apfctl runs), "
          f"squeue --json {json_s * 1e3:.0f} ms (ignores filters, ~110 fields per job); the rest of the "
          f"stage is mostly sacct")
    if calls != 1:
        raise SystemExit(f"slurm.status_stage made {calls} squeue calls for {QUEUES} queues, not 1")


if __name__ == "__main__":
    main()
