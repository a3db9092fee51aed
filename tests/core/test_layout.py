"""The layout docs/architecture.md §6 describes: a kernel at the top of apfctl/, tests as a package."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

KERNEL = {"__init__", "__main__", "bounded", "errors", "interfaces", "ledger", "locking", "outbox", "paths", "plugins",
          "record", "workers"}

HELPERS = re.compile(r"^\s*(from|import) (support|pki|\w+_helpers)\b")
PATH_EDIT = re.compile(r"sys\.path\.(insert|append)\(")


def test_the_top_of_apfctl_is_the_kernel() -> None:
    top = {path.stem for path in (ROOT / "apfctl").glob("*.py")}
    assert top <= KERNEL, f"features belong in their own packages: {sorted(top - KERNEL)}"


def test_tests_and_benchmarks_import_helpers_from_the_tests_package() -> None:
    offenders = []
    for path in sorted([*(ROOT / "tests").rglob("*.py"), *(ROOT / "benchmarks").glob("*.py")]):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if PATH_EDIT.search(line) or HELPERS.match(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, ("import helpers as tests.<area>.<module> (tests is a package), never through "
                           "sys.path:\n" + "\n".join(offenders))
