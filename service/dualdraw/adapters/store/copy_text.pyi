"""Rows as PostgreSQL COPY text, many a call, in C (``copy_text.c``): the text of a bulk write's rows."""

from collections.abc import Sequence
from typing import Any

def rows_text(rows: Sequence[Sequence[Any]], width: int) -> bytes | None:
    """The rows in ``COPY``'s text format, UTF-8: each row's values joined by a tab, each row ended by a line
    feed. ``None`` unless every row is a tuple or list of ``width`` values, each a str that ``COPY`` need not
    escape (no tab, line feed, backslash, carriage return, NUL, backspace, vertical tab or form feed)."""
