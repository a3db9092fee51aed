"""APF's message format, ``Name:key=value,key=value``, built in one place.

Every rule and the decide stage describe each step with :func:`message`: a template made
once (when the rule is built) whose fixed values are cleaned then, and whose slots are
filled on every call: ``NUMBER`` slots as they are (ints and floats cannot break the
format), ``TEXT`` slots cleaned. A template is a plain ``str.format`` when it has no text
slot, so a rule's message costs what an f-string does.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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
    parts: list[str] = []
    text_slots: list[int] = []
    slots = 0
    for key, value in pairs.items():
        if value is NUMBER or value is TEXT:
            if value is TEXT:
                text_slots.append(slots)
            slots += 1
            parts.append(f"{key.removesuffix('_')}={{}}")
        else:
            fixed = clean(value).replace("{", "{{").replace("}", "}}")
            parts.append(f"{key.removesuffix('_')}={fixed}")
    name = rule.replace("{", "{{").replace("}", "}}")
    fill = f"{name}:{','.join(parts)}".format
    if not text_slots:
        return fill

    def cleaned(*values: object) -> str:
        filled = list(values)
        for index in text_slots:
            filled[index] = clean(filled[index])
        return fill(*filled)

    return cleaned
