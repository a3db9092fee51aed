"""Reading APF's INI files with the line of every section and key.

ConfigParser's grammar, kept small: ``[section]`` headers, ``key = value`` or ``key: value``,
comment lines starting with ``#`` or ``;``, indented continuation lines. Keys keep their case
(APF's ``optionxform = str``). A file's ``[DEFAULT]`` applies to that file's sections only;
interpolation happens later, on the merged section (:mod:`apfctl.config.model`).
"""

from __future__ import annotations

import re
from pathlib import Path

from apfctl.bounded import read_text
from apfctl.config.model import Origin, RawValue
from apfctl.errors import ConfigError
from apfctl.interfaces import ConfigLayer

_SECTION = re.compile(r"\[(?P<name>[^\]]*)\]\s*(?:[#;].*)?$")
_OPTION = re.compile(r"(?P<key>[^=:\s][^=:]*?)\s*[=:]\s?(?P<value>.*)$")
DEFAULT_SECTION = "DEFAULT"


def parse_text(text: str, source: str) -> ConfigLayer:
    """One file's sections and DEFAULT, each value with its origin; ConfigError on bad syntax."""
    sections: dict[str, dict[str, RawValue]] = {}
    defaults: dict[str, RawValue] = {}
    current: dict[str, RawValue] | None = None
    last_key: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            # a blank or comment line ends a multi-line value, as for ConfigParser with comments
            if not stripped:
                last_key = None
            continue
        if line[0] in " \t" and last_key is not None and current is not None:
            previous = current[last_key]
            current[last_key] = RawValue(f"{previous.text}\n{stripped}", previous.origin)
            continue
        header = _SECTION.match(stripped)
        if header:
            name = header.group("name").strip()
            if not name:
                raise ConfigError("empty section name", file=source, line=number)
            current = defaults if name == DEFAULT_SECTION else sections.setdefault(name, {})
            last_key = None
            continue
        option = _OPTION.match(stripped)
        if option is None:
            raise ConfigError(f"cannot parse line {stripped!r} (expected 'key = value')", file=source, line=number)
        if current is None:
            raise ConfigError("key before any [section] header", file=source, line=number,
                              key=option.group("key").strip())
        key = option.group("key").strip()
        current[key] = RawValue(option.group("value").strip(), Origin(source, number))
        last_key = key
    return ConfigLayer(name=source, sections=sections, defaults=defaults)


def parse_file(path: Path) -> ConfigLayer:
    """Parse one file; a missing or unreadable file is a ConfigError naming it."""
    try:
        text = read_text(path)
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", file=str(path)) from None
    return parse_text(text, str(path))


def merge_layers(layers: list[ConfigLayer]) -> dict[str, dict[str, RawValue]]:
    """APF's merge: each layer's DEFAULT copied into its own sections, later layers win per key."""
    merged: dict[str, dict[str, RawValue]] = {}
    for layer in layers:
        for name, values in layer.sections.items():
            target = merged.setdefault(name, {})
            target.update(layer.defaults)
            target.update(values)
    return merged
