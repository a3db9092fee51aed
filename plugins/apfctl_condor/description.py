"""A submit description built line by line, refusing anything that could inject commands.

Values come from configuration files and remote sources (CRIC). A value with a newline,
a trailing line continuation or a ``queue`` statement, or a command name that is not a
plain submit command, would add commands to the description; such input is an error
naming the configuration key it came from, never a new line in the description.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_COMMAND = re.compile(r"^(\+|MY\.)?[A-Za-z_][A-Za-z0-9_.]*$")
_QUEUE_STATEMENT = re.compile(r"^\s*queue(\s|$)", re.IGNORECASE)
# Lines apfctl writes itself (its stamps, the log files, the pilot and where it runs). A
# ``condor_attributes`` line for one of them would win (later duplicates win) and break the
# factory's bookkeeping or the pilot, so extra attributes may not name them.
PROTECTED = frozenset(name.lower() for name in (
    "MATCH_APF_QUEUE", "APF_QUEUE", "ApfctlCycle", "ApfctlFactory", "FACTORY_JOBID", "Dir", "output", "error",
    "log", "environment", "executable", "arguments", "universe", "grid_resource", "x509userproxy"))
_BREAKS = ("\n", "\r", "\x00", "\x0b", "\x0c", "\x85", "\u2028", "\u2029")


class UnsafeValue(ValueError):
    """A command name or value that would change the description's structure."""

    def __init__(self, source: str | None, value: str, reason: str) -> None:
        self.source = source
        self.value = value
        self.reason = reason
        super().__init__(reason)


def unsafe_value(value: str) -> str | None:
    """Why ``value`` cannot go on the right of ``command = value`` (None when it can)."""
    if any(mark in value for mark in _BREAKS):
        return "contains a line break, which would start a new submit command"
    if _QUEUE_STATEMENT.match(value):
        return "is a queue statement"
    if value.rstrip().endswith("\\"):
        return "ends with a backslash, which would continue onto the next submit command"
    return None


def unsafe_command(command: str) -> str | None:
    if not _COMMAND.match(command):
        return "is not a submit command name (letters, digits, '_' and '.', optionally '+' or 'MY.' first)"
    if command.lower() == "queue":
        return "is a queue statement"
    return None


def protected_command(command: str) -> str | None:
    """Why an extra attribute may not be ``command`` (None when it may), ``+``/``MY.`` or not."""
    bare = re.sub(r"^(\+|MY\.)", "", command.strip(), flags=re.IGNORECASE)
    if bare.lower() in PROTECTED:
        return f"{command.strip()!r} is set by apfctl itself and cannot be overridden"
    return None


def add_extra(description: Description, command: str, value: str, source: str) -> None:
    """Add one configured extra attribute; UnsafeValue if apfctl writes that line itself."""
    reason = protected_command(command)
    if reason is not None:
        raise UnsafeValue(source, command, reason)
    description.add(command, value, source)


class Description:
    """Ordered ``command = value`` lines; later duplicates win, as in a submit file."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def add(self, command: str, value: str, source: str | None = None) -> None:
        """Append one line; ``source`` is the configuration key the value came from."""
        reason = unsafe_command(command)
        if reason is not None:
            raise UnsafeValue(source, command, f"submit command {command!r} {reason}")
        reason = unsafe_value(value)
        if reason is not None:
            raise UnsafeValue(source, value, f"value for {command} {reason}")
        self.lines.append((command, value))

    def render(self, count: int) -> str:
        body = "".join(f"{command} = {value}\n" for command, value in self.lines)
        return f"{body}queue {count}\n"


def split_attributes(text: str) -> list[str]:
    """APF's ``condor_attributes``: comma-separated, ``\\,`` a literal comma, ``\\\\`` a backslash."""
    items: list[str] = []
    current: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            if following in (",", "\\"):
                current.append(following)
            else:
                current.append(char + following)
        elif char == ",":
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    items.append("".join(current).strip())
    return [item for item in items if item]


def add_attributes(description: Description, text: str, source: str,
                   fail: Callable[[str, str], Exception]) -> None:
    """Add every ``ATTR = value`` item of a ``condor_attributes`` list."""
    for item in split_attributes(text):
        command, equals, value = item.partition("=")
        if not equals:
            raise fail(f"item {item!r} is not 'command = value'", text)
        add_extra(description, command.strip(), value.strip(), source)
