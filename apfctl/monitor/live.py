"""The live screen: redraw the table every interval until the operator presses ``q`` or Ctrl-C.

The table is drawn on the terminal's alternate screen (rich ``Live``), and the keyboard is
read in cbreak mode (keys without Enter, Ctrl-C still a signal). Both are undone on the
way out, whatever the way out is, so the shell gets its terminal back as it was.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import termios
import time
import tty
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from apfctl.errors import ApfctlError
from apfctl.monitor.view import View

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

TICK = 0.2   # seconds between checks for a key or a resized terminal


@contextlib.contextmanager
def _cbreak(fd: int | None) -> Iterator[None]:
    if fd is None:
        yield
        return
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextlib.contextmanager
def _on_resize(callback: Callable[[], None]) -> Iterator[None]:
    previous = signal.signal(signal.SIGWINCH, lambda signum, frame: callback())
    try:
        yield
    finally:
        signal.signal(signal.SIGWINCH, previous)


def _read_keys(fd: int | None, timeout: float) -> str:
    if fd is None:
        time.sleep(timeout)
        return ""
    ready, _, _ = select.select([fd], [], [], timeout)
    return os.read(fd, 64).decode("utf-8", "replace") if ready else ""


def run(fetch: Callable[[], View], draw: Callable[[View, int, str], RenderableType], interval: float,
        console: Console | None = None) -> None:
    """Fetch and draw every ``interval`` seconds; ``q`` quits, ``r`` refreshes now.

    An error while fetching after the first view keeps the last view on screen with the
    error in its footer (a locked ledger is usually gone by the next refresh).
    """
    from rich.console import Console
    from rich.live import Live

    console = console or Console()
    fd = sys.stdin.fileno() if sys.stdin.isatty() else None
    view = fetch()
    problem = ""
    state = {"dirty": True}

    def footer() -> str:
        keys = "q quit · r refresh" if fd is not None else "Ctrl-C quits"
        text = f"{keys} · every {interval:g}s"
        return f"{text} · {problem}" if problem else text

    try:
        with _cbreak(fd), _on_resize(lambda: state.update(dirty=True)), \
                Live(console=console, screen=True, auto_refresh=False, transient=True) as screen:
            next_fetch = time.monotonic() + interval
            while True:
                if time.monotonic() >= next_fetch:
                    try:
                        view, problem = fetch(), ""
                    except ApfctlError as exc:
                        problem = f"refresh failed: {exc}"
                    next_fetch = time.monotonic() + interval
                    state["dirty"] = True
                if state["dirty"]:
                    screen.update(draw(view, console.width, footer()), refresh=True)
                    state["dirty"] = False
                keys = _read_keys(fd, max(0.0, min(TICK, next_fetch - time.monotonic())))
                if "q" in keys.lower():
                    return
                if "r" in keys.lower():
                    next_fetch = 0.0
    except KeyboardInterrupt:
        return
