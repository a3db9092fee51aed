"""The monitor's and the server's packages stand on their own: the CLI imports them, never the reverse."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI_IMPORT = re.compile(r"^\s*(from apfctl\.cli\b|import apfctl\.cli\b|from apfctl import cli\b)", re.MULTILINE)


def test_dashboard_and_serve_do_not_import_the_cli() -> None:
    offenders = [str(path.relative_to(ROOT))
                 for package in ("dashboard", "serve") for path in sorted((ROOT / "apfctl" / package).rglob("*.py"))
                 if CLI_IMPORT.search(path.read_text(encoding="utf-8"))]
    assert not offenders, f"feature packages import apfctl.cli: {offenders}"
