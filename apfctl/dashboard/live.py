"""The live screen: redraw the table every interval until the operator presses ``q`` or Ctrl-C.

Keys scroll, filter and sort at once (:mod:`apfctl.dashboard.navigate`); a refresh keeps them.

The table is drawn on the terminal's alternate screen (rich ``Live``), and the keyboard is
read in cbreak mode (keys without Enter, Ctrl-C still a signal). Both are undone on the
way out, whatever the way out is, so the shell gets its terminal back as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import select
import signal
import sys
import termios
import threading
import time
import tty
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from apfctl.dashboard.navigate import Navigator, key_names
from apfctl.dashboard.table import FOOTER_LINES, room
from apfctl.dashboard.view import View
from apfctl.errors import ApfctlError

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


class _Fetch:
    """One fetch on a daemon thread, so keys are answered while a slow ``--live`` query runs."""

    def __init__(self, fetch: Callable[[], View]) -> None:
        self.view: View | None = None
        self.error = ""
        self.thread = threading.Thread(target=self._run, args=(fetch,), name="monitor-fetch", daemon=True)
        self.thread.start()

    def _run(self, fetch: Callable[[], View]) -> None:
        try:
            self.view = fetch()
        except ApfctlError as exc:
            self.error = str(exc)
        except Exception as exc:  # keep the screen (and the terminal) alive; say what broke
            self.error = f"{type(exc).__name__}: {exc}"

    def done(self) -> bool:
        return not self.thread.is_alive()


def run(fetch: Callable[[], View], draw: Callable[[View, int, int, str, int], RenderableType], interval: float,
        console: Console | None = None, navigator: Navigator | None = None) -> None:
    """Fetch and draw every ``interval`` seconds; the keys of :mod:`apfctl.dashboard.navigate` act at once.

    ``draw(view, width, height, footer, first)`` draws the rows from ``first`` that fit. The
    first fetch happens before the screen is taken, so a broken configuration or ledger is
    one line on a normal terminal. A later failure keeps the last view on screen with the
    error in its footer (a locked ledger is usually gone by the next refresh).
    """
    from rich.console import Console
    from rich.live import Live

    console = console or Console()
    nav = navigator or Navigator()
    fd = sys.stdin.fileno() if sys.stdin.isatty() else None
    view = fetch()
    problem = ""
    state = {"dirty": True}

    def footer() -> str:
        keys = nav.HELP if fd is not None else "Ctrl-C quits"
        text = f"{nav.status()} · every {interval:g}s\n{keys}"
        return f"{text} · {problem}" if problem else text

    try:
        with _cbreak(fd), _on_resize(lambda: state.update(dirty=True)), \
                Live(console=console, screen=True, auto_refresh=False, transient=True) as screen:
            next_fetch = time.monotonic() + interval
            pending: _Fetch | None = None
            while True:
                if pending is None and time.monotonic() >= next_fetch:
                    pending = _Fetch(fetch)
                if pending is not None and pending.done():
                    if pending.view is not None:
                        view, problem = pending.view, ""
                    else:
                        problem = f"refresh failed: {pending.error}"
                    pending = None
                    next_fetch = time.monotonic() + interval
                    state["dirty"] = True
                if state["dirty"]:
                    state["dirty"] = False       # before drawing: a resize during the draw draws again
                    nav.room = room(console.height, FOOTER_LINES + (0 if view.has_cycles else 1))
                    shown = dataclasses.replace(view, rows=nav.rows(view.rows))
                    screen.update(draw(shown, console.width, console.height, footer(), nav.first), refresh=True)
                wait = TICK if pending is not None else min(TICK, next_fetch - time.monotonic())
                for key in key_names(_read_keys(fd, max(0.0, wait))):
                    nav.press(key)
                    state["dirty"] = True
                if nav.quit:
                    return
                if nav.refresh:
                    nav.refresh = False
                    if pending is None:
                        next_fetch = 0.0
    except KeyboardInterrupt:
        return
