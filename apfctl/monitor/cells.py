"""Cell texts shared by the terminal and plain tables: ages, sparklines, counts, messages."""

from __future__ import annotations

from collections.abc import Sequence

from apfctl.monitor.view import Row

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


def state_text(row: Row) -> str:
    """The age cell's word for rows that need attention, for outputs without colour."""
    if row.health in ("failing", "stale"):
        return f"{age_text(row.age)} {row.health.upper()}"
    return age_text(row.age)
