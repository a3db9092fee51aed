"""The HTTP server is part of the core: ``pip install apfctl`` gives a working ``apfctl logserver``."""

from __future__ import annotations

from importlib.metadata import requires

from packaging.requirements import Requirement


def test_starlette_and_uvicorn_are_core_dependencies() -> None:
    core = {requirement.name for requirement in map(Requirement, requires("apfctl") or [])
            if requirement.marker is None}
    assert {"starlette", "uvicorn"} <= core
