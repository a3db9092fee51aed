"""The ``Local`` batch submit plugin: pilots as detached local processes.

Each pilot is a runner process (:mod:`apfctl_local.runner`) that waits for one of the queue's
``batchsubmit.local.slots`` slots, then runs the queue's ``executable`` with its
``executable.arguments``. stdout, stderr and the pilot's event log go to
``baseLogDir/YYYY-MM-DD/<queue>/<pilotid>.out|.err|.log``; its life is kept in
``<state_dir>/local/<queue>/<pilotid>.json`` (see :mod:`apfctl_local.pilotstate`).

Pilot ids are ``<cycle>.<queue>.<n>``: unique across the factory's queues (apfmon keys jobs by
factory and pilot id), stamped with the cycle for idempotency. The payload's environment
carries the stamps as the Condor backends set them (APFCID, APFFID, FACTORYQUEUE, ...).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from apfctl.config import shellwords
from apfctl.config.keys import Key, expand_keys
from apfctl.config.model import QueueConfig
from apfctl.errors import BackendError
from apfctl.interfaces import BatchSubmitPlugin, FactoryContext, PilotRequest, SubmitResult
from apfctl.paths import safe_name, url_path
from apfctl.resourcetypes import pilot as typed_pilot
from apfctl.wrapper import pilot_command, resolve_executable
from apfctl_local import pilotstate
from apfctl_local.pilotstate import PilotState

log = logging.getLogger("apfctl.local")


KEYS: dict[str, Key] = {
    "executable": Key("command", None, doc="the pilot each local process runs (default: the apfctl wrapper)"),
    "executable.arguments": Key("str", None, doc="its arguments (split as a shell would, no expansion)"),
    "batchsubmit.{name}.slots": Key("int", 4, minimum=1,
                                    doc="pilots of this queue running at once; the others wait as pending"),
    "batchsubmit.{name}.overlay.peaceful": Key("bool", True,
                                               doc="retire only pending pilots, never running ones"),
    "batchsubmit.{name}.overlay.killorder": Key("str", "newest", choices=("newest", "oldest"),
                                                doc="which pilots retirement removes first"),
    "batchsubmit.{name}.environ": Key("str", None, doc="extra environment, space-separated VAR=value"),
    "batchsubmit.{name}.killgrace": Key("int", 30, minimum=1,
                                        doc="seconds between SIGTERM and SIGKILL when a running pilot is retired"),
    "batchsubmit.{name}.clean.stale.idle": Key("float", 86400.0, minimum=0,
                                               doc="apfctl clean removes pilots pending longer (seconds; 0: never)"),
}


def _keys(name: str) -> dict[str, Key]:
    return expand_keys(KEYS, name)


def _environ(queue: QueueConfig, key: str, spec: Key) -> dict[str, str]:
    text = queue.typed(key, spec) or ""
    try:
        items = shellwords.split(text)
    except ValueError as exc:
        raise queue.error(key, str(exc), text) from None
    pairs: dict[str, str] = {}
    for item in items:
        var, sep, value = item.partition("=")
        if not sep or not var:
            raise queue.error(key, f"{item!r} is not VAR=value", text)
        pairs[var] = value
    return pairs


class LocalSubmit(BatchSubmitPlugin):
    """Starts, finds and retires the local pilots of one queue."""

    KEYS = KEYS

    @classmethod
    def check(cls, name: str, queue: QueueConfig, factory: FactoryContext) -> list[str]:
        executable = resolve_executable(queue)
        problems = []
        if "/" in executable:
            if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
                problems.append(f"executable: {executable} is not an executable file")
        elif shutil.which(executable) is None:
            problems.append(f"executable: {executable} is not found on PATH")
        try:
            shellwords.split(queue.get("executable.arguments") or "")
        except ValueError as exc:
            problems.append(f"executable.arguments: {exc}")
        return problems

    def __init__(self, name: str, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(name, queue, factory)
        keys = _keys(name)
        prefix = f"batchsubmit.{name.lower()}"
        self.executable, self.arguments = pilot_command(queue)
        self.slots: int = queue.typed(f"{prefix}.slots", keys[f"{prefix}.slots"])
        self.peaceful: bool = queue.typed(f"{prefix}.overlay.peaceful", keys[f"{prefix}.overlay.peaceful"])
        self.killorder: str = queue.typed(f"{prefix}.overlay.killorder",
                                          keys[f"{prefix}.overlay.killorder"]).lower()
        self.killgrace: int = queue.typed(f"{prefix}.killgrace", keys[f"{prefix}.killgrace"])
        self.environ = _environ(queue, f"{prefix}.environ", keys[f"{prefix}.environ"])
        self.stale_idle: float = queue.typed(f"{prefix}.clean.stale.idle", keys[f"{prefix}.clean.stale.idle"])
        self.folder = pilotstate.queue_dir(factory.state_dir, queue.name)

    def for_type(self, pilot: PilotRequest) -> LocalSubmit:
        """Pilots of one resource type: the type in their state and environment, its size in
        ``APFCTL_CORES``/``APFCTL_MEMORY`` (a local process is not confined to it)."""
        return typed_pilot.typed_copy(self, pilot)

    def _mine(self, state: PilotState) -> bool:
        """A pilot of this plugin's type (every pilot when the plugin is not typed)."""
        return self.pilot is None or state.get("resource_type") == self.pilot.resource_type

    # -- finding ---------------------------------------------------------------------------
    def _states(self) -> list[PilotState]:
        return [state for _, state in pilotstate.scan(self.folder)]

    def find_submitted(self, cycle: str) -> list[str]:
        found = [state for state in self._states() if state.get("cycle") == cycle and self._mine(state)]
        return [state["id"] for state in sorted(found, key=lambda s: s.get("seq", 0))]

    # -- submitting ------------------------------------------------------------------------
    def _new_ids(self, n: int, cycle: str) -> list[tuple[int, str]]:
        prefix = f"{safe_name(cycle)}.{safe_name(self.queue.name)}"   # an id is a file name too
        taken = [state.get("seq", 0) for state in self._states() if state.get("cycle") == cycle]
        first = max(taken, default=-1) + 1
        return [(seq, f"{prefix}.{seq}") for seq in range(first, first + n)]

    def _environment(self, pilot_id: str, cycle: str, log_url: str | None) -> dict[str, str]:
        factory_id = self.factory.factory_id
        env = {
            "APFCID": pilot_id,
            "APFFID": factory_id,
            "PANDA_JSID": factory_id,
            "FACTORYQUEUE": self.queue.name,
            "FACTORY_JOBID": f"{socket.gethostname()}#{pilot_id}",
            "APFCTL_CYCLE": cycle,
        }
        if log_url:
            env["GTAG"] = f"{log_url}/{url_path(pilot_id)}.out"
        url = self.factory.monitor_url(self.queue)
        if url:
            env["APFMON"] = url
        user = self.factory.config.getstr("factoryUser")
        if user:
            env["FACTORYUSER"] = user
        env.update(typed_pilot.environment(self.pilot))
        env.update(self.environ)
        return env

    def _describe(self, ids: list[str], log_dir: Path) -> str:
        command = shlex.join([self.executable, *typed_pilot.substitute(self.arguments, self.pilot)])
        kind = f" of type {self.pilot.resource_type}" if self.pilot else ""
        lines = [f"Local: {len(ids)} pilot(s){kind} for queue {self.queue.name}, each a detached process "
                 f"waiting for one of {self.slots} slot(s), then running:",
                 f"  {command}"]
        lines += [f"  {pilot_id}: stdout/stderr/log {log_dir}/{pilot_id}.out|.err|.log" for pilot_id in ids]
        return "\n".join(lines)

    def submit(self, n: int, cycle: str, dry_run: bool = False) -> SubmitResult:
        if n <= 0:
            return SubmitResult()
        log_dir, log_url = self.factory.queue_log_dir(self.queue.name)
        if dry_run:
            planned = self._new_ids(n, cycle)
            return SubmitResult(description=self._describe([pilot_id for _, pilot_id in planned], log_dir))
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            self.folder.mkdir(parents=True, exist_ok=True)
            with pilotstate.folder_lock(self.folder):
                planned = self._new_ids(n, cycle)
                ids = self._start(planned, cycle, log_dir, log_url)
        except OSError as exc:
            raise BackendError(f"Local: cannot start pilots for {self.queue.name}: {exc}") from exc
        started = set(ids)
        workers = {pilot_id: worker for worker, (_, pilot_id) in zip(self.workers.ids(), planned, strict=True)
                   if pilot_id in started} if self.workers else {}
        return SubmitResult(ids=ids, description=self._describe(ids, log_dir), workers=workers)

    def _start(self, planned: list[tuple[int, str]], cycle: str, log_dir: Path, log_url: str | None) -> list[str]:
        """Fork every runner in one launcher, then record each (the runners wait for the lock we hold)."""
        states = [self._new_state(seq, pilot_id, cycle, log_dir, log_url, index)
                  for index, (seq, pilot_id) in enumerate(planned)]
        paths = [pilotstate.state_path(self.folder, state["id"]) for state in states]
        launcher_log = log_dir / "runner-launch.log"
        with open(launcher_log, "ab") as errors:
            launcher = subprocess.Popen(
                [sys.executable, "-m", "apfctl_local.runner", *map(str, paths)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, cwd=log_dir,
            )
        assert launcher.stdout is not None
        with launcher.stdout:
            lines = [launcher.stdout.readline() for _ in states]
        launcher.wait()
        ids: list[str] = []
        for state, path, line in zip(states, paths, lines, strict=True):
            pid = int(line) if line.strip().isdigit() else None
            start = pilotstate.proc_start_time(pid) if pid else None
            if pid is None or start is None:
                continue
            state.update(pid=pid, pid_start=start)
            pilotstate.write_state(path, state)
            pilotstate.log_event(state["log"], f"submitted queue={self.queue.name} cycle={cycle} runner pid={pid}")
            ids.append(state["id"])
        if len(ids) < len(states):
            problem = (f"{len(states) - len(ids)} of {len(states)} runner(s) did not start "
                       f"(launcher exit {launcher.returncode}; see {launcher_log})")
            if not ids:
                raise BackendError(f"Local: no pilot started for {self.queue.name}: {problem}")
            log.warning("Local: queue %s: %s", self.queue.name, problem)
        return ids

    def _new_state(self, seq: int, pilot_id: str, cycle: str, log_dir: Path, log_url: str | None,
                   index: int = 0) -> PilotState:
        base = log_dir / pilot_id
        return {
            "id": pilot_id, "seq": seq, "queue": self.queue.name, "factory": self.factory.factory_id,
            "cycle": cycle, "submitted": time.time(),
            "command": [self.executable, *typed_pilot.substitute(self.arguments, self.pilot)],
            "env": {**self._environment(pilot_id, cycle, log_url),
                    **(self.workers.environment(index) if self.workers else {})},
            "resource_type": self.pilot.resource_type if self.pilot else None,
            "cwd": str(log_dir), "out": f"{base}.out", "err": f"{base}.err", "log": f"{base}.log",
            "slots": self.slots, "grace": self.killgrace,
            "pid": None, "pid_start": None, "started": None, "payload_pid": None,
            "ended": None, "exit_code": None, "signal": None, "removed": None,
        }

    # -- retiring --------------------------------------------------------------------------
    def retire(self, n: int, dry_run: bool = False) -> SubmitResult:
        if n <= 0 or not self.folder.is_dir():
            return SubmitResult()
        with pilotstate.folder_lock(self.folder):
            victims = self._victims(n)
            ids = [state["id"] for _, state in victims]
            description = (f"Local: retire {len(ids)} of {n} asked for queue {self.queue.name} "
                           f"(pending first; peaceful={self.peaceful}, killorder={self.killorder}): "
                           + (", ".join(ids) or "none"))
            if dry_run:
                return SubmitResult(description=description)
            _remove(victims)
        return SubmitResult(ids=ids, description=description)

    def _live(self) -> tuple[list[tuple[str, PilotState]], list[tuple[str, PilotState]]]:
        """(pending, running) pilots not ended nor removed whose runner is alive; call under the lock."""
        pending: list[tuple[str, PilotState]] = []
        running: list[tuple[str, PilotState]] = []
        for path, state in pilotstate.scan(self.folder):
            if state.get("ended") is not None or state.get("removed") or not pilotstate.runner_alive(state):
                continue
            if not self._mine(state):
                continue
            (pending if state.get("started") is None else running).append((path, state))
        return pending, running

    def _victims(self, n: int) -> list[tuple[str, PilotState]]:
        """Live pilots to retire: pending first, then running unless peaceful; killorder within each."""
        pending, running = self._live()
        newest_first = self.killorder == "newest"

        def order(item: tuple[str, PilotState]) -> Any:
            return (item[1].get("submitted", 0), item[1].get("seq", 0))

        pending.sort(key=order, reverse=newest_first)
        running.sort(key=order, reverse=newest_first)
        chosen = pending[:n]
        if not self.peaceful:
            chosen += running[: n - len(chosen)]
        return chosen

    # -- clean-up (apfctl clean) ---------------------------------------------------------
    def clean(self, dry_run: bool = False) -> list[dict[str, Any]]:
        """Remove pilots pending (waiting for a slot) longer than ``clean.stale.idle`` seconds.

        They are recorded as the factory's own removals, as retired pilots are, so status
        counts them as neither done nor fault. Local pilots are never held: that is the only
        clean-up there is. One dict per action (none when nothing is stale).
        """
        if not self.stale_idle or not self.folder.is_dir():
            return []
        with pilotstate.folder_lock(self.folder):
            now = time.time()
            pending, _ = self._live()
            stale = sorted(((path, state) for path, state in pending
                            if now - state.get("submitted", now) > self.stale_idle),
                           key=lambda item: (item[1].get("submitted", 0), item[1].get("seq", 0)))
            if not stale:
                return []
            entry: dict[str, Any] = {"queue": self.queue.name, "action": "remove", "what": "remove_stale",
                                     "ids": [state["id"] for _, state in stale],
                                     "reason": f"pending longer than {self.stale_idle:g} s", "dry_run": dry_run}
            if not dry_run:
                _remove(stale, "removed by apfctl clean: " + entry["reason"])
                entry["succeeded"] = len(stale)
        return [entry]


def _remove(victims: list[tuple[str, PilotState]], why: str | None = None) -> None:
    """Record the pilots as removed by the factory, then SIGTERM their runners' process groups.

    Call under the folder lock. A pilot may end between the check and the signal: it is
    recorded as removed anyway.
    """
    now = time.time()
    for path, state in victims:
        state["removed"] = now
        pilotstate.write_state(path, state)
        if why:
            with contextlib.suppress(OSError):   # its log folder may have been cleaned away
                pilotstate.log_event(state["log"], why)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(state["pid"], signal.SIGTERM)
