"""Cell texts shared by the terminal and plain tables: ages, sparklines, counts, messages."""

from __future__ import annotations

from collections.abc import Sequence

from apfctl.dashboard.view import Row

SPARK_LEVELS = "▁▂▃▄▅▆▇█"
MSG_WIDTH = 60          # last msg in the plain table unless --wide


def age_text(seconds: float | None) -> str:
    """``42s``, ``6m``, ``2h05m``, ``3d04h``; ``never`` without a cycle."""
    if seconds is None:
        return "never"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def sparkline(values: Sequence[int]) -> str:
    """One character per bucket: blank for none, then eight levels up to the row's maximum."""
    top = max(values, default=0)
    if top <= 0:
        return " " * len(values)
    chars = []
    for value in values:
        if value <= 0:
            chars.append(" ")
        else:
            chars.append(SPARK_LEVELS[min(len(SPARK_LEVELS) - 1, (value * len(SPARK_LEVELS) - 1) // top)])
    return "".join(chars)


def count_text(value: int | None) -> str:
    return "-" if value is None else str(value)


def shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def message(row: Row) -> str:
    """What the last msg column says: the failure if the cycle failed, else the decision."""
    if row.errors:
        return "; ".join(f"{source}: {error}" for source, error in row.errors.items())
    if not row.configured:
        return f"(not configured) {row.msg}".rstrip()
    if not row.enabled:
        return f"(disabled) {row.msg}".rstrip()
    if row.vms is not None:   # an EC2 queue: its VMs lead the message
        return f"{vm_text(row.vms)} | {row.msg}" if row.msg else vm_text(row.vms)
    return row.msg


def vm_text(vms: dict[str, int]) -> str:
    """``VMs boot 1 idle 2 busy 0 retiring 1`` (and ``gone N`` when some wait for removal)."""
    text = f"VMs boot {vms['pending']} idle {vms['idle']} busy {vms['busy']} retiring {vms['retiring']}"
    return f"{text} gone {vms['gone']}" if vms.get("gone") else text


def brief_message(row: Row) -> str:
    """The last msg for a narrow column: the limiting rule's step first, then the whole message.

    ``Ready:in=0,...,ret=117;MaxPerCycle:in=117,maxpercycle=9,ret=9`` becomes
    ``MaxPerCycle:in=117,maxpercycle=9,ret=9 ← Ready:in=0,...`` so that a cut still
    names the rule that limited the decision.
    """
    if row.errors or row.limited_by is None or row.msg == row.limited_by.step:
        return message(row)
    return message(row).replace(row.msg, f"{row.limited_by.step} ← {row.msg}", 1)


def middle_cut(name: str, width: int, tail: int) -> str:
    """``name`` in ``width`` characters: its start, ``…``, and its last ``tail`` characters."""
    if len(name) <= width:
        return name
    if width <= 1:
        return name[:width]
    tail = max(0, min(tail, width - 1))
    return name[: width - 1 - tail] + "…" + (name[-tail:] if tail else "")


def distinct_names(names: Sequence[str], width: int) -> list[str]:
    """Names cut to ``width`` so that distinct names stay distinct cells (when ``width`` allows it).

    Queues of one site share long prefixes (``BNL_PROD-gridgk01_A``, ``..._B``): a cut at
    the end would make them identical cells. Three tries, the first that tells every name
    apart wins:

    1. one head + ``…`` + tail cut for all names, the most balanced that works (the most
       kept of the shorter end; then the longer start);
    2. per name, the window of it around where it first differs from its closest
       neighbour (``…UCORE-gridgk01…``), for names that differ in the middle;
    3. the start of each name and a tag of its place in the sorted names (``BNL_PR…#02``),
       which is distinct by construction: used only when names defeat both cuts.

    A name keeps one cell wherever it appears in ``names``. When ``width`` is too narrow
    even for a tag (``…#`` and the digits), names are only cut.
    """
    if width <= 1:
        return [name[:width] for name in names]
    if all(len(name) <= width for name in names):
        return list(names)
    unique = sorted(set(names))
    for cut in (_common_cut, _window_cut):
        cells = cut(unique, width)
        if len(set(cells.values())) == len(unique):
            return [cells[name] for name in names]
    cells = _tagged(unique, width)
    return [cells[name] for name in names]


def _common_cut(unique: list[str], width: int) -> dict[str, str]:
    best: tuple[int, int] | None = None
    for tail in range(width):
        head = width - 1 - tail
        if best is not None and min(head, tail) < best[0]:
            continue
        better = best is None or (min(head, tail), head) > (best[0], width - 1 - best[1])
        if better and len({middle_cut(name, width, tail) for name in unique}) == len(unique):
            best = (min(head, tail), tail)
    tail = best[1] if best is not None else (width - 1) // 2
    return {name: middle_cut(name, width, tail) for name in unique}


def _common_prefix(a: str, b: str) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length


def _window_cut(unique: list[str], width: int) -> dict[str, str]:
    """Each name around where it first differs from its sorted neighbours (those share the longest prefixes)."""
    cells = {}
    for index, name in enumerate(unique):
        if len(name) <= width:
            cells[name] = name
            continue
        neighbours = unique[max(0, index - 1):index] + unique[index + 1:index + 2]
        differs = [_common_prefix(name, other) for other in neighbours] or [0]
        cells[name] = window(name, min(differs), max(differs), width)
    return cells


def window(name: str, first: int, last: int, width: int) -> str:
    """``width`` characters of ``name`` showing positions ``first`` to ``last``, ``…`` where cut.

    When both do not fit, ``last`` (where the name parts from its closest neighbour) is
    shown. Some of what comes before is kept, so that ``UCORE`` shows in ``…UCORE-gridgk01…``.
    """
    if len(name) <= width:
        return name
    room = width - 2
    if last - first >= room:
        first = last
    start = max(0, first - (room - 1 - (last - first)) // 3)
    if start == 0:
        return name[: width - 1] + "…"
    if start + width - 1 >= len(name):
        return "…" + name[len(name) - (width - 1):]
    return "…" + name[start:start + room] + "…"


def _tagged(unique: list[str], width: int) -> dict[str, str]:
    digits = len(str(len(unique) - 1))
    keep = width - digits - 2          # "…", "#", the digits
    if keep < 0:
        return {name: name[:width] for name in unique}
    return {name: f"{name[:keep]}…#{index:0{digits}d}" for index, name in enumerate(unique)}


def state_text(row: Row) -> str:
    """The age cell's word for rows that need attention, for outputs without colour."""
    if row.health in ("failing", "stale"):
        return f"{age_text(row.age)} {row.health.upper()}"
    return age_text(row.age)
