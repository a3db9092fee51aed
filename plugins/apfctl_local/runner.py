"""The runners of Local pilots: ``python -m apfctl_local.runner <state file>...``.

One invocation serves a whole submission (one interpreter start-up, not one per pilot): it
forks a runner per state file, prints their pids in order for the submitter, and exits, so
the runners are neither the factory's children nor in its process group (each starts its
own session). Each runner waits until the submitter has recorded it, waits for a free slot
of its queue (the pilot is *pending* meanwhile), runs the payload with stdin from /dev/null,
and records when it started and ended and its exit code. Retirement is a SIGTERM to the
runner's process group: a pending runner stops waiting, a running payload receives the
signal too and is killed after a grace period if it does not end.

Lean on purpose (standard library and :mod:`apfctl_local.pilotstate` only).
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from types import FrameType

from apfctl_local import pilotstate

SLOT_POLL_SECONDS = 0.2


class Runner:
    """One pilot's life after submission, recorded in its state file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.folder = path.parent
        self.terminated = False
        self.grace = 30
        self.payload: subprocess.Popen[bytes] | None = None

    # -- signals ------------------------------------------------------------------------
    def _on_term(self, signum: int, frame: FrameType | None) -> None:
        if not self.terminated:
            self.terminated = True
            signal.alarm(max(1, self.grace))

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if self.payload is not None and self.payload.poll() is None:
            self.payload.kill()

    # -- the pilot's life -----------------------------------------------------------------
    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGALRM, self._on_alarm)
        with pilotstate.folder_lock(self.folder):  # the submitter holds it until our file exists
            state = pilotstate.read_state(self.path)
        if state is None or state.get("pid") != os.getpid():
            print(f"runner {os.getpid()}: {self.path} does not record this runner; exiting", file=sys.stderr)
            return 1
        log = os.open(state["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(log, 2)  # from here on, the runner's own complaints go to its pilot's log
        os.close(log)
        self.grace = int(state.get("grace", self.grace))
        slot = self._wait_for_slot(int(state.get("slots", 1)))
        try:
            started = self._start(slot is not None)
            if started:
                returncode = started.wait()
                self._record_end(returncode)
        finally:
            if slot is not None:
                os.close(slot)
        return 0

    def _wait_for_slot(self, slots: int) -> int | None:
        """A locked slot file descriptor, or None if terminated while waiting (pending)."""
        folder = self.folder / pilotstate.SLOTS_FOLDER
        folder.mkdir(exist_ok=True)
        fds = [os.open(folder / f"{i}.lock", os.O_RDWR | os.O_CREAT, 0o644) for i in range(max(1, slots))]
        try:
            while not self.terminated:
                for fd in fds:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue
                    fds.remove(fd)
                    return fd
                time.sleep(SLOT_POLL_SECONDS)
            return None
        finally:
            for fd in fds:
                os.close(fd)

    def _start(self, have_slot: bool) -> subprocess.Popen[bytes] | None:
        """Start the payload unless retired or terminated first; records what happened."""
        with pilotstate.folder_lock(self.folder):
            state = pilotstate.read_state(self.path) or {}
            now = time.time()
            if not have_slot or self.terminated or state.get("removed"):
                state.update(ended=now, exit_code=None, signal=signal.SIGTERM.value if self.terminated else None)
                pilotstate.write_state(self.path, state)
                pilotstate.log_event(state["log"], "ended before it started (terminated while pending)")
                return None
            env = dict(os.environ)
            env.update(state.get("env") or {})
            try:
                with open(state["out"], "ab") as out, open(state["err"], "ab") as err:
                    self.payload = subprocess.Popen(
                        state["command"], stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                        cwd=state.get("cwd"), env=env,
                    )
            except OSError as exc:
                code = 127 if isinstance(exc, FileNotFoundError) else 126
                state.update(started=now, ended=now, exit_code=code, signal=None, error=str(exc))
                pilotstate.write_state(self.path, state)
                pilotstate.log_event(state["log"], f"could not start: {exc}")
                return None
            state.update(started=now, payload_pid=self.payload.pid)
            pilotstate.write_state(self.path, state)
        pilotstate.log_event(state["log"], f"started payload pid={self.payload.pid}")
        return self.payload

    def _record_end(self, returncode: int) -> None:
        killed_by = -returncode if returncode < 0 else None
        exit_code = 128 + killed_by if killed_by else returncode
        with pilotstate.folder_lock(self.folder):
            state = pilotstate.read_state(self.path) or {}
            state.update(ended=time.time(), exit_code=exit_code, signal=killed_by)
            pilotstate.write_state(self.path, state)
        detail = f" (signal {killed_by})" if killed_by else ""
        pilotstate.log_event(state["log"], f"ended exit_code={exit_code}{detail}")


def _detach() -> None:
    """Own session and process group (retirement signals the whole group); no terminal I/O."""
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    """Fork one detached runner per state file, print their pids in order, and return."""
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m apfctl_local.runner <pilot state file>...", file=sys.stderr)
        return 2
    for path in paths:
        child = os.fork()
        if child == 0:
            code = 1
            try:
                _detach()
                code = Runner(Path(path)).run()
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        os.write(1, b"%d\n" % child)
    return 0


if __name__ == "__main__":
    sys.exit(main())
