"""The suite's real HTCondor pools (``scripts/condor-pools.sh``): find, start, use and stop them.

Reusable outside these tests (e.g. by a cloud-mode suite): :func:`session_pools` gives the
pools named by ``APFCTL_CONDOR_POOLS`` (a ``pools.env`` that ``make condor-up`` wrote), or
starts a private pair and stops it at the end. :func:`use_config` points the ``htcondor2``
bindings at one pool's configuration (they read ``CONDOR_CONFIG`` only when told to reload).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "condor-pools.sh"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
T = TypeVar("T")


class PoolsUnavailable(RuntimeError):
    """No HTCondor to start pools with (or they would not start)."""


@dataclass(frozen=True)
class Pools:
    """The factory pool (where apfctl submits) and the CE pool (an HTCondor-CE stand-in)."""

    release: Path
    factory_config: str
    factory_collector: str
    ce_config: str
    ce_collector: str
    ce_schedd: str
    ce_port: int
    work: Path   # 1777: folders jobs write go here (jobs run as the pool's user, never root)

    @classmethod
    def from_env_file(cls, path: str | Path) -> Pools:
        values: dict[str, str] = {}
        for line in Path(path).read_text().splitlines():
            name, equals, value = line.partition("=")
            if equals and not name.startswith("#"):
                values[name.strip()] = " ".join(shlex.split(value))
        try:
            return cls(release=Path(values["APFCTL_CONDOR_RELEASE"]),
                       factory_config=values["APFCTL_CONDOR_FACTORY_CONFIG"],
                       factory_collector=values["APFCTL_CONDOR_FACTORY_COLLECTOR"],
                       ce_config=values["APFCTL_CONDOR_CE_CONFIG"],
                       ce_collector=values["APFCTL_CONDOR_CE_COLLECTOR"],
                       ce_schedd=values["APFCTL_CONDOR_CE_SCHEDD"],
                       ce_port=int(values["APFCTL_CONDOR_CE_PORT"]),
                       work=Path(values["APFCTL_CONDOR_WORK"]))
        except KeyError as exc:
            raise PoolsUnavailable(f"{path}: {exc.args[0]} is missing (not written by condor-pools.sh up?)") from None

    def tool(self, name: str) -> str:
        return str(self.release / "bin" / name)


def _run_script(action: str, folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "APFCTL_CONDOR_DIR": str(folder)}
    env.pop("CONDOR_CONFIG", None)
    return subprocess.run(["bash", str(SCRIPT), action], env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def start(folder: Path) -> Pools:
    """Start both pools with their state in ``folder``; PoolsUnavailable with the script's words."""
    result = _run_script("up", folder)
    if result.returncode != 0:
        raise PoolsUnavailable(result.stderr.strip().splitlines()[-1] if result.stderr.strip()
                               else f"condor-pools.sh up exited {result.returncode}")
    return Pools.from_env_file(folder / "pools.env")


def stop(folder: Path) -> None:
    _run_script("down", folder)


@contextmanager
def session_pools() -> Iterator[Pools]:
    """The pools of ``APFCTL_CONDOR_POOLS``, or a private pair for this session (stopped after)."""
    named = os.environ.get("APFCTL_CONDOR_POOLS")
    if named:
        yield Pools.from_env_file(named)
        return
    folder = Path(f"/tmp/apfctl-condor-session-{os.getpid()}")
    try:
        pools = start(folder)
    except (PoolsUnavailable, subprocess.TimeoutExpired):
        stop(folder)
        raise
    try:
        yield pools
    finally:
        stop(folder)


@contextmanager
def use_config(config: str) -> Iterator[None]:
    """The bindings (and the ``condor_*`` tools) read ``config`` inside the block."""
    import htcondor2

    previous = os.environ.get("CONDOR_CONFIG")
    os.environ["CONDOR_CONFIG"] = config
    htcondor2.reload_config()
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("CONDOR_CONFIG", None)
        else:
            os.environ["CONDOR_CONFIG"] = previous
        htcondor2.reload_config()


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 120.0, every: float = 0.5) -> T:
    """Poll ``probe`` until it returns something truthy; AssertionError naming ``what`` otherwise.

    The timeout only bounds a hang: nothing asserts how long a pool takes.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout:g} s")
        time.sleep(every)


def ads(schedd: Any, constraint: str, projection: list[str], history: bool = False) -> list[Any]:
    if history:
        return list(schedd.history(constraint=constraint, projection=projection))
    return list(schedd.query(constraint=constraint, projection=projection))
