"""Helpers every test family may import (``from support import wait_for``)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition",
             step: float = 0.05) -> Any:
    """Poll until ``predicate()`` is truthy; its value, or a failure naming what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}; last value {value!r}")
        time.sleep(step)


@contextlib.contextmanager
def serving(app: Any) -> Iterator[int]:
    """An ASGI app under a real uvicorn on 127.0.0.1 (an OS-assigned port), in a thread; yields the port."""
    import uvicorn

    from apfctl.serve.server import config, listen

    sock = listen("127.0.0.1", 0)
    server = uvicorn.Server(config(app))             # configured as apfctl serve configures it
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, what="uvicorn to start")
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
