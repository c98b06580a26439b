"""``google.type.Decimal`` values as callers give them and people read them."""

from __future__ import annotations

import decimal
from fractions import Fraction

from google.type import decimal_pb2

Number = str | decimal.Decimal | int
"""A decimal as callers give it: its text (``"0.05"``), a ``decimal.Decimal`` or a whole number."""


def to_decimal(value: Number | None) -> decimal_pb2.Decimal | None:
    """A ``google.type.Decimal`` holding ``value``'s text as written (the server checks it); ``None`` or
    ``""`` stays unset. A ``decimal.Decimal`` is written without an exponent (``1E-2`` as ``0.01``)."""
    if value is None or value == "":
        return None
    text = format(value, "f") if isinstance(value, decimal.Decimal) else str(value).strip()
    return decimal_pb2.Decimal(value=text)


def decimal_text(value: decimal_pb2.Decimal, default: str = "") -> str:
    """The text a ``google.type.Decimal`` holds; ``default`` when it is unset."""
    return value.value or default


def as_fraction(value: decimal_pb2.Decimal) -> Fraction | None:
    """The exact number a ``google.type.Decimal`` holds (a fraction ``n/d`` too); ``None`` when unset."""
    return Fraction(value.value) if value.value else None
