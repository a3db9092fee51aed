"""HTCondor status aggregation at scale (docs/architecture.md §7: 200,000 pilot ads over 1,000 queues, 1 s, 300 MB).

The ads are real ``classad2`` ads in the fake schedd (180,000 in the queue, 20,000 that
ended in the last hour in the history), fetched with the status plugin's constraint and
projection. Timed apart:

* the fake schedd's own cost (evaluating the constraint on every ad and projecting it),
  which a real schedd spends on its side and over the wire;
* the aggregation, the plugin's own work: splitting by queue, states, finished pilots and
  hold reasons (``apfctl_condor.states.aggregate``), timed and traced for peak memory.

Peak memory: the growth of the process's peak resident size from just before the query to
after the aggregation, i.e. the 200,000 projected ads as the bindings hand them over plus the
aggregation (``resource``; the fake schedd's own store is excluded as it lives in the schedd),
and what Python allocated during the aggregation alone (``tracemalloc``; classad2's ads
live in C++ memory, which tracemalloc does not see).
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
import tracemalloc

os.environ.setdefault("CONDOR_CONFIG", "/dev/null")

ADS = 200_000
HISTORY = 20_000
QUEUES = 1_000
BUDGET_S = 1.0
BUDGET_MB = 300.0
RUNS = 5
FID = "bench-factory"


def build_schedd():
    from apfctl_condor.testing import FakeSchedd

    now = int(time.time())
    schedd = FakeSchedd("bench")
    statuses = [1] * 50 + [2] * 35 + [5] * 5 + [6] * 5 + [0] * 5
    for i in range(ADS - HISTORY):
        status = statuses[i % len(statuses)]
        attrs = {"MATCH_APF_QUEUE": f"Q{i % QUEUES:04d}", "ApfctlFactory": FID, "JobStatus": status,
                 "ApfctlCycle": "20261125T060000Z-beef", "Cmd": "/usr/bin/runpilot.sh"}
        if status == 5:
            attrs.update(HoldReasonCode=13 + i % 3, HoldReasonSubCode=i % 2, HoldReason="Transfer input files failed")
        schedd.add_job(attrs, cluster=i + 1)
    for i in range(HISTORY):
        key = (ADS + i, 0)
        schedd.add_job({"MATCH_APF_QUEUE": f"Q{i % QUEUES:04d}", "ApfctlFactory": FID, "JobStatus": 4,
                        "ExitCode": 0 if i % 7 else 1, "CompletionDate": now - i % 3000,
                        "EnteredCurrentStatus": now - i % 3000,
                        "RemoteWallClockTime": float(i % 5000)}, cluster=key[0])
        schedd.leave(key)
    return schedd


def current_rss_mb() -> float:
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    from apfctl_condor.settings import pilot_constraint
    from apfctl_condor.states import HISTORY_ATTRS, QUEUE_ATTRS, aggregate

    start = time.perf_counter()
    schedd = build_schedd()
    print(f"condor.fake_schedd_setup: {time.perf_counter() - start:.2f} s for {ADS} ads (not part of the budget)")

    since = time.time() - 3600
    constraint = pilot_constraint(FID)
    rss_before = current_rss_mb()
    start = time.perf_counter()
    jobs = schedd.query(constraint, projection=list(QUEUE_ATTRS))
    history = schedd.history(f"({constraint}) && EnteredCurrentStatus >= {int(since)}", list(HISTORY_ATTRS),
                             since=f"EnteredCurrentStatus < {int(since)}")
    fake_cost = time.perf_counter() - start
    print(f"condor.fake_schedd_query: {fake_cost:.2f} s for {len(jobs)} + {len(history)} ads "
          "(the schedd's side; not part of the budget)")

    names = [f"Q{i:04d}" for i in range(QUEUES)]
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        counts = aggregate(jobs, history, names)
        timings.append(time.perf_counter() - start)
    took = statistics.median(timings)
    tracemalloc.start()
    aggregate(jobs, history, names)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    plugin_mb = peak_rss_mb() - rss_before

    total = sum(c.pending + c.held + c.running + c.exiting + len(c.finished) for c in counts.values())
    if total != ADS or len(counts) != QUEUES:
        print(f"condor.status_aggregation: WRONG RESULT: {total} ads counted over {len(counts)} queues")
        return 1
    print(f"condor.status_aggregation: {took:.2f} s for {ADS} ads / {QUEUES} queues "
          f"(budget {BUDGET_S:g} s, ratio {took / BUDGET_S:.2f}; median of {RUNS})")
    print(f"condor.status_aggregation_memory: {plugin_mb:.0f} MB peak for the received ads and their aggregation "
          f"(budget {BUDGET_MB:g} MB, ratio {plugin_mb / BUDGET_MB:.2f}); {traced_peak / 2**20:.1f} MB allocated "
          f"by the aggregation itself; process peak {peak_rss_mb():.0f} MB with the fake schedd's store")
    return 0


if __name__ == "__main__":
    sys.exit(main())
