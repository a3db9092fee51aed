"""The live screen under a real pseudo-terminal: refreshes, quits on q or Ctrl-C, restores the terminal."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

import pytest

from apfctl.ledger import Ledger
from tests.monitor.monitor_helpers import record, write_factory

ENTER_ALT, LEAVE_ALT, SHOW_CURSOR = b"\x1b[?1049h", b"\x1b[?1049l", b"\x1b[?25h"


@pytest.fixture
def env(tmp_path):
    config = write_factory(tmp_path / "conf", {"BNL_1": {}, "CERN_1": {}})
    state = tmp_path / "state"
    with Ledger(state) as ledger:
        ledger.store([record("BNL_1", 1, now=dt.datetime.now(dt.UTC))])
    return {**os.environ, "APFCTL_CONFIG": str(config), "APFCTL_STATE_DIR": str(state), "TERM": "xterm-256color",
            "COLUMNS": "", "LINES": ""}


def spawn(env, *args, rows=30, columns=100):
    pid, master = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal, so Ctrl-C is a real SIGINT
        env = {k: v for k, v in env.items() if v}
        os.execve(sys.executable, [sys.executable, "-m", "apfctl", "monitor", *args], env)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    return pid, master


def read_until(master, done, limit=30.0):
    """Everything the program drew until ``done(output)`` holds (or it exits, or a safety limit)."""
    output = b""
    deadline = time.monotonic() + limit
    while not done(output) and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:   # the child has gone and closed the terminal
                break
            if not chunk:
                break
            output += chunk
    return output


def finish(pid, master):
    output = read_until(master, lambda out: False, limit=15.0)
    _, status = os.waitpid(pid, 0)
    return output, os.waitstatus_to_exitcode(status)


def redraws(output):
    return output.count(b"q quit")


@pytest.mark.parametrize("quit_key", [b"q", b"\x03"], ids=["q", "ctrl-c"])
def test_live_table_refreshes_then_quits_and_restores_the_terminal(env, quit_key):
    pid, master = spawn(env, "--interval", "0.5")
    try:
        before = termios.tcgetattr(master)
        shown = read_until(master, lambda out: redraws(out) >= 3)
        assert ENTER_ALT in shown and redraws(shown) >= 3, shown[-2000:]
        assert b"BNL_1" in shown and b"CERN_1" in shown and b"q quit" in shown
        during = termios.tcgetattr(master)
        assert not during[3] & termios.ICANON            # keys are read without Enter while it runs
        os.write(master, quit_key)
        rest, code = finish(pid, master)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        after = termios.tcgetattr(master)
        os.close(master)
    assert code == 0
    assert LEAVE_ALT in rest and SHOW_CURSOR in rest      # back from the alternate screen, cursor visible
    assert after[3] & termios.ICANON and after[3] & termios.ECHO
    assert after == before                                # the terminal settings are as they were
    assert b"Traceback" not in shown + rest


def test_live_table_redraws_for_a_narrow_terminal_without_wrapping(env):
    pid, master = spawn(env, "--interval", "0.5", columns=40)
    try:
        shown = read_until(master, lambda out: redraws(out) >= 1 and b"q quit" in out)
        os.write(master, b"q")
        finish(pid, master)
    finally:
        os.close(master)
    screen = shown.replace(b"\x1b[H", b"\n")            # each redraw starts at the top left
    text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", screen).decode("utf-8", "replace")
    lines = [line for line in text.replace("\r", "\n").split("\n") if line.strip()]
    assert lines and all(len(line) <= 40 for line in lines)
    assert any(line.startswith("BNL_1") for line in lines)


def test_a_resized_terminal_is_redrawn_at_its_new_width_at_once(env):
    pid, master = spawn(env, "--interval", "600", columns=120)
    try:
        first = read_until(master, lambda out: redraws(out) >= 1)
        assert b"last msg" in first                          # wide enough for every column
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 40, 0, 0))   # the kernel sends SIGWINCH
        resized = read_until(master, lambda out: redraws(out) >= 1)
        os.write(master, b"q")
        finish(pid, master)
    finally:
        os.close(master)
    frame = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", resized.split(b"\x1b[H")[-1]).decode("utf-8", "replace")
    lines = [line for line in frame.replace("\r", "").split("\n") if line.strip()]
    assert any(line.startswith("BNL_1") for line in lines)
    assert all(len(line) <= 40 for line in lines) and b"last msg" not in resized


def last_frame(output):
    frame = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", output.split(b"\x1b[H")[-1]).decode("utf-8", "replace")
    return [line for line in frame.replace("\r", "").split("\n") if line.strip()]


def test_keys_scroll_filter_and_sort_the_live_table(tmp_path):
    names = [f"SITE_{index:02d}" for index in range(40)]
    config = write_factory(tmp_path / "conf", {name: {} for name in names})
    with Ledger(tmp_path / "state") as ledger:
        ledger.store([record(name, 1, now=dt.datetime.now(dt.UTC), pending=index) for index, name in enumerate(names)])
    env = {**os.environ, "APFCTL_CONFIG": str(config), "APFCTL_STATE_DIR": str(tmp_path / "state"),
           "TERM": "xterm-256color", "COLUMNS": "", "LINES": ""}
    pid, master = spawn(env, "--interval", "600", rows=15, columns=80)
    try:
        first = last_frame(read_until(master, lambda out: b"q quit" in out))
        assert [line.split()[0] for line in first[3:13]] == names[:10] and "rows 1-10 of 40" in first[-2]
        screens = {}
        for name, keys, expect in (("end", b"\x1b[F", b"rows 31-40"), ("up", b"k", b"rows 30-39"),
                                   ("home", b"\x1b[H", b"rows 1-10"), ("pgdn", b"\x1b[6~", b"rows 10-19"),
                                   ("filter", b"/SITE_3*\r", b"filter SITE_3*"), ("sort", b"\x1bsss", b"sort pending")):
            os.write(master, keys)
            screens[name] = last_frame(read_until(master, lambda out, e=expect: e in out))
        os.write(master, b"q")
        finish(pid, master)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.close(master)
    assert screens["end"][3].startswith("SITE_30") and screens["end"][12].startswith("SITE_39")
    assert screens["up"][3].startswith("SITE_29")
    assert screens["pgdn"][3].startswith("SITE_09")
    assert [line.split()[0] for line in screens["filter"][3:13]] == names[30:40]
    assert "rows 1-10 of 10" in screens["filter"][-2]
    assert [line.split()[0] for line in screens["sort"][3:6]] == ["SITE_39", "SITE_38", "SITE_37"]
