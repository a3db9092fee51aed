"""The dashboard: a view model of every queue built from records, and what draws it.

What operators look at (``apfctl monitor``, ``apfctl serve``, the Metrics plugin) is built
here. :mod:`apfctl.dashboard.view` turns queue configuration and records into rows (pure,
no I/O); :mod:`apfctl.dashboard.source` reads records from the ledger or the batch
systems; the renderers (``table``, ``plain``, ``machine``, ``web``) and the live screen
(``live``) only draw rows.

The functions below are the public API, for plugins and other packages; the submodules
are this package's own. They import their modules when called, so importing
``apfctl.dashboard`` costs nothing at start-up.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apfctl.dashboard.totals import Totals
    from apfctl.dashboard.view import View
    from apfctl.interfaces import FactoryContext

__all__ = ["counters", "factory_view", "prometheus_text", "write_atomically"]


def factory_view(context: FactoryContext, now: _dt.datetime | None = None, *, activity: bool = True) -> View:
    """The view of every queue of a plugin's factory, from its ledger.

    Without ``activity`` the two hours of records behind the sparklines are not read.
    """
    from apfctl.dashboard.source import context_snapshot

    return context_snapshot(context, now, activity=activity)


def counters(state_dir: Path, now: _dt.datetime) -> Totals | None:
    """The factory's Prometheus counters brought up to date, or None if they cannot be kept."""
    from apfctl.dashboard.source import totals

    return totals(state_dir, now)


def prometheus_text(view: View, counters_by_factory: dict[str, Totals] | None = None, *,
                    openmetrics: bool = False) -> str:
    """The Prometheus exposition of ``view``: classic text format, or OpenMetrics when asked."""
    from apfctl.dashboard.machine import render_prometheus

    return render_prometheus(view, counters_by_factory, openmetrics=openmetrics)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old file or the new one, never half."""
    from apfctl.dashboard.machine import write_atomically as write

    write(path, text)
