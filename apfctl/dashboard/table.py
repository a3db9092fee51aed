"""The terminal table: rich text, laid out here to fit the console's width (and height).

Cells never wrap: when the terminal is too narrow for every column at its minimum width,
the least important columns are left out (activity first, the queue name never), and the
remaining text is cut with an ellipsis. ``wide`` lets the last msg wrap in its own column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from apfctl.dashboard import cells
from apfctl.dashboard.view import ACTIVITY_BUCKETS, Row, View

if TYPE_CHECKING:
    from rich.console import RenderableType

_GAP = 2   # spaces between two columns


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    priority: int           # the lowest is left out first when the terminal is narrow
    min_width: int
    numeric: bool = False


COLUMNS = (
    Column("queue", "queue", 100, 8),
    Column("pending", "created", 90, 7, True),
    Column("held", "held", 50, 4, True),
    Column("running", "running", 88, 7, True),
    Column("exiting", "exiting", 45, 7, True),
    Column("done_1h", "done 1h", 70, 7, True),
    Column("fault_1h", "fault 1h", 72, 8, True),
    Column("submitted", "sub", 80, 3, True),
    Column("activity", "activity 2h", 30, ACTIVITY_BUCKETS),
    Column("age", "age", 95, 5),
    Column("msg", "last msg", 60, 12),
)


def _text(row: Row, key: str, several: bool = False) -> str:
    if key == "activity":
        return cells.sparkline(row.activity)
    if key == "age":
        return cells.age_text(row.age)
    if key == "msg":
        return cells.message(row)
    if key == "queue":
        return row.label if several else row.queue
    return cells.count_text(getattr(row, key))


def _style(row: Row, key: str) -> str:
    if key == "activity":
        return "cyan"
    if key == "age":
        return {"failing": "bold red", "stale": "bold yellow", "never": "dim"}.get(row.health, "green")
    if key == "msg":
        return "red" if row.errors else ""
    if key == "queue":
        return "bold red" if row.health == "failing" else ""
    return "yellow" if key == "held" and row.held else ""


def layout(rows: list[Row], width: int, several: bool = False) -> list[tuple[Column, int]]:
    """Each shown column with its width, so that the table is at most ``width`` wide.

    Every column but the queue name and the last msg gets its natural width; when even
    their minimum widths do not fit, the least important columns are left out. What is
    left goes to the queue name first, then to the last msg.
    """
    from rich.cells import cell_len

    natural = {c.key: max([len(c.header), c.min_width, *(cell_len(_text(row, c.key, several)) for row in rows)])
               for c in COLUMNS}
    flexible = {"queue", "msg"}

    def needed(columns: list[Column]) -> int:
        return (sum(c.min_width if c.key in flexible else natural[c.key] for c in columns)
                + _GAP * (len(columns) - 1))

    chosen = list(COLUMNS)
    while len(chosen) > 1 and needed(chosen) > width:
        chosen.remove(min(chosen, key=lambda c: c.priority))
    keys = {c.key for c in chosen}
    spare = max(0, width - needed(chosen))
    widths = {c.key: natural[c.key] for c in chosen if c.key not in flexible}
    widths["queue"] = min(natural["queue"], COLUMNS[0].min_width + spare)
    spare -= widths["queue"] - COLUMNS[0].min_width
    if "msg" in keys:
        widths["msg"] = min(natural["msg"], COLUMNS[-1].min_width + spare)
    if len(chosen) == 1:   # narrower than the queue name's minimum: cut the name itself
        widths["queue"] = max(1, min(widths["queue"], width))
    return [(c, widths[c.key]) for c in chosen]


def _summary(view: View, shown: int) -> str:
    failing = sum(row.health == "failing" for row in view.rows)
    stale = sum(row.health == "stale" for row in view.rows)
    parts = [f"factory {view.factory}", f"{shown} queue{'s' if shown != 1 else ''}"]
    if failing:
        parts.append(f"{failing} failing")
    if stale:
        parts.append(f"{stale} stale")
    parts.append("live batch status" if view.source == "live" else "from the ledger")
    parts.append(view.now.strftime("%H:%M:%S UTC"))
    return " · ".join(parts)


def _fit(text: str, width: int, right: bool = False) -> str:
    """``text`` in exactly ``width`` terminal cells: cut with an ellipsis, or padded."""
    from rich.cells import cell_len, set_cell_size

    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    return set_cell_size(text, width) if not right else " " * (width - cell_len(text)) + text


def _chunks(text: str, width: int) -> list[str]:
    """``text`` in pieces of at most ``width``, broken after a ``;``, ``,`` or space when there is one."""
    pieces = []
    while len(text) > width:
        cut = max(text.rfind(mark, 0, width) for mark in ";, ") + 1
        cut = cut if cut > width // 3 else width
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    pieces.append(text)
    return pieces


def render(view: View, width: int, *, wide: bool = False, footer: str | None = None,
           height: int | None = None) -> RenderableType:
    """The whole screen: a one-line summary, the table, and a note when nothing ran yet.

    Lines are laid out here rather than by ``rich.table`` (whose per-cell layout costs
    seconds for a thousand queues): each cell is cut or padded to the width that
    :func:`layout` gave its column. With ``height`` (the live screen), rows that do not
    fit are counted instead of drawn.
    """
    from rich.console import Group
    from rich.text import Text

    several = view.several_factories
    shown = layout(view.rows, width, several)
    gap = " " * _GAP
    header = Text(style="bold", no_wrap=True, overflow="ellipsis")
    for index, (column, column_width) in enumerate(shown):
        header.append((gap if index else "") + _fit(column.header, column_width, column.numeric))
    table_width = sum(w for _, w in shown) + _GAP * (len(shown) - 1)
    lines: list[RenderableType] = [Text(_summary(view, len(view.rows)), style="bold", no_wrap=True,
                                        overflow="ellipsis"), header, Text("─" * min(width, table_width))]
    rows = view.rows
    if height is not None:
        room = max(1, height - len(lines) - 1 - (1 if footer else 0))
        rows = rows if len(rows) <= room else rows[:room - 1]
    for row in rows:
        line = Text(style="dim" if not (row.configured and row.enabled) else "", no_wrap=True, overflow="crop")
        more: list[str] = []
        offset = 0
        for index, (column, column_width) in enumerate(shown):
            if index:
                line.append(gap)
                offset += _GAP
            text = _text(row, column.key, several)
            if wide and column.key == "msg":
                more = _chunks(text, column_width)
                text, more = more[0], more[1:]
            line.append(_fit(text, column_width, column.numeric), style=_style(row, column.key) or None)
            if column.key != "msg":
                offset += column_width
        lines.append(line)
        lines.extend(Text(" " * offset + chunk, style=_style(row, "msg") or None, no_wrap=True) for chunk in more)
    if len(rows) < len(view.rows):
        lines.append(Text(f"… {len(view.rows) - len(rows)} more queues: narrow with --queue, or --sort",
                          style="dim", no_wrap=True, overflow="ellipsis"))
    if not view.rows:
        lines.append(Text("no enabled queues", style="dim", no_wrap=True, overflow="ellipsis"))
    elif not view.has_cycles:
        lines.append(Text("no cycles yet: run apfctl cycle --all", style="dim", no_wrap=True, overflow="ellipsis"))
    if footer:
        lines.append(Text(footer, style="dim", no_wrap=True, overflow="ellipsis"))
    return Group(*lines)
