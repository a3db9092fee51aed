"""The table for pipes and files: plain text (tabulate), no colours, no control codes.

Health is spelled out in the age column (``1h30m STALE``) since there is no colour, and
the activity is the number of pilots submitted over the sparkline's two hours. A unified
queue's resource types each get a row under it (``└ SCORE``).
"""

from __future__ import annotations

from apfctl.dashboard import cells
from apfctl.dashboard.table import TYPE_MARK
from apfctl.dashboard.view import View

HEADERS = ("queue", "created", "held", "running", "exiting", "done 1h", "fault 1h", "sub", "sub 2h", "age",
           "last msg")


def render(view: View, *, wide: bool = False) -> str:
    from tabulate import tabulate

    rows = []
    several = view.several_factories
    for row in view.rows:
        msg = cells.message(row)
        rows.append([
            row.label if several else row.queue, *(cells.count_text(getattr(row, name))
                         for name in ("pending", "held", "running", "exiting", "done_1h", "fault_1h", "submitted")),
            str(sum(row.activity)), cells.state_text(row), msg if wide else cells.shorten(msg, cells.MSG_WIDTH),
        ])
        rows.extend([TYPE_MARK + kind.name, *(cells.count_text(getattr(kind, name)) for name in
                                              ("pending", "held", "running", "exiting")), "", "",
                     cells.count_text(kind.submitted), "", "",
                     kind.msg if wide else cells.shorten(kind.msg, cells.MSG_WIDTH)] for kind in row.types)
    lines = [f"factory {view.factory}, {len(view.rows)} queues, "
             f"{'live batch status' if view.source == 'live' else 'from the ledger'}, "
             f"{view.now:%Y-%m-%d %H:%M:%S} UTC"]
    if rows:
        lines.append(tabulate(rows, headers=HEADERS, tablefmt="simple", disable_numparse=True,
                              colalign=("left", *("right",) * 8, "left", "left")))
    if not view.rows:
        lines.append("no enabled queues")
    elif not view.has_cycles:
        lines.append("no cycles yet: run apfctl cycle --all")
    return "\n".join(lines) + "\n"
