"""APF's message format, ``Name:key=value,key=value``, built in one place.

Every rule and the decide stage describe each step with :func:`message`: a template made
once (when the rule is built) whose fixed values are cleaned then, and whose slots are
filled on every call: ``NUMBER`` slots as they are (ints and floats cannot break the
format), ``TEXT`` slots cleaned. A template is compiled into one f-string, so a rule's
message costs what an f-string does (decide's throughput budget). A template is a plain
function: kept as a class attribute it would bind as a method, so rules keep the ones
without configured values at module level.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

_UNSAFE = re.compile(r"[,;=:\n]+")
LONGEST = 200   # characters of a cleaned value


class _Slot:
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return self.kind


NUMBER = _Slot("NUMBER")   # an int or float filled in on each call
TEXT = _Slot("TEXT")       # a string filled in on each call, cleaned then

Template = Callable[..., str]


def clean(value: object) -> str:
    """A value that cannot break the ``Name:key=value,...;...`` format (its separators become spaces)."""
    return " ".join(_UNSAFE.sub(" ", str(value)).split())[:LONGEST]


def message(rule: str, **pairs: object) -> Template:
    """The template of one kind of step message: ``message("Scale", in_=NUMBER, factor=0.5, ret=NUMBER)``.

    Keys are written as given, a trailing ``_`` dropped (``in_`` is APF's ``in``); values are
    fixed (cleaned now) or slots, filled in order by the template's arguments:
    ``template(86, 43)`` gives ``Scale:in=86,factor=0.5,ret=43``.
    """
    texts = [f"{rule}:"]   # the fixed text before each slot, and after the last
    slots: list[str] = []
    for number, (key, value) in enumerate(pairs.items()):
        texts[-1] += f"{',' if number else ''}{key.removesuffix('_')}="
        if value is NUMBER or value is TEXT:
            slots.append(f"{{clean(a{len(slots)})}}" if value is TEXT else f"{{a{len(slots)}}}")
            texts.append("")
        else:
            texts[-1] += clean(value)
    return _compile(texts, slots)


def _compile(texts: list[str], slots: list[str]) -> Template:
    """A function ``(a0, a1, ...) -> str`` that is one f-string; the fixed texts are its closure cells."""
    return _maker(tuple(slots))(*texts, clean)


@functools.cache
def _maker(slots: tuple[str, ...]) -> Callable[..., Template]:
    """The factory of templates of one shape (the slots and which are text): compiled once per shape."""
    body = "".join(f"{{t{i}}}{slot}" for i, slot in enumerate(slots)) + f"{{t{len(slots)}}}"
    arguments = ", ".join(f"a{i}" for i in range(len(slots)))
    cells = ", ".join(f"t{i}" for i in range(len(slots) + 1))
    source = f"def make({cells}, clean):\n    def fill({arguments}):\n        return f\"{body}\"\n    return fill\n"
    namespace: dict[str, Any] = {}
    exec(source, namespace)   # our own generated source: every text is a closure cell, never code
    return namespace["make"]
