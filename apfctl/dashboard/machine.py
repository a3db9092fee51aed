"""Outputs for programs: a JSON document, and Prometheus text in both exposition formats.

The classic text format (Prometheus' ``text/plain; version=0.0.4``) is what
node_exporter's textfile collector reads, so it is the default of ``--format prometheus``,
of the Metrics plugin and of ``/metrics``; OpenMetrics text is written when asked
(``--format openmetrics``, or a scraper whose ``Accept`` names it). Gauges describe each
queue's last cycle; the counters come from :mod:`apfctl.dashboard.totals` (pilots
submitted, cycles and errors since the counters started).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from apfctl.dashboard.totals import Totals
from apfctl.dashboard.view import View
from apfctl.errors import ApfctlError

JSON_VERSION = 1
CLASSIC_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
ERROR_SOURCES = ("wms", "batch", "submission")


def render_json(view: View) -> str:
    document = {
        "apfctl_monitor": JSON_VERSION,
        "factory": view.factory,
        "time": view.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": view.source,
        "has_cycles": view.has_cycles,
        "queues": [row.as_dict() for row in view.rows],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- Prometheus text ------------------------------------------------------------------------
def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Mapping[str, str]) -> str:
    return "{" + ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items()) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class _Family:
    """One metric family: its metadata lines, then its samples, in either exposition format.

    A counter ``apfctl_x`` is named ``apfctl_x_total`` in the classic format (metadata and
    samples alike); in OpenMetrics the family is ``apfctl_x`` with ``_total`` and
    ``_created`` samples. Units are OpenMetrics only (the classic format has no UNIT line).
    """

    def __init__(self, name: str, kind: str, help_text: str, unit: str | None = None) -> None:
        self.name = name
        self.kind = kind
        self.help_text = help_text
        self.unit = unit
        self.samples: list[tuple[str, Mapping[str, str], float]] = []

    def add(self, labels: Mapping[str, str], value: float | None, suffix: str = "") -> None:
        if value is None:
            return
        self.samples.append((suffix, labels, value))

    def lines(self, openmetrics: bool) -> list[str]:
        help_text = self.help_text.replace("\\", "\\\\").replace("\n", "\\n")
        if openmetrics:
            head = [f"# TYPE {self.name} {self.kind}", f"# HELP {self.name} {help_text}"]
            if self.unit:
                head.append(f"# UNIT {self.name} {self.unit}")
            return head + [f"{self.name}{suffix}{_labels(labels)} {_number(value)}"
                           for suffix, labels, value in self.samples]
        name = f"{self.name}_total" if self.kind == "counter" else self.name
        head = [f"# HELP {name} {help_text}", f"# TYPE {name} {self.kind}"]
        return head + [f"{self.name}{suffix}{_labels(labels)} {_number(value)}"
                       for suffix, labels, value in self.samples if suffix != "_created"]


def _gauges(view: View, base: dict[str, dict[str, str]]) -> Iterator[_Family]:
    def family(name: str, help_text: str, unit: str | None = None) -> _Family:
        return _Family(name, "gauge", help_text, unit)

    pilots = family("apfctl_pilots", "Pilots of the queue by state at its last cycle (pending is apfmon's created).")
    ended = family("apfctl_pilots_ended_1h", "Pilots of the queue that ended in the hour before its last cycle.")
    decided = family("apfctl_decision_pilots", "Pilots the last decision asked for (negative: to retire).")
    submitted = family("apfctl_cycle_submitted_pilots", "Pilots submitted by the queue's last cycle.")
    retired = family("apfctl_cycle_retired_pilots", "Pilots retired by the queue's last cycle.")
    stamp = family("apfctl_cycle_timestamp_seconds", "When the queue's last cycle ran (Unix time).", "seconds")
    age = family("apfctl_cycle_age_seconds", "Age of the queue's last cycle when this was written.", "seconds")
    interval = family("apfctl_cycle_interval_seconds", "The queue's cycle interval (apfqueue.sleep).", "seconds")
    stale = family("apfctl_cycle_stale", "1 if the last cycle is older than two cycle intervals.")
    error = family("apfctl_cycle_error", "1 if the last cycle could not read this source or submit.")
    configured = family("apfctl_queue_configured", "1 if the queue is configured and enabled, 0 if only recorded.")
    credential = family("apfctl_credential_lifetime_seconds",
                        "Seconds left on the queue's credential (auth.conf profile) at its last cycle.", "seconds")
    for row in view.rows:
        labels = base[row.label]
        for state in ("pending", "held", "running", "exiting"):
            pilots.add({**labels, "state": state}, getattr(row, state))
        ended.add({**labels, "outcome": "done"}, row.done_1h)
        ended.add({**labels, "outcome": "fault"}, row.fault_1h)
        decided.add(labels, row.decided)
        submitted.add(labels, row.submitted)
        retired.add(labels, row.retired)
        stamp.add(labels, row.time.timestamp() if row.time else None)
        age.add(labels, round(row.age, 3) if row.age is not None else None)
        interval.add(labels, row.interval)
        stale.add(labels, int(row.stale) if row.cycle else None)
        if row.cycle:
            for source in ERROR_SOURCES:
                error.add({**labels, "source": source}, int(source in row.errors))
        configured.add(labels, int(row.configured and row.enabled))
        if row.credential_lifetime is not None:
            credential.add({**labels, "profile": row.credential or ""}, round(row.credential_lifetime, 3))
    yield from (pilots, ended, decided, submitted, retired, stamp, age, interval, stale, error, configured, credential)
    yield from _type_gauges(view, base)


def _type_gauges(view: View, base: dict[str, dict[str, str]]) -> Iterator[_Family]:
    """The per-resource-type gauges of unified queues, labelled ``resource_type``.

    They are families of their own, so that summing a queue-wide family never counts a
    pilot twice (a type's pilots are also in the queue's totals).
    """
    pilots = _Family("apfctl_resource_type_pilots", "gauge",
                     "Pilots of one resource type of the queue by state at its last cycle.")
    decided = _Family("apfctl_resource_type_decision_pilots", "gauge",
                      "Pilots of one resource type the last decision asked for (negative: to retire).")
    submitted = _Family("apfctl_resource_type_submitted_pilots", "gauge",
                        "Pilots of one resource type submitted by the queue's last cycle.")
    retired = _Family("apfctl_resource_type_retired_pilots", "gauge",
                      "Pilots of one resource type retired by the queue's last cycle.")
    for row in view.rows:
        for kind in row.types:
            labels = {**base[row.label], "resource_type": kind.name}
            for state in ("pending", "held", "running", "exiting"):
                pilots.add({**labels, "state": state}, getattr(kind, state))
            decided.add(labels, kind.decided)
            submitted.add(labels, kind.submitted)
            retired.add(labels, kind.retired)
    yield from (pilots, decided, submitted, retired)


def _counters(view: View, totals: Mapping[str, Totals], base: dict[str, dict[str, str]]) -> Iterator[_Family]:
    submitted = _Family("apfctl_pilots_submitted", "counter", "Pilots submitted for the queue.")
    retired = _Family("apfctl_pilots_retired", "counter", "Pilots retired for the queue.")
    cycles = _Family("apfctl_cycles", "counter", "Cycles recorded for the queue.")
    errors = _Family("apfctl_cycle_errors", "counter", "Cycles of the queue in which a source or submission failed.")
    streak = _Family("apfctl_cycle_failing_streak", "gauge", "Cycles of the queue in a row that failed (0: the last "
                     "one did not).")
    for row in view.rows:
        kept = totals.get(row.factory)
        if kept is None:
            continue
        labels = base[row.label]
        counts = kept.queues.get(row.queue, {})
        streak.add(labels, counts.get("failing_streak", 0))
        for fam, key in ((submitted, "submitted"), (retired, "retired"), (cycles, "cycles")):
            fam.add(labels, counts.get(key, 0), "_total")
            fam.add(labels, kept.created, "_created")
        for source in ERROR_SOURCES:
            errors.add({**labels, "source": source}, counts.get(f"errors_{source}", 0), "_total")
            errors.add({**labels, "source": source}, kept.created, "_created")
    yield from (submitted, retired, cycles, errors, streak)


def render_prometheus(view: View, totals: Mapping[str, Totals] | None = None, *, openmetrics: bool = False) -> str:
    """The text exposition of every row (families without samples are left out).

    ``totals`` holds each factory's counters, by factory id. The classic text format
    unless ``openmetrics``; in the classic format the counters' start time is the gauge
    ``apfctl_counters_start_timestamp_seconds`` (OpenMetrics has ``_created`` samples).
    """
    base = {row.label: {"factory": row.factory, "queue": row.queue} for row in view.rows}
    families: list[_Family] = list(_gauges(view, base))
    if totals:
        families.extend(_counters(view, totals, base))
        if not openmetrics:
            start = _Family("apfctl_counters_start_timestamp_seconds", "gauge",
                            "When the factory's counters started counting (Unix time).")
            for factory, kept in sorted(totals.items()):
                start.add({"factory": factory}, kept.created)
            families.append(start)
    lines = [line for fam in families if fam.samples for line in fam.lines(openmetrics)]
    if openmetrics:
        lines.append("# EOF")
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``.

    Readers (node_exporter's textfile collector) see the old file or the new one, never half.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise ApfctlError(f"{path}: cannot write: {exc.strerror or exc}") from None
