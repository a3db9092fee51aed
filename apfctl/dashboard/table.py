"""The terminal table: rich text, laid out here to fit the console's width (and height).

Cells never wrap. When the terminal is too narrow for every column, the headers get
their short names (``run``, ``fault``), then the least important columns are left out
(activity first, the queue name never). Queue names that do not fit are cut in the middle
so that they stay distinct (:func:`apfctl.dashboard.cells.distinct_names`), and the last
msg shows the step of the rule that limited the decision. ``wide`` shows the whole
message instead, wrapped in its own column. A unified queue's resource types each get a
dim row under it (``└ SCORE``: its counts, submitted pilots and chain message); the live
screen draws them only in the lines its queues leave.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from apfctl.dashboard import cells
from apfctl.dashboard.view import ACTIVITY_BUCKETS, Row, TypeRow, View, limiting_step

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
    short: str = ""         # the header when the terminal is narrow

    def title(self, compact: bool) -> str:
        return self.short if compact and self.short else self.header


COLUMNS = (
    Column("queue", "queue", 100, 8),
    Column("pending", "created", 90, 4, True, "crtd"),
    Column("held", "held", 50, 4, True),
    Column("running", "running", 88, 3, True, "run"),
    Column("exiting", "exiting", 45, 4, True, "exit"),
    Column("done_1h", "done 1h", 70, 4, True, "done"),
    Column("fault_1h", "fault 1h", 72, 5, True, "fault"),
    Column("submitted", "sub", 80, 3, True),
    Column("activity", "activity 2h", 30, ACTIVITY_BUCKETS),
    Column("age", "age", 95, 5),
    Column("msg", "last msg", 60, 12),
)
FOOTER_LINES = 2     # the live screen's footer: the rows shown and the keys


def _text(row: Row, key: str, several: bool = False, wide: bool = False) -> str:
    if key == "activity":
        return cells.sparkline(row.activity)
    if key == "age":
        return cells.age_text(row.age)
    if key == "msg":
        return cells.message(row) if wide else cells.brief_message(row)
    if key == "queue":
        return row.label if several else row.queue
    return cells.count_text(getattr(row, key))


TYPE_MARK = "└ "   # a resource type's row under its queue


def type_text(kind: TypeRow, key: str, wide: bool = False) -> str:
    """A resource type's cell: its counts, its name after the mark, its chain's message (the
    limiting step unless ``wide``); blank otherwise."""
    if key == "queue":
        return TYPE_MARK + kind.name
    if key == "msg":
        step = None if wide else limiting_step({"msg": kind.msg})
        return step.step if step else kind.msg
    if key in ("pending", "held", "running", "exiting", "submitted"):
        return cells.count_text(getattr(kind, key))
    return ""


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


def layout(rows: list[Row], width: int, several: bool = False, wide: bool = False,
           ) -> tuple[list[tuple[Column, int]], bool]:
    """Each shown column with its width, so that the table is at most ``width`` wide; and
    whether the headers are the short ones.

    Every column but the queue name and the last msg gets its natural width. When the
    columns without the activity sparkline do not fit, the short headers are used; when
    even their minimum widths do not fit, the least important columns are left out. What
    is left goes to the queue name first, then to the last msg.
    """
    from rich.cells import cell_len

    contents = {c.key: max([c.min_width, *(cell_len(_text(row, c.key, several, wide)) for row in rows)])
                for c in COLUMNS}
    flexible = {"queue", "msg"}

    def natural(column: Column, compact: bool) -> int:
        return max(len(column.title(compact)), contents[column.key])

    def needed(columns: list[Column], compact: bool) -> int:
        return (sum(c.min_width if c.key in flexible else natural(c, compact) for c in columns)
                + _GAP * (len(columns) - 1))

    chosen = list(COLUMNS)
    compact = needed([c for c in chosen if c.key != "activity"], False) > width
    while len(chosen) > 1 and needed(chosen, compact) > width:
        chosen.remove(min(chosen, key=lambda c: c.priority))
    keys = {c.key for c in chosen}
    spare = max(0, width - needed(chosen, compact))
    widths = {c.key: natural(c, compact) for c in chosen if c.key not in flexible}
    widths["queue"] = min(natural(COLUMNS[0], compact), COLUMNS[0].min_width + spare)
    spare -= widths["queue"] - COLUMNS[0].min_width
    if "msg" in keys:
        widths["msg"] = min(natural(COLUMNS[-1], compact), COLUMNS[-1].min_width + spare)
    if len(chosen) == 1:   # narrower than the queue name's minimum: cut the name itself
        widths["queue"] = max(1, min(widths["queue"], width))
    return [(c, widths[c.key]) for c in chosen], compact


def room(height: int, footer_lines: int = FOOTER_LINES) -> int:
    """How many rows the live screen shows below the summary, the header and its rule."""
    return max(1, height - 3 - footer_lines)


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
           height: int | None = None, first: int = 0) -> RenderableType:
    """The whole screen: a one-line summary, the table, and a note when nothing ran yet.

    Lines are laid out here rather than by ``rich.table`` (whose per-cell layout costs
    seconds for a thousand queues): each cell is cut or padded to the width that
    :func:`layout` gave its column. With ``height`` (the live screen), the rows from
    ``first`` that fit are drawn, and ``footer`` (its lines) below them.
    """
    from rich.console import Group
    from rich.text import Text

    several = view.several_factories
    rows = view.rows
    budget: int | None = None     # the lines the rows may take (the live screen)
    if height is not None:
        note = 1 if not view.rows or not view.has_cycles else 0
        budget = room(height, (footer.count("\n") + 1 if footer else 0) + note)
        rows = rows[first:first + budget]
    shown, compact = layout(rows, width, several, wide)
    names = cells.distinct_names([_text(row, "queue", several) for row in rows], shown[0][1])
    gap = " " * _GAP
    header = Text(style="bold", no_wrap=True, overflow="ellipsis")
    for index, (column, column_width) in enumerate(shown):
        header.append((gap if index else "") + _fit(column.title(compact), column_width, column.numeric))
    table_width = sum(w for _, w in shown) + _GAP * (len(shown) - 1)
    lines: list[RenderableType] = [Text(_summary(view, len(view.rows)), style="bold", no_wrap=True,
                                        overflow="ellipsis"), header, Text("─" * min(width, table_width))]
    for position, row in enumerate(rows):
        line = Text(style="dim" if not (row.configured and row.enabled) else "", no_wrap=True, overflow="crop")
        more: list[str] = []
        offset = 0
        for index, (column, column_width) in enumerate(shown):
            if index:
                line.append(gap)
                offset += _GAP
            text = names[position] if column.key == "queue" else _text(row, column.key, several, wide)
            if wide and column.key == "msg":
                more = _chunks(text, column_width)
                text, more = more[0], more[1:]
            line.append(_fit(text, column_width, column.numeric), style=_style(row, column.key) or None)
            if column.key != "msg":
                offset += column_width
        lines.append(line)
        lines.extend(Text(" " * offset + chunk, style=_style(row, "msg") or None, no_wrap=True) for chunk in more)
        spare = None if budget is None else budget - (len(lines) - 3) - (len(rows) - position - 1)
        for kind in row.types if spare is None or len(row.types) <= spare else ():   # queues first
            lines.append(Text(gap.join(_fit(type_text(kind, column.key, wide), column_width, column.numeric)
                                       for column, column_width in shown), style="dim", no_wrap=True,
                              overflow="crop"))
    if not view.rows:
        lines.append(Text("no enabled queues", style="dim", no_wrap=True, overflow="ellipsis"))
    elif not view.has_cycles:
        lines.append(Text("no cycles yet: run apfctl cycle --all", style="dim", no_wrap=True, overflow="ellipsis"))
    if footer:
        lines.extend(Text(part, style="dim", no_wrap=True, overflow="ellipsis") for part in footer.split("\n"))
    return Group(*lines)
