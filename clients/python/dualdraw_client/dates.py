"""``google.type.Date`` values as callers give them and people read them."""

from __future__ import annotations

import datetime
import re
from typing import Any

from google.type import date_pb2

Day = str | datetime.date
"""A day as callers give it: ``YYYY-MM-DD`` or a ``datetime.date``."""

_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def date_text(d: Any) -> str:
    """``YYYY-MM-DD`` of a ``google.type.Date``; empty when it is unset (year 0)."""
    year, month, day = getattr(d, "year", 0), getattr(d, "month", 0), getattr(d, "day", 0)
    return f"{year:04d}-{month:02d}-{day:02d}" if year else ""


def date_pb(value: Day | None) -> date_pb2.Date | None:
    """A ``google.type.Date`` of a day or of its ``YYYY-MM-DD`` text; ``None`` (the field left unset) for
    ``None`` or "". The server judges whether the day exists (DATE_INVALID); text of another shape is a
    ``ValueError`` here."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.date):
        return date_pb2.Date(year=value.year, month=value.month, day=value.day)
    found = _DAY.fullmatch(value.strip())
    if found is None:
        raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD")
    year, month, day = (int(part) for part in found.groups())
    return date_pb2.Date(year=year, month=month, day=day)
