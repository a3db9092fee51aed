"""Fixtures for credential tests: one test CA and user per session, proxies and tokens per test."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.auth import pki


@pytest.fixture(scope="session")
def ca() -> pki.Identity:
    return pki.make_ca()


@pytest.fixture(scope="session")
def user(ca: pki.Identity) -> pki.Identity:
    return pki.make_user(ca)


@pytest.fixture
def write_auth(tmp_path: Path):
    """Write an auth.conf from dedented text; returns its path."""

    def write(text: str) -> Path:
        path = tmp_path / "auth.conf"
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    return write
