"""``domain/canonical_json.py`` against the ``rfc8785`` package (JSON Canonicalization Scheme, RFC 8785) on
generated JSON values: the same bytes for every value dualdraw serialises, both refusing integers outside
±(2**53 - 1), lone surrogates and non-string member names. One difference is deliberate and tested as such:
dualdraw refuses every float (nothing it hashes is one), where RFC 8785 writes finite floats in ECMAScript
form."""

from __future__ import annotations

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from dualdraw.domain.canonical_json import MAX_SAFE_INTEGER, canonical_json

safe_integers = st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
texts = st.text(st.characters(exclude_categories=["Cs"]))  # any code point but a surrogate, astral included
scalars = st.none() | st.booleans() | safe_integers | texts
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(texts, inner, max_size=5),
    max_leaves=30,
)


@given(json_values)
def test_the_same_bytes_as_rfc8785(value: object) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@given(st.integers(min_value=MAX_SAFE_INTEGER + 1) | st.integers(max_value=-MAX_SAFE_INTEGER - 1))
def test_integers_outside_the_exact_range_are_refused_by_both(number: int) -> None:
    with pytest.raises(rfc8785.IntegerDomainError):
        rfc8785.dumps(number)
    with pytest.raises(ValueError, match="outside"):
        canonical_json(number)


@given(st.characters(categories=["Cs"]))
def test_lone_surrogates_are_refused_by_both(surrogate: str) -> None:
    with pytest.raises(rfc8785.CanonicalizationError):
        rfc8785.dumps({"name": surrogate})
    with pytest.raises(ValueError, match="surrogate"):
        canonical_json({"name": surrogate})


def test_member_names_must_be_strings_in_both() -> None:
    with pytest.raises(rfc8785.CanonicalizationError):
        rfc8785.dumps({1: "one"})
    with pytest.raises(TypeError, match="member names"):
        canonical_json({1: "one"})


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_are_refused_here_where_rfc8785_writes_them(number: float) -> None:
    assert rfc8785.dumps(number)  # RFC 8785 §3.2.2.3: ECMAScript number form
    with pytest.raises(TypeError, match="float"):
        canonical_json({"ratio": number})
