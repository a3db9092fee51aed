"""A configuration section as plugins see it: interpolated values with typed getters.

A :class:`Section` holds the raw values of one INI section after APF's merging (each file's
``[DEFAULT]`` copied into that file's sections, later files overriding earlier ones key by
key), with where each value came from. ``%(key)s`` is resolved on read, from the same
section, as ConfigParser does; ``%%`` is a literal ``%``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apfctl.config.keys import NONE_STRINGS, Key, OutOfRange, parse_verify
from apfctl.errors import ConfigError

_INTERPOLATION = re.compile(r"%\(([^)]+)\)s|%%|%")
_MAX_DEPTH = 10


@dataclass(frozen=True)
class Origin:
    """Where a raw value was set: a file (or source such as ``cric:<url>``) and a line."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class RawValue:
    text: str
    origin: Origin


class Section:
    """One configuration section: ``[Factory]`` or a queue."""

    def __init__(self, name: str, values: Mapping[str, RawValue]) -> None:
        self.name = name
        self._values = dict(values)
        self._resolved: dict[str, str] = {}

    # -- raw access -------------------------------------------------------------------
    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def keys(self) -> Iterator[str]:
        return iter(self._values)

    def origin(self, key: str) -> Origin | None:
        raw = self._values.get(key)
        return raw.origin if raw else None

    def raw(self, key: str) -> str | None:
        """The value as written, before interpolation."""
        raw = self._values.get(key)
        return raw.text if raw else None

    def error(self, key: str | None, message: str, value: str | None = None) -> ConfigError:
        """A ConfigError located at ``key`` of this section (a missing key: at the section's file)."""
        origin = self.origin(key) if key else None
        if origin is None:
            origin = next((Origin(raw.origin.file) for raw in self._values.values()), None)
        return ConfigError(
            message,
            file=origin.file if origin else None,
            line=origin.line if origin else None,
            section=self.name,
            key=key,
            value=value,
        )

    # -- interpolated access ----------------------------------------------------------
    def get(self, key: str, default: str | None = None) -> str | None:
        """The interpolated string, ``default`` when absent. APF's ``None`` string is kept."""
        if key not in self._values:
            return default
        return self._interpolate(key, 0, ())

    def _interpolate(self, key: str, depth: int, chain: tuple[str, ...]) -> str:
        cached = self._resolved.get(key)
        if cached is not None:
            return cached
        text = self._values[key].text
        if "%" not in text:
            self._resolved[key] = text
            return text
        if depth > _MAX_DEPTH or key in chain:
            raise self.error(key, "interpolation loop: " + " -> ".join((*chain, key)), text)

        def replace(match: re.Match[str]) -> str:
            token = match.group(0)
            if token == "%%":
                return "%"
            name = match.group(1)
            if name is None:
                raise self.error(key, "bad interpolation: a lone '%' must be written '%%'", text)
            if name not in self._values:
                raise self.error(key, f"interpolation refers to {name!r}, which is not set", text)
            return self._interpolate(name, depth + 1, (*chain, key))

        value = _INTERPOLATION.sub(replace, text)
        self._resolved[key] = value
        return value

    def typed(self, key: str, spec: Key) -> Any:
        """The value converted as ``spec`` says; a ConfigError naming the key if it cannot be."""
        text = self.get(key)
        if text is None:
            if spec.required:
                raise self.error(key, f"required key is missing ({spec.expects()})")
            return spec.default
        try:
            value = spec.convert(text)
        except OutOfRange as exc:   # of the right type: "expected an integer" would mislead
            raise self.error(key, str(exc), text) from None
        except ValueError as exc:
            raise self.error(key, f"{exc}; expected {spec.expects()}", text) from None
        if value is None and spec.required:
            raise self.error(key, f"required key is None ({spec.expects()})", text)
        if spec.type in ("path", "command") and isinstance(value, str):
            value = self._resolve_path(key, value, bare_is_command=spec.type == "command")
        return value

    def tls_verify(self, key: str) -> bool | str:
        """A TLS ``verify`` setting: True, False, or a CA bundle path (relative to the file that set it)."""
        verify = parse_verify(self.get(key))
        return self._resolve_path(key, verify, bare_is_command=False) if isinstance(verify, str) else verify

    def _resolve_path(self, key: str, value: str, *, bare_is_command: bool) -> str:
        """``~`` expanded; a relative path taken from the folder of the file that set it."""
        path = Path(value).expanduser()
        if path.is_absolute() or (bare_is_command and "/" not in value):
            return str(path)
        origin = self.origin(key)
        base = Path(origin.file).parent if origin and Path(origin.file).is_file() else Path.cwd()
        return str(base / path)

    # -- APF-style typed getters --------------------------------------------------------
    def getstr(self, key: str, default: str | None = None) -> str | None:
        """The string, with APF's ``None`` string (and an empty value) read as ``default``."""
        text = self.get(key)
        if text is None or text.strip().lower() in NONE_STRINGS:
            return default
        return text.strip()

    def getint(self, key: str, default: int | None = None) -> int | None:
        return self.typed(key, Key("int", default))

    def getfloat(self, key: str, default: float | None = None) -> float | None:
        return self.typed(key, Key("float", default))

    def getbool(self, key: str, default: bool | None = None) -> bool | None:
        return self.typed(key, Key("bool", default))

    def getlist(self, key: str, default: list[str] | None = None) -> list[str]:
        value = self.typed(key, Key("list", None))
        if value is None:
            return list(default or [])
        return value

    def items(self) -> dict[str, str]:
        """Every key with its interpolated value (raises on the first broken one)."""
        return {key: self._interpolate(key, 0, ()) for key in self._values}


class QueueConfig(Section):
    """One queue (APF "label"): the section named after the queue."""

    @property
    def enabled(self) -> bool:
        """APF required ``enabled = True``; a missing key means disabled."""
        return bool(self.getbool("enabled", False))

    @property
    def wmsqueue(self) -> str:
        return self.getstr("wmsqueue") or self.name


class FactoryConfig(Section):
    """The ``[Factory]`` section of the factory config file."""

    @property
    def factory_id(self) -> str:
        return self.getstr("factoryId") or "apfctl"
