"""The bundle writer's fast rows (``str_row_json``) are ``canonical_json``'s bytes for rows of strings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dualdraw.domain.canonical_json import canonical_json
from dualdraw.service_layer.bundles import str_row_json

# every code point but surrogates, with the control characters, quote, backslash, DEL, U+2028 and astral
# characters made likely
texts = st.text(
    st.one_of(
        st.characters(exclude_categories=("Cs",)),
        st.sampled_from(
            ["\x00", "\x1f", "\b", "\t", "\n", "\f", "\r", '"', "\\", "/", "\x7f", "\u2028", "😀"]
        ),
    )
)
names = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)


@given(st.dictionaries(names, texts, max_size=6))
def test_a_row_of_strings_is_written_as_canonical_json(row: dict[str, str]) -> None:
    assert str_row_json(row) == canonical_json(row)


@given(st.lists(texts, max_size=4))
def test_a_list_of_strings_is_written_as_canonical_json(row: list[str]) -> None:
    assert str_row_json(row) == canonical_json(row)


def test_bundle_rows_as_the_bundle_writes_them() -> None:
    row = {"code": "91130273MAPEFA6023", "stratum": "重点", "risk_class": "A", "salt": "ab" * 32}
    assert str_row_json(row) == canonical_json(row)
    with pytest.raises(UnicodeEncodeError):  # refused, as canonical_json refuses it (ValueError)
        str_row_json({"code": "\ud800"})
