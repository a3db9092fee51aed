"""Checks for values that come from CRIC or PanDA before they reach a section name, a file
path or a batch submit description.

Each check returns the clean value or raises :class:`Untrusted` saying what is wrong; the
caller skips the entry with a warning naming it. The rules are deliberately narrow: names
and words of letters, digits and ``._-``; DNS host names; integers in a plausible range. No
value that passes can hold a newline, a quote, a ``%`` (INI interpolation), a ``/`` or a
``..`` path component.
"""

from __future__ import annotations

import re
from typing import Any

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
MAX_PORT = 65535


class Untrusted(ValueError):
    """A value from a remote document that apfctl refuses to use."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def name(value: Any, what: str) -> str:
    """A queue or site name: usable in a section name, a file path and a ClassAd string."""
    if not isinstance(value, str) or not _NAME.match(value) or ".." in value:
        raise Untrusted(f"{what} {_shown(value)} is not a plain name (letters, digits, '._-')")
    return value


def word(value: Any, what: str, *, empty: bool = False) -> str:
    """A short token (flavour, activity, batch queue name); ``empty`` allows ''/None as ''."""
    if empty and (value is None or value == ""):
        return ""
    if not isinstance(value, str) or not _WORD.match(value):
        raise Untrusted(f"{what} {_shown(value)} is not a plain word (letters, digits, '._+-')")
    return value


def host(value: str, what: str) -> str:
    """A DNS host name (no IP literal with a port, no scheme, no path)."""
    if len(value) > 253 or not all(_LABEL.match(label) for label in value.split(".")):
        raise Untrusted(f"{what} host {_shown(value)} is not a DNS host name")
    return value.lower()


def endpoint(value: Any, what: str) -> tuple[str, int | None]:
    """``host`` or ``host:port`` as CRIC's ``ce_endpoint`` gives it."""
    if not isinstance(value, str) or not value:
        raise Untrusted(f"{what} {_shown(value)} is not host:port")
    hostname, sep, port_text = value.partition(":")
    port = None
    if sep:
        if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) <= MAX_PORT:
            raise Untrusted(f"{what} {_shown(value)} has no valid port")
        port = int(port_text)
    return host(hostname, what), port


def count(value: Any, what: str, maximum: int) -> int | None:
    """A non-negative integer up to ``maximum`` (None, '' and 0 stay as given: unset)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is not int or not 0 <= value <= maximum:
        raise Untrusted(f"{what} {_shown(value)} is not an integer between 0 and {maximum}")
    return value
