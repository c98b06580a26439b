"""``google.type.Decimal`` values: what the client sends for ratios and amounts, and how people read them."""

from __future__ import annotations

import decimal
from typing import Any

from google.type import decimal_pb2

Number = str | decimal.Decimal | int
"""A decimal as callers give it: its text (``"0.05"``; amounts also ``"3/2"``), a ``decimal.Decimal`` or a
whole number."""


def decimal_pb(value: Number | None) -> decimal_pb2.Decimal | None:
    """A ``google.type.Decimal`` of a ratio or amount given as text, a ``decimal.Decimal`` (written without
    exponent: ``1E-2`` as ``0.01``) or a whole number; ``None`` (the field left unset) for ``None`` or "".
    The server judges the value (RATIO_INVALID, RATIO_OUT_OF_RANGE, VALUE_OUT_OF_RANGE)."""
    if value is None:
        return None
    text = format(value, "f") if isinstance(value, decimal.Decimal) else str(value).strip()
    return decimal_pb2.Decimal(value=text) if text else None


def decimal_text(d: Any, default: str = "") -> str:
    """The text of a ``google.type.Decimal``; ``default`` when it is unset."""
    return str(getattr(d, "value", "")) or default
