"""Local backend figures: batch status over many queues, and how fast pilots are started.

* ``local.status``: one ``LocalBatchStatus.query`` over 1,000 queues holding 10 pilot state
  files each (pending, running, ended; live runners are checked in /proc), i.e. one directory
  scan per queue and one read per pilot. Budget 1 s (docs/architecture.md §7).
* ``local.submit``: 100 real pilots (``/bin/true``) started by one ``submit`` call, each a
  detached runner process; the figure is the time until every pilot is recorded. No budget.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from apfctl_local import pilotstate
from apfctl_local.status import LocalBatchStatus
from apfctl_local.submit import LocalSubmit

from apfctl.config.model import FactoryConfig, Origin, QueueConfig, RawValue
from apfctl.interfaces import FactoryContext

QUEUES = 1000
PILOTS_PER_QUEUE = 10
SUBMITTED = 100


def _factory(root: Path) -> FactoryContext:
    config = FactoryConfig("Factory", {"baseLogDir": RawValue(str(root / "logs"), Origin("bench"))})
    return FactoryContext(config=config, state_dir=root / "state")


def status(root: Path) -> None:
    factory = _factory(root)
    me = {"pid": os.getpid(), "pid_start": pilotstate.proc_start_time(os.getpid())}
    now = time.time()
    queues = []
    for q in range(QUEUES):
        name = f"Q{q:04d}"
        folder = pilotstate.queue_dir(factory.state_dir, name)
        folder.mkdir(parents=True)
        for i in range(PILOTS_PER_QUEUE):
            state = {"id": f"C.{name}.{i}", "seq": i, "submitted": now - 100, "started": now - 50 if i % 2 else None,
                     "ended": now - 10 if i >= 6 else None, "exit_code": 0, "removed": None, **me}
            if i >= 8:
                state["pid"] = -1  # runner gone: a finished pilot
            pilotstate.write_state(pilotstate.state_path(folder, state["id"]), state)
        queues.append(QueueConfig(name, {}))
    plugin = LocalBatchStatus(LocalBatchStatus.endpoint(queues[0], factory), factory)
    start = time.perf_counter()
    plugin.query(queues, now - 3600)
    took = time.perf_counter() - start
    print(f"local.status: {took:.3f} s for {QUEUES * PILOTS_PER_QUEUE} pilots / {QUEUES} queues "
          f"(budget 1 s, ratio {took:.2f})")


def submit(root: Path) -> None:
    factory = _factory(root)
    queue = QueueConfig("BENCH", {"executable": RawValue("/bin/true", Origin("bench")),
                                  "batchsubmit.local.slots": RawValue("8", Origin("bench"))})
    submitter = LocalSubmit("Local", queue, factory)
    start = time.perf_counter()
    ids = submitter.submit(SUBMITTED, "C1").ids
    took = time.perf_counter() - start
    print(f"local.submit: {took:.2f} s for {len(ids)} pilots ({took / max(len(ids), 1) * 1000:.1f} ms per pilot)")
    folder = pilotstate.queue_dir(factory.state_dir, "BENCH")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(s.get("ended") is None or pilotstate.runner_alive(s)
                                              for _, s in pilotstate.scan(folder)):
        time.sleep(0.1)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        status(Path(folder) / "status")
        submit(Path(folder) / "submit")


if __name__ == "__main__":
    main()
