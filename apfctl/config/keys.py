"""Declarations of configuration keys, and the conversion of their string values.

Plugins declare the keys they read as a mapping of key name to :class:`Key`. A key name may
contain ``{name}``, replaced by the lower-cased plugin name as configured (so one class can
serve ``CondorCE`` and ``CondorOSGCE`` with ``batchsubmit.condorce.*`` and
``batchsubmit.condorosgce.*``), and may end in ``*`` to declare a family of keys sharing a
prefix (``batchsubmit.{name}.condor_attributes.*``).

Values follow APF's typed getters: the strings ``None``/``none`` mean no value for every
type, ``True``/``False`` (any case) are booleans.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NONE_STRINGS = frozenset({"none", ""})
TRUE_STRINGS = frozenset({"true", "yes", "on", "1"})
FALSE_STRINGS = frozenset({"false", "no", "off", "0"})


def _to_str(raw: str) -> str:
    return raw


def _to_int(raw: str) -> int:
    text = raw.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)  # accept "10.0", refuse "10.5"
    except ValueError:
        raise ValueError("not an integer") from None
    if not math.isfinite(number) or number != int(number):
        raise ValueError("not an integer")
    return int(number)


def _to_float(raw: str) -> float:
    try:
        number = float(raw.strip())
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _to_ratio(raw: str) -> float:
    number = _to_float(raw)
    if not 0.0 <= number <= 1.0:
        raise ValueError("must be a ratio between 0 and 1")
    return number


def _to_bool(raw: str) -> bool:
    text = raw.strip().lower()
    if text in TRUE_STRINGS:
        return True
    if text in FALSE_STRINGS:
        return False
    raise ValueError("not a boolean (True or False)")


def _to_list(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


CONVERTERS: dict[str, Callable[[str], Any]] = {
    "str": _to_str,
    "path": _to_str,     # resolved against the folder of the file that set it (Section.typed)
    "command": _to_str,  # like path, but a bare name is left for a PATH lookup
    "int": _to_int,
    "float": _to_float,
    "ratio": _to_ratio,
    "bool": _to_bool,
    "list": _to_list,
}

TYPE_WORDS = {
    "str": "a string",
    "path": "a file or folder path",
    "command": "a command or a path to one",
    "int": "an integer",
    "float": "a number",
    "ratio": "a ratio between 0 and 1",
    "bool": "True or False",
    "list": "a comma-separated list",
}


class OutOfRange(ValueError):
    """A value of the right type outside what the key allows (not a type error)."""


@dataclass(frozen=True)
class Key:
    """One configuration key: its type, default, whether it must be set, and what it does."""

    type: str = "str"
    default: Any = None
    required: bool = False
    doc: str = ""
    choices: tuple[str, ...] | None = None
    minimum: float | None = None

    def __post_init__(self) -> None:
        if self.type not in CONVERTERS:
            raise ValueError(f"unknown key type {self.type!r}")

    def convert(self, raw: str | None) -> Any:
        """The typed value of ``raw``; raises ValueError with a reason for the operator."""
        if raw is None or raw.strip().lower() in NONE_STRINGS:
            return self.default
        value = CONVERTERS[self.type](raw)
        if self.choices is not None:
            wanted = value.lower() if isinstance(value, str) else value
            allowed = [c.lower() for c in self.choices]
            if wanted not in allowed:
                raise OutOfRange(f"must be one of {', '.join(self.choices)}")
        if self.minimum is not None and isinstance(value, (int, float)) and value < self.minimum:
            raise OutOfRange(f"must be at least {self.minimum:g}")
        return value

    def expects(self) -> str:
        return TYPE_WORDS[self.type]


KeyMap = Mapping[str, Key]


def parse_verify(text: str | None) -> bool | str:
    """A TLS ``verify`` setting: ``True``/``False`` (any case, or yes/no/on/off/1/0) or a CA bundle path."""
    word = (text or "").strip()
    if word.lower() in NONE_STRINGS | TRUE_STRINGS:
        return True
    if word.lower() in FALSE_STRINGS:
        return False
    return str(Path(word).expanduser())


def expand_keys(keys: KeyMap, plugin_name: str) -> dict[str, Key]:
    """Key declarations with ``{name}`` replaced by the lower-cased configured plugin name."""
    lowered = plugin_name.lower()
    return {name.replace("{name}", lowered): key for name, key in keys.items()}


def match_key(declared: Mapping[str, Key], key: str) -> Key | None:
    """The declaration that covers ``key``: an exact name, or a ``prefix*`` family."""
    found = declared.get(key)
    if found is not None:
        return found
    for name, spec in declared.items():
        if name.endswith("*") and key.startswith(name[:-1]):
            return spec
    return None
