"""Periods of management information: a day, an ISO week, a month, a quarter or a year, by label.

Labels sort chronologically as plain strings: ``2026-03-01``, ``2026-W09``, ``2026-03``, ``2026-Q1``,
``2026``. A period is taken by calendar date as given: convert an aware time to the zone the report is
about first, or events just after midnight land in the previous day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

PERIODES = ("dag", "week", "maand", "kwartaal", "jaar")
"""The granularities ``periode_van`` knows."""


def periode_van(tijdstip: date, per: str) -> str:
    """The label of the period that contains ``tijdstip`` (a ``datetime`` or a ``date``). Weeks are ISO
    weeks, so 2027-01-01 belongs to 2026-W53 and the label's year can differ from the date's."""
    if per == "dag":
        return f"{tijdstip.year:04d}-{tijdstip.month:02d}-{tijdstip.day:02d}"
    if per == "week":
        jaar, week, _ = tijdstip.isocalendar()
        return f"{jaar:04d}-W{week:02d}"
    if per == "maand":
        return f"{tijdstip.year:04d}-{tijdstip.month:02d}"
    if per == "kwartaal":
        return f"{tijdstip.year:04d}-Q{(tijdstip.month - 1) // 3 + 1}"
    if per == "jaar":
        return f"{tijdstip.year:04d}"
    raise ValueError(f"onbekende periode {per!r}; verwacht een van {', '.join(PERIODES)}")


@dataclass(frozen=True)
class Periode:
    """A period within a report's range: its label and its first and last day (within the range)."""

    label: str
    eerste: date
    laatste: date


def perioden(van: date, tot: date, per: str) -> list[Periode]:
    """Every period from ``van`` up to and including ``tot``, in order; the first and the last are cut
    to the range."""
    if per not in PERIODES:
        raise ValueError(f"onbekende periode {per!r}; verwacht een van {', '.join(PERIODES)}")
    uit: list[Periode] = []
    dag = van
    while dag <= tot:
        label = periode_van(dag, per)
        if uit and uit[-1].label == label:
            uit[-1] = Periode(label, uit[-1].eerste, dag)
        else:
            uit.append(Periode(label, dag, dag))
        dag += timedelta(days=1)
    return uit


def perioden_tussen(van: date, tot: date, per: str) -> list[str]:
    """Every period label from ``van`` up to and including ``tot``, in order, so that a period without
    any event still appears (with zeros) instead of silently dropping out of the time axis."""
    return [p.label for p in perioden(van, tot, per)]
