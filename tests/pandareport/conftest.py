import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _end_local_pilots(tmp_path: Path) -> Iterator[None]:
    """End every Local pilot this test left behind (only ours: recorded pid and start time match)."""
    yield
    from apfctl_local import pilotstate

    for folder in tmp_path.glob("**/state/local/*"):
        for _, state in pilotstate.scan(folder):
            if pilotstate.runner_alive(state):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(state["pid"], signal.SIGKILL)
