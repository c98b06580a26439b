"""Rows as ``COPY`` text (``adapters/store/copy_text.c``): exactly the bytes of the plain Python writer
(values joined by tabs, rows ended by line feeds, UTF-8), and ``None`` for any row that psycopg must
format itself: a value that is not a str, a character ``COPY`` escapes, a row of another width."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dualdraw.adapters.store.copy_text import rows_text

ESCAPED = ("\t", "\n", "\\", "\r", "\x00", "\x08", "\x0b", "\x0c")


def python_rows_text(rows: Sequence[Sequence[Any]], width: int) -> bytes | None:
    """The reference: the plain reading of the format, one value at a time."""
    lines = []
    for row in rows:
        if not isinstance(row, tuple | list) or len(row) != width:
            return None
        if not all(isinstance(v, str) and not any(c in v for c in ESCAPED) for v in row):
            return None
        try:
            lines.append("\t".join(row).encode("utf-8") + b"\n")
        except UnicodeEncodeError:
            return None
    return b"".join(lines)


VALUES = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=6),
    st.text(alphabet="ab\t\n\\\r\x00\x08\x0b\x0c\x07企", max_size=4),
    st.sampled_from(["", "企业", "\\N", "a" * 40]),
)


@st.composite
def blocks(draw: st.DrawFn) -> tuple[int, list[tuple[str, ...]]]:
    """A width and rows, most of them of that width."""
    width = draw(st.integers(1, 4))
    row = st.one_of(st.tuples(*[VALUES] * width), st.lists(VALUES, max_size=5).map(tuple))
    return width, draw(st.lists(row, max_size=6))


@given(blocks())
def test_rows_text_is_the_plain_writer(block: tuple[int, list[tuple[str, ...]]]) -> None:
    width, rows = block
    assert rows_text(rows, width) == python_rows_text(rows, width)


@given(st.lists(st.text(alphabet="ab企\x07 -", max_size=5), min_size=3, max_size=3), st.integers(0, 20))
def test_rows_of_plain_values_are_written(values: list[str], n: int) -> None:
    rows = [tuple(values)] * n
    assert rows_text(rows, 3) == python_rows_text(rows, 3) == ("\t".join(values) + "\n").encode() * n


def test_what_copy_must_escape_or_psycopg_must_format_is_declined() -> None:
    assert rows_text([("a", "b"), ("c", "")], 2) == b"a\tb\nc\t\n"
    assert rows_text([], 2) == b""
    assert rows_text([("a", None)], 2) is None  # NULL is psycopg's to write
    assert rows_text([("a", 1)], 2) is None
    assert rows_text([("a", "b", "c")], 2) is None  # a row of the wrong width
    assert rows_text([("a\tb",), ("c", "d")], 2) is None
    assert rows_text([iter(("a", "b"))], 2) is None  # type: ignore[list-item]  # not a tuple or list, on purpose
    for text in ["a\tb", "line\nbreak", "cr\rlf", "back\\slash", "\\N", "\x08", "\x0b", "\x0c", "\x00"]:
        assert rows_text([("x", text)], 2) is None, text
    assert rows_text([("x", "bell\x07 企业")], 2) == "x\tbell\x07 企业\n".encode()  # psycopg sends it as is
    assert rows_text([("x", "lone \udc80")], 2) is None  # psycopg reports what UTF-8 cannot encode
    with pytest.raises(ValueError, match="width"):
        rows_text([], 0)


def test_a_str_subclass_is_written_as_its_text() -> None:
    class Status(enum.StrEnum):
        ACTIVE = "active"
        CLOSED = "已注销"

    assert rows_text([["c1", Status.ACTIVE], ("c2", Status.CLOSED)], 2) == "c1\tactive\nc2\t已注销\n".encode()
