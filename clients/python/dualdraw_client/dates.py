"""``google.type.Date`` values as people read them."""

from __future__ import annotations

import datetime
from typing import Any

from google.type import date_pb2

Day = str | datetime.date
"""A day as callers give it: ``YYYY-MM-DD`` or a ``datetime.date``."""


def to_date(day: Day | None) -> date_pb2.Date | None:
    """A ``google.type.Date`` of ``day`` (``YYYY-MM-DD`` or a date); ``None`` or ``""`` stays unset."""
    if day is None or day == "":
        return None
    value = datetime.date.fromisoformat(day) if isinstance(day, str) else day
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


def date_text(d: Any) -> str:
    """``YYYY-MM-DD`` of a ``google.type.Date``; empty when it is unset (year 0)."""
    year, month, day = getattr(d, "year", 0), getattr(d, "month", 0), getattr(d, "day", 0)
    return f"{year:04d}-{month:02d}-{day:02d}" if year else ""
