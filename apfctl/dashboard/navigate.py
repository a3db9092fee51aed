"""The live screen's keys: what each one does to the shown rows (pure: no terminal, no clock).

:func:`key_names` turns the bytes a terminal sends into key names (``up``, ``pgdn``, ``/``);
:class:`Navigator` holds what the operator chose (the first row shown, the filter, the
sort) and :meth:`Navigator.press` changes it, one key at a time, as a table:

==========================  ============================================
keys                        effect
==========================  ============================================
``up`` ``k`` / ``down`` ``j``  one row up / down
``pgup`` / ``pgdn`` (space)  one screen up / down
``home`` ``g`` / ``end`` ``G``  first / last rows
``/``                       type a filter (glob or text; Enter keeps it, Esc drops it)
``s`` / ``S``               next sort key / reverse the order
``esc``                     clear the filter
``r``                       refresh now;  ``q``: quit
==========================  ============================================
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from apfctl.dashboard.view import SORT_KEYS, Row, sort_rows

#: escape sequences of the keys the screen knows (xterm, VT220 and the application-mode variants)
SEQUENCES = {
    "\x1b[A": "up", "\x1bOA": "up", "\x1b[B": "down", "\x1bOB": "down",
    "\x1b[5~": "pgup", "\x1b[6~": "pgdn",
    "\x1b[H": "home", "\x1bOH": "home", "\x1b[1~": "home", "\x1b[7~": "home",
    "\x1b[F": "end", "\x1bOF": "end", "\x1b[4~": "end", "\x1b[8~": "end",
    "\x1b[C": "right", "\x1b[D": "left", "\x1bOC": "right", "\x1bOD": "left",
}
NAMED = {"\r": "enter", "\n": "enter", "\x7f": "backspace", "\x08": "backspace", "\x1b": "esc", " ": "pgdn"}
MOVES = {"up": -1, "k": -1, "down": 1, "j": 1}


def key_names(text: str) -> list[str]:
    """The keys in what the terminal sent: escape sequences by name, other characters as themselves."""
    keys: list[str] = []
    index = 0
    while index < len(text):
        for sequence, name in SEQUENCES.items():
            if text.startswith(sequence, index):
                keys.append(name)
                index += len(sequence)
                break
        else:
            char = text[index]
            keys.append(NAMED.get(char, char))
            index += 1
    return keys


def _matches(row: Row, pattern: str) -> bool:
    if any(mark in pattern for mark in "*?["):
        return fnmatch.fnmatchcase(row.queue, pattern) or fnmatch.fnmatchcase(row.label, pattern)
    needle = pattern.lower()
    return needle in row.label.lower() or needle in row.msg.lower()


@dataclass
class Navigator:
    """What the operator is looking at: rows from ``first``, filtered, sorted."""

    sort_key: str = "queue"
    reverse: bool = False
    filter: str = ""
    typing: str | None = None        # the filter being typed after '/', None when not typing
    first: int = 0                   # index of the first row shown
    room: int = 20                   # rows that fit on the screen (set by each draw)
    total: int = 0                   # rows after the filter (set by each draw)
    quit: bool = False
    refresh: bool = False

    def rows(self, rows: Sequence[Row]) -> list[Row]:
        """``rows`` filtered and sorted as chosen; keeps ``first`` within them."""
        pattern = self.typing if self.typing is not None else self.filter
        chosen = [row for row in rows if _matches(row, pattern)] if pattern else list(rows)
        chosen = sort_rows(chosen, self.sort_key, self.reverse)
        self.total = len(chosen)
        self._clamp()
        return chosen

    def _clamp(self) -> None:
        self.first = max(0, min(self.first, self.total - self.room))

    def press(self, key: str) -> None:
        """Apply one key (a name from :func:`key_names`)."""
        if self.typing is not None:
            self._type(key)
            return
        if key in MOVES:
            self.first += MOVES[key]
        elif key == "pgup":
            self.first -= max(1, self.room - 1)
        elif key == "pgdn":
            self.first += max(1, self.room - 1)
        elif key in ("home", "g"):
            self.first = 0
        elif key in ("end", "G"):
            self.first = self.total
        elif key == "/":
            self.typing = self.filter
        elif key == "esc":
            self.filter = ""
        elif key == "s":
            self.sort_key = SORT_KEYS[(SORT_KEYS.index(self.sort_key) + 1) % len(SORT_KEYS)]
        elif key == "S":
            self.reverse = not self.reverse
        elif key in ("q", "Q"):
            self.quit = True
        elif key in ("r", "R"):
            self.refresh = True
        self._clamp()

    def _type(self, key: str) -> None:
        assert self.typing is not None
        if key == "enter":
            self.filter, self.typing = self.typing, None
            self.first = 0
        elif key == "esc":
            self.typing = None
        elif key == "backspace":
            self.typing = self.typing[:-1]
        elif len(key) == 1 and key.isprintable():
            self.typing += key
            self.first = 0

    def status(self) -> str:
        """The footer's part about the rows: which are shown, the filter, the sort."""
        last = min(self.total, self.first + self.room)
        parts = [f"rows {self.first + 1 if self.total else 0}-{last} of {self.total}",
                 f"sort {self.sort_key}{' reversed' if self.reverse else ''}"]
        if self.typing is not None:
            parts.append(f"filter: {self.typing}▏ (Enter keeps, Esc drops)")
        elif self.filter:
            parts.append(f"filter {self.filter} (Esc clears)")
        return " · ".join(parts)

    HELP = "q quit · r refresh · ↑↓ j k PgUp PgDn Home End scroll · / filter · s sort · S reverse"
