"""Helpers every test family may import (``from support import wait_for``)."""

from __future__ import annotations

import time
from collections.abc import Callable
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
