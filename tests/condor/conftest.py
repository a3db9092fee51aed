import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from apfctl_condor.schedd import use_schedd_factory
from apfctl_condor.testing import FakePool


@pytest.fixture
def pool():
    """A fake HTCondor pool swapped in through the plugins' seam."""
    fake = FakePool()
    with use_schedd_factory(fake):
        yield fake


@pytest.fixture
def state(tmp_path, monkeypatch):
    folder = tmp_path / "state"
    monkeypatch.setenv("APFCTL_STATE_DIR", str(folder))
    return folder


# --- the real pools (scripts/condor-pools.sh) ---------------------------------------------------
import contextlib  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import uuid  # noqa: E402

from tests.condor.real_pools import IN_CI, Pools, PoolsUnavailable, ads, session_pools, use_config  # noqa: E402


@pytest.fixture(scope="session")
def condor_pools():
    """The factory pool and the CE pool: ``make test`` starts them; else this session does.

    In CI (``CI=true``) no HTCondor is a failure, elsewhere a skip.
    """
    pools = session_pools()
    try:
        found = pools.__enter__()
    except (PoolsUnavailable, subprocess.TimeoutExpired, OSError) as exc:
        if IN_CI:
            pytest.fail(f"CI needs real HTCondor pools: {exc}", pytrace=False)
        pytest.skip(f"no real HTCondor pools: {exc}")
    yield found
    pools.__exit__(None, None, None)


class RealFactory:
    """One test's corner of the real factory pool: a job-writable folder and unique queue names."""

    def __init__(self, pools: Pools, folder, tag: str) -> None:
        import htcondor2

        self.pools = pools
        self.folder = folder
        self.tag = tag
        self.schedd = htcondor2.Schedd()

    def queue(self, name: str) -> str:
        return f"{name}_{self.tag}"

    def pilot(self, exit_code: int = 0, sleep: int = 0) -> str:
        """A pilot script the pool's user can run: sleeps, then exits with ``exit_code``."""
        path = self.folder / f"pilot-{exit_code}-{sleep}.sh"
        path.write_text(f"#!/bin/sh\nsleep {sleep}\nexit {exit_code}\n")
        path.chmod(0o755)
        return str(path)

    def ce_schedd(self):
        import htcondor2

        collector = htcondor2.Collector(self.pools.ce_collector.replace("127-0-0-1.apfctl.test", "127.0.0.1"))
        return htcondor2.Schedd(collector.locate(htcondor2.DaemonType.Schedd, self.pools.ce_schedd))

    def mine(self) -> str:
        return f'regexp("_{self.tag}$", MATCH_APF_QUEUE ?: "")'

    def jobs(self, constraint: str = "True", projection: list[str] | None = None, history: bool = False):
        return ads(self.schedd, f"({self.mine()}) && ({constraint})", projection or [], history)


@pytest.fixture
def real(condor_pools, monkeypatch):
    """The factory pool's schedd for one test; every job of the test's queues is removed after.

    The test runs in its job-writable folder: a job's Iwd is the submitter's working folder,
    which the pool's user must reach (a clone under /root is not reachable).
    """
    import htcondor2

    tag = uuid.uuid4().hex[:8]
    folder = condor_pools.work / f"t-{tag}"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    monkeypatch.chdir(folder)
    umask = os.umask(0)   # folders apfctl makes (log folders) must be writable by the jobs' owner
    try:
        with use_config(condor_pools.factory_config):
            factory = RealFactory(condor_pools, folder, tag)
            yield factory
            for schedd in (factory.schedd, factory.ce_schedd()):
                with contextlib.suppress(Exception):   # nothing left, or the CE pool never saw a job
                    schedd.act(htcondor2.JobAction.Remove, factory.mine(), ("test over", None))
    finally:
        os.umask(umask)
