"""Fixtures for the Local backend and File WMS tests: real config sections, a factory context
in a temporary state folder, and a payload script whose pilots the test ends at will."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from apfctl_local import pilotstate

from apfctl.config.model import FactoryConfig, Origin, QueueConfig, RawValue
from apfctl.interfaces import FactoryContext
from tests.support import wait_for

# A pilot that records its environment, then waits until the test writes
# <control>/<APFCID>.go holding the exit code it must end with.
PAYLOAD = """#!/bin/sh
control=$1
env | grep -E '^(APFCID|APFFID|FACTORYQUEUE|APFCTL_CYCLE|PANDA_JSID|EXTRA)=' > "$control/$APFCID.env.tmp"
mv "$control/$APFCID.env.tmp" "$control/$APFCID.env"   # whole or absent: tests take its presence for "started"
echo "payload $APFCID says hello"
echo "payload $APFCID complains" >&2
while [ ! -e "$control/$APFCID.go" ]; do sleep 0.05; done
exit "$(cat "$control/$APFCID.go")"
"""

# The same, but it ignores SIGTERM (a payload that must be killed after the grace period).
STUBBORN = PAYLOAD.replace("control=$1\n", "control=$1\ntrap '' TERM\n")


@pytest.fixture
def wait() -> Callable[..., Any]:
    return wait_for


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("APFCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("APFCTL_CONFIG", str(tmp_path / "apfctl.conf"))
    monkeypatch.setenv("CONDOR_CONFIG", "/dev/null")
    yield
    # End every pilot this test left behind (only ours: recorded pid and start time match).
    for folder in (tmp_path / "state" / "local").glob("*"):
        for _, state in pilotstate.scan(folder):
            if pilotstate.runner_alive(state):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(state["pid"], signal.SIGKILL)


@pytest.fixture
def conf_file(tmp_path: Path) -> Path:
    """A queues file: the origin of the test sections' values (relative paths resolve here)."""
    path = tmp_path / "conf" / "queues.conf"
    path.parent.mkdir()
    path.write_text("# values of the test sections are said to come from here\n")
    return path


@pytest.fixture
def make_queue(conf_file: Path) -> Callable[..., QueueConfig]:
    def make(name: str, **values: str) -> QueueConfig:
        raw = {key.replace("__", "."): RawValue(str(text), Origin(str(conf_file), line))
               for line, (key, text) in enumerate(values.items(), start=1)}
        return QueueConfig(name, raw)

    return make


@pytest.fixture
def factory(tmp_path: Path) -> FactoryContext:
    values = {"factoryId": "test-factory", "baseLogDir": str(tmp_path / "logs"),
              "baseLogDirUrl": "http://logs.example/pilots"}
    config = FactoryConfig("Factory", {k: RawValue(v, Origin("apfctl.conf")) for k, v in values.items()})
    return FactoryContext(config=config, state_dir=tmp_path / "state",
                          monitor_sections={"apfmon": {"monitorURL": "http://apfmon.example/api"}})


@pytest.fixture
def control(tmp_path: Path) -> Path:
    folder = tmp_path / "control"
    folder.mkdir()
    return folder


def _script(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def payload(tmp_path: Path) -> Path:
    return _script(tmp_path, "payload.sh", PAYLOAD)


@pytest.fixture
def stubborn(tmp_path: Path) -> Path:
    return _script(tmp_path, "stubborn.sh", STUBBORN)


@pytest.fixture
def release(control: Path) -> Callable[[str, int], None]:
    """End the pilot ``pilot_id`` with ``code``."""
    def end(pilot_id: str, code: int = 0) -> None:
        tmp = control / f".{pilot_id}.tmp"
        tmp.write_text(str(code))
        tmp.rename(control / f"{pilot_id}.go")  # the payload never reads a half-written file

    return end
