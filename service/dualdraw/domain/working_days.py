"""Working days (工作日) under a holiday calendar: weekends off, statutory holidays off, adjusted working
weekends (调休上班日) on. Art. 14 deadlines ("publish within 20 working days") are counted with it.

A calendar file is YAML or JSON (JSON is YAML too)::

    holidays: [2026-10-01, 2026-10-02, ...]          # days off that would be working days
    working_weekends: [2026-09-20, 2026-10-10]       # Saturdays/Sundays that are working days

Dates outside the file fall back to the plain rule: Monday to Friday are working days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PUBLICATION_DEADLINE_WORKING_DAYS = 20  # Art. 14 as practised nationally: publish within 20 working days


class CalendarError(ValueError):
    """A calendar file that cannot be read as a holiday calendar."""


@dataclass(frozen=True)
class HolidayCalendar:
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    working_weekends: frozenset[dt.date] = field(default_factory=frozenset)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.working_weekends:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, start: dt.date, count: int) -> dt.date:
        """The ``count``-th working day after ``start`` (``start`` itself is not counted)."""
        if count < 0:
            raise ValueError("count must not be negative")
        day = start
        remaining = count
        while remaining:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in ``(start, end]`` (0 when ``end <= start``)."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_working_day(day)
        return count


def publication_deadline(calendar: HolidayCalendar, inspection_ended_on: dt.date) -> dt.date:
    """The last day on which results of an inspection that ended on ``inspection_ended_on`` are on time."""
    return calendar.add_working_days(inspection_ended_on, PUBLICATION_DEADLINE_WORKING_DAYS)


def _dates(raw: Any, key: str) -> Iterable[dt.date]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise CalendarError(f"{key}: expected a list of dates")
    out = []
    for value in raw:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            out.append(value)
            continue
        try:
            out.append(dt.date.fromisoformat(str(value)))
        except ValueError:
            raise CalendarError(f"{key}: {value!r} is not a date YYYY-MM-DD") from None
    return out


def parse_calendar(text: str) -> HolidayCalendar:
    """A calendar from YAML/JSON text (see the module docstring); raises ``CalendarError``."""
    try:
        data = yaml.safe_load(text) or {}
    except (yaml.YAMLError, ValueError) as exc:  # YAML parses dates itself and raises ValueError for bad ones
        raise CalendarError(f"not YAML/JSON, or not a date: {exc}") from None
    if not isinstance(data, dict):
        raise CalendarError("expected a mapping with 'holidays' and 'working_weekends'")
    unknown = set(data) - {"holidays", "working_weekends", "source", "note"}
    if unknown:
        raise CalendarError(f"unknown keys: {', '.join(sorted(map(str, unknown)))}")
    holidays = frozenset(_dates(data.get("holidays"), "holidays"))
    weekends = frozenset(_dates(data.get("working_weekends"), "working_weekends"))
    not_weekend = sorted(d.isoformat() for d in weekends if d.weekday() < 5)
    if not_weekend:
        raise CalendarError(f"working_weekends: not a Saturday or Sunday: {', '.join(not_weekend)}")
    if holidays & weekends:
        raise CalendarError("a date is both a holiday and a working weekend")
    return HolidayCalendar(holidays, weekends)


def load_calendar(path: Path | None) -> HolidayCalendar:
    """The calendar in ``path``; weekends only when ``path`` is ``None``."""
    if path is None:
        return HolidayCalendar()
    return parse_calendar(path.read_text(encoding="utf-8"))
