"""The generic pilot wrapper, shipped as package data, and how queues name it.

A queue runs its pilots through the wrapper when its ``executable`` is unset or is the
word ``apfctl-wrapper`` (the documented default); submit backends call
:func:`resolve_executable` to turn the queue's ``executable`` into the file they submit,
and pass ``executable.arguments`` after it (wrapper options, then ``--`` and the payload).
"""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

from apfctl.config.model import QueueConfig
from apfctl.errors import ApfctlError

#: The word a queue's ``executable`` uses to name the wrapper.
NAME = "apfctl-wrapper"
_FILE = "apfctl-wrapper.sh"


def path() -> Path:
    """The wrapper script inside the installed package (readable and executable)."""
    found = Path(str(resources.files(__name__).joinpath(_FILE)))
    if not found.is_file():
        raise ApfctlError(f"the pilot wrapper {found} is missing from the apfctl package")
    return found


def text() -> str:
    """The wrapper's source."""
    return path().read_text(encoding="utf-8")


def is_wrapper(executable: str | None) -> bool:
    """Whether an ``executable`` value names the wrapper (unset counts as the wrapper)."""
    if executable is None:
        return True
    word = executable.strip()
    return word in ("", NAME, _FILE) or word.lower() == "none"


def resolve_executable(queue: QueueConfig) -> str:
    """The file a submit backend runs for ``queue``: the wrapper's path, or the configured one.

    ``executable = apfctl-wrapper`` (or no ``executable``) gives :func:`path`; any other
    value is the configured command (``~`` expanded, a relative path taken from the folder
    of the file that set it), for queues that run another wrapper.
    """
    from apfctl.config.generic import QUEUE_KEYS

    if is_wrapper(queue.get("executable")):
        return str(path())
    return str(queue.typed("executable", QUEUE_KEYS["executable"]))


def pilot_command(queue: QueueConfig) -> tuple[str, list[str]]:
    """The executable and its arguments (``executable.arguments`` split as a shell would,
    with no expansion), for backends that start the pilot as a command line."""
    from apfctl.config import shellwords

    arguments = queue.get("executable.arguments") or ""
    try:
        return resolve_executable(queue), shellwords.split(arguments)
    except ValueError as exc:
        raise queue.error("executable.arguments", str(exc), arguments) from None


def install(destination: str | os.PathLike[str]) -> Path:
    """Copy the wrapper to ``destination`` (a file, or a folder to put it in), mode 0755."""
    text = os.fspath(destination)
    target = Path(text).expanduser()
    if text.endswith(os.sep) and not target.is_dir():   # DIR/ names a folder, never a file called DIR
        raise ApfctlError(f"cannot install the wrapper to {text}: folder {target} does not exist")
    if target.is_dir():
        target = target / _FILE
    if not target.parent.is_dir():
        raise ApfctlError(f"cannot install the wrapper to {target}: folder {target.parent} does not exist")
    try:
        shutil.copyfile(path(), target)
        target.chmod(0o755)
    except OSError as exc:
        raise ApfctlError(f"cannot install the wrapper to {target}: {exc.strerror or exc}") from None
    return target
