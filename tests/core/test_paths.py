"""Queue names as file names: one injective escape for locks, log folders and Local state."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apfctl.config.model import FactoryConfig, Origin, RawValue
from apfctl.interfaces import FactoryContext
from apfctl.locking import exclusive, lock_path, queue_lock
from apfctl.paths import safe_name

NEIGHBOURS = ("Q A", "Q_A", "Q/A", "Q%20A", "Q:A")


@given(st.text(min_size=1))
def test_every_name_is_one_plain_file_name_that_gives_the_name_back(name: str) -> None:
    escaped = safe_name(name)
    assert re.fullmatch(r"[A-Za-z0-9_.~%-]+", escaped) and not escaped.startswith(".")
    assert unquote(escaped, errors="strict") == name


@given(st.text(min_size=1), st.text(min_size=1))
def test_two_names_never_share_a_file_name(first: str, second: str) -> None:
    assert (safe_name(first) == safe_name(second)) == (first == second)


def test_ordinary_names_stay_readable_and_unsafe_ones_are_escaped() -> None:
    assert safe_name("ANALY_BNL-gk01.racf.bnl.gov") == "ANALY_BNL-gk01.racf.bnl.gov"
    assert [safe_name(name) for name in NEIGHBOURS] == ["Q%20A", "Q_A", "Q%2FA", "Q%2520A", "Q%3AA"]
    assert safe_name("..") == "%2E." and safe_name(".hidden") == "%2Ehidden"
    with pytest.raises(ValueError, match="empty"):
        safe_name("")


def test_neighbouring_names_have_their_own_lock(tmp_path: Path) -> None:
    assert len({lock_path(tmp_path, name) for name in NEIGHBOURS}) == len(NEIGHBOURS)
    with queue_lock(tmp_path, "Q A") as held:
        assert held
        with queue_lock(tmp_path, "Q A") as again:
            assert not again                        # flock: a second open file is refused
        for other in NEIGHBOURS[1:]:
            with queue_lock(tmp_path, other) as free:
                assert free, other
    assert sorted(path.name for path in (tmp_path / "locks").iterdir()) == sorted(
        f"{safe_name(name)}.lock" for name in NEIGHBOURS)


def test_the_same_lock_serves_a_folder(tmp_path: Path) -> None:
    with exclusive(tmp_path) as fd:
        assert fd is not None
        with exclusive(tmp_path, wait=False) as second:
            assert second is None
    with exclusive(tmp_path, wait=False) as fd:
        assert fd is not None


def test_neighbouring_names_have_their_own_log_folder_and_url(tmp_path: Path) -> None:
    values = {"baseLogDir": str(tmp_path / "logs"), "baseLogDirUrl": "http://logs.example/pilots/"}
    config = FactoryConfig("Factory", {k: RawValue(v, Origin("apfctl.conf")) for k, v in values.items()})
    context = FactoryContext(config=config, state_dir=tmp_path / "state")
    day = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    folders = {name: context.queue_log_dir(name, day) for name in NEIGHBOURS}
    assert len({folder for folder, _ in folders.values()}) == len(NEIGHBOURS)
    assert all(folder.parent == tmp_path / "logs" / "2026-12-01" for folder, _ in folders.values())
    assert folders["Q/A"][1] == "http://logs.example/pilots/2026-12-01/Q%252FA"
    # the URL names the folder: its path, unquoted once (as an HTTP server does), is the folder's name
    for name, (folder, url) in folders.items():
        assert unquote(url.rsplit("/", 1)[1]) == folder.name, name
