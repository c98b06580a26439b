"""``google.type.Date`` values as people read them."""

from __future__ import annotations

from typing import Any


def date_text(d: Any) -> str:
    """``YYYY-MM-DD`` of a ``google.type.Date``; empty when it is unset (year 0)."""
    year, month, day = getattr(d, "year", 0), getattr(d, "month", 0), getattr(d, "day", 0)
    return f"{year:04d}-{month:02d}-{day:02d}" if year else ""
