"""Sections built in memory, located in a named file, as the loader would make them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from apfctl.config.model import Origin, QueueConfig, RawValue, Section


def _section(name: str, values: dict[str, str], cls: type[Section] = Section) -> Section:
    return cls(name, {key: RawValue(text, Origin("queues.conf", line))
                      for line, (key, text) in enumerate(values.items(), start=2)})


@pytest.fixture
def section() -> Callable[..., Section]:
    return _section


@pytest.fixture
def queue() -> Callable[..., QueueConfig]:
    def make(name: str, **values: str) -> QueueConfig:
        result = _section(name, values, QueueConfig)
        assert isinstance(result, QueueConfig)
        return result

    return make
