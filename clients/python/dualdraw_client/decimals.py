"""``google.type.Decimal`` values: what the client sends for ratios and amounts, and how people read them."""

from __future__ import annotations

import decimal
from typing import Any

from google.type import decimal_pb2


def decimal_pb(value: str | decimal.Decimal | None) -> decimal_pb2.Decimal | None:
    """A ``google.type.Decimal`` of a ratio or amount given as text (``"0.05"``; amounts also ``"3/2"``) or as
    a ``decimal.Decimal`` (written without exponent); ``None`` (the field left unset) for ``None`` or "".
    The server judges the value (RATIO_INVALID, RATIO_OUT_OF_RANGE, VALUE_OUT_OF_RANGE)."""
    if value is None:
        return None
    text = format(value, "f") if isinstance(value, decimal.Decimal) else value.strip()
    return decimal_pb2.Decimal(value=text) if text else None


def decimal_text(d: Any) -> str:
    """The text of a ``google.type.Decimal``; empty when it is unset."""
    return str(getattr(d, "value", ""))
