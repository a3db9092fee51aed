"""Shell completion scripts for bash, zsh and fish, generated from the click application.

``make completions`` (``python -m apfctl.cli.completions completions``) writes them to
``completions/``; a test fails when the committed scripts differ from what this generates.
"""

from __future__ import annotations

import sys
from pathlib import Path

from click.shell_completion import get_completion_class

SHELLS = {"bash": "apfctl.bash", "zsh": "_apfctl", "fish": "apfctl.fish"}


def script(shell: str) -> str:
    from apfctl.cli import cli

    completion_class = get_completion_class(shell)
    assert completion_class is not None, shell
    return completion_class(cli, {}, "apfctl", "_APFCTL_COMPLETE").source()


def write_all(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for shell, filename in SHELLS.items():
        path = folder / filename
        path.write_text(script(shell))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "completions")):
        print(path)
