"""The constraints a field of the record can carry, beside its Python type (``Annotated`` metadata).

``sections.py`` writes them once; the validator (``validate.py``) and the JSON Schema
(``schema.py``) are both derived from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """A number in ``low..high`` (both included unless ``above`` asks for ``low < value``)."""

    low: int | float
    high: int | float
    above: bool = False

    def describe(self) -> str:
        return f"{'above ' if self.above else ''}{self.low:,}..{self.high:,}"


@dataclass(frozen=True)
class Pattern:
    """A string that matches ``regex`` whole; ``what`` says in words what that is."""

    regex: str
    what: str

    def compile(self) -> re.Pattern[str]:
        return re.compile(self.regex)


@dataclass(frozen=True)
class Length:
    """A string of ``low..high`` characters."""

    low: int
    high: int


@dataclass(frozen=True)
class Doc:
    """The field's description in the JSON Schema."""

    text: str


# Counts of jobs and pilots; a batch system or WMS reporting more is broken, not big.
COUNT = Range(0, 10**9)
# A number of pilots to submit (positive) or retire (negative) in one cycle.
PILOTS = Range(-10**6, 10**6)
# A rule's input and output on the way: any integer JSON carries exactly.
STEP = Range(-(2**53), 2**53)
SECONDS = Range(0, 10**9)
# A moment as Unix time (seconds since 1970), up to the year 2514.
EPOCH = Range(0, 2**34)
ISO_TIME = Pattern(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z",
                   "an ISO time like 2026-11-25T06:00:01Z")
# A cycle id goes into submit descriptions, batch scripts and job names: nothing else is let in.
CYCLE_ID = Pattern(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}",
                   "a cycle id (letters, digits and _ . : - only, at most 64)")
QUEUE_NAME = Length(1, 255)
# A resource type (SCORE, MCORE, ...): it goes into job names, ClassAds and environment values.
RESOURCE_TYPE = Pattern(r"[A-Z][A-Z0-9_]{0,31}", "a resource type name (upper-case letters, digits and _, at most 32)")
CORES = Range(1, 1024)
MEMORY_MB = Range(1, 16 * 1024 * 1024)
