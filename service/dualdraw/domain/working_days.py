"""Working days (工作日) under a holiday calendar: weekends off, statutory holidays off, adjusted working
weekends (调休上班日) on. Art. 14 deadlines ("publish within 20 working days") are counted with it.

A calendar file is YAML or JSON (JSON is YAML too)::

    holidays: [2026-10-01, 2026-10-02, ...]          # days off that would be working days
    working_weekends: [2026-09-20, 2026-10-10]       # Saturdays/Sundays that are working days

A calendar read from a file covers the years its dates name, up to the last one: counting into a later
year raises ``CalendarEnds`` (``FAILED_PRECONDITION`` ``CALENDAR_ENDS``) instead of silently taking
Monday to Friday for a year whose holidays nobody entered. Add the next year's notice to the file before
the year turns. The empty calendar (no file configured) is weekends only, for every year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dualdraw.domain.errors import FailedPrecondition

PUBLICATION_DEADLINE_WORKING_DAYS = 20  # Art. 14 as practised nationally: publish within 20 working days


class CalendarError(ValueError):
    """A calendar file that cannot be read as a holiday calendar."""


class CalendarEnds(FailedPrecondition):
    """A working-day count that runs past the last year the holiday calendar covers."""

    def __init__(self, day: dt.date, last_year: int) -> None:
        super().__init__(
            f"the holiday calendar ends with {last_year}; counting working days to {day} needs the "
            f"{day.year} holiday arrangements added to it (DUALDRAW_HOLIDAY_CALENDAR)",
            reason="CALENDAR_ENDS",
            metadata={"last_year": str(last_year), "day": day.isoformat()},
        )


@dataclass(frozen=True)
class HolidayCalendar:
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    working_weekends: frozenset[dt.date] = field(default_factory=frozenset)
    last_year: int | None = None
    """The last year the calendar covers (``None``: weekends only, every year); later days are refused."""

    def is_working_day(self, day: dt.date) -> bool:
        if self.last_year is not None and day.year > self.last_year:
            raise CalendarEnds(day, self.last_year)
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


def publication_deadline(calendar: HolidayCalendar, drawn_on: dt.date) -> dt.date:
    """The last day on which results of a draw made on ``drawn_on`` are published on time: Art. 14's 20
    working days run from the draw, and results are published as they come, not when the last one is in."""
    return calendar.add_working_days(drawn_on, PUBLICATION_DEADLINE_WORKING_DAYS)


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
    years = [d.year for d in holidays | weekends]
    return HolidayCalendar(holidays, weekends, max(years) if years else None)


def load_calendar(path: Path | None) -> HolidayCalendar:
    """The calendar in ``path``; weekends only when ``path`` is ``None``."""
    if path is None:
        return HolidayCalendar()
    return parse_calendar(path.read_text(encoding="utf-8"))
