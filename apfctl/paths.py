"""File names made from names the factory does not control (queues, cycles, clusters, sections).

One function, :func:`safe_name`, so that a queue's lock, its pilot log folder and its Local
pilot state are all named the same way. It escapes, it does not replace: every character
outside ``A-Z a-z 0-9 _ . - ~`` and the escape character ``%`` itself become ``%XX`` (the
UTF-8 bytes, as in URLs), and so does a leading ``.`` (no hidden files, no ``.`` or ``..``).
So ordinary names stay as they are (``ANALY_BNL-gk01.racf.bnl.gov``), and two different
names never share a file: ``Q A``, ``Q_A`` and ``Q/A`` are ``Q%20A``, ``Q_A`` and ``Q%2FA``.
"""

from __future__ import annotations

_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def safe_name(name: str) -> str:
    """``name`` as one file name: plain characters kept, every other one ``%XX``-escaped.

    Injective: :func:`urllib.parse.unquote` gives the name back.
    """
    if not name:
        raise ValueError("an empty name has no file name")
    escaped = "".join(char if char in _PLAIN else "".join(f"%{byte:02X}" for byte in char.encode())
                      for char in name)
    return "%2E" + escaped[1:] if escaped.startswith(".") else escaped


def url_path(file_name: str) -> str:
    """A name made by :func:`safe_name` as it goes in a URL path: its ``%`` becomes ``%25``."""
    return file_name.replace("%", "%25")
