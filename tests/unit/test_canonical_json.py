"""Canonical JSON against the RFC 8785 examples for the types we support."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dualdraw.domain.canonical_json import (
    MAX_SAFE_INTEGER,
    canonical_json,
    loads_proving_canonical,
    sha256_hex,
)


def test_rfc8785_string_example() -> None:
    # RFC 8785 §3.2.2 input "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/" (the "string" member)
    value = "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/"
    assert canonical_json(value) == '"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"'.encode()


def test_rfc8785_literals_example() -> None:
    assert canonical_json({"literals": [None, True, False]}) == b'{"literals":[null,true,false]}'


def test_rfc8785_sorting_example() -> None:
    # RFC 8785 §3.2.3: names sorted by UTF-16 code units (the emoji's surrogates sort before U+FB33)
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    order = [
        json.loads(f"[{part.split(':')[0]}]")[0] for part in canonical_json(value).decode()[1:-1].split(",")
    ]
    assert order == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_control_characters_and_non_ascii() -> None:
    assert canonical_json("\b\t\n\f\r\x00\x1f\x7f唐山") == '"\\b\\t\\n\\f\\r\\u0000\\u001f\x7f唐山"'.encode()


def test_nested_without_whitespace() -> None:
    value = {"b": [1, {"z": None, "a": -7}], "a": "x", "c": ()}
    assert canonical_json(value) == b'{"a":"x","b":[1,{"a":-7,"z":null}],"c":[]}'


@pytest.mark.parametrize("bad", [1.0, 0.5, float("nan"), b"bytes", {1, 2}, object()])
def test_rejects_unsupported_types(bad: object) -> None:
    with pytest.raises(TypeError):
        canonical_json({"x": bad})


def test_rejects_non_string_keys() -> None:
    with pytest.raises(TypeError, match="names must be str"):
        canonical_json({1: "one"})


def test_integer_range() -> None:
    assert canonical_json(MAX_SAFE_INTEGER) == b"9007199254740991"
    assert canonical_json(-MAX_SAFE_INTEGER) == b"-9007199254740991"
    with pytest.raises(ValueError, match="outside"):
        canonical_json(MAX_SAFE_INTEGER + 1)


def test_lone_surrogate_rejected() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        canonical_json("\ud800")


def test_sha256_hex() -> None:
    assert sha256_hex(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_round_trips_through_json_and_is_stable(value: object) -> None:
    encoded = canonical_json(value)
    decoded = json.loads(encoded)
    assert decoded == value
    assert canonical_json(decoded) == encoded
    # Python's compact, key-sorted output agrees when keys are in the BMP (code point = code unit order)
    assert encoded == json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    ).encode() or (_has_astral_key(value))


def _has_astral_key(value: object) -> bool:
    if isinstance(value, dict):
        return any(any(ord(c) > 0xFFFF for c in k) or _has_astral_key(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_astral_key(v) for v in value)
    return False


# -- loads_proving_canonical: the verifier's fast check that a bundle is in canonical form ------------------

any_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


def _slow_verdict(data: bytes) -> bool:
    try:
        return canonical_json(json.loads(data)) == data
    except (TypeError, ValueError):
        return False


@given(any_json, st.booleans(), st.booleans(), st.sampled_from([(",", ":"), (", ", ": ")]))
def test_proven_implies_canonical_for_any_json_text(
    value: object, sort_keys: bool, ensure_ascii: bool, separators: tuple[str, str]
) -> None:
    """Whatever JSON text comes in (floats, NaN, big integers, astral keys, unsorted members, whitespace,
    escapes), ``proven`` is never true unless ``canonical_json`` writes exactly those bytes."""
    text = json.dumps(value, sort_keys=sort_keys, ensure_ascii=ensure_ascii, separators=separators)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate written unescaped: not UTF-8, json.loads' error
        return
    parsed, proven = loads_proving_canonical(data)
    assert json.dumps(parsed, sort_keys=True) == json.dumps(json.loads(data), sort_keys=True)
    if proven:
        assert _slow_verdict(data)


@given(json_values)
def test_canonical_text_without_astral_characters_is_proven(value: object) -> None:
    data = canonical_json(value)
    parsed, proven = loads_proving_canonical(data)
    assert parsed == value
    assert proven or any(ord(c) > 0xFFFF for c in data.decode("utf-8"))


@pytest.mark.parametrize(
    "data",
    [
        b'{"a":1.0}',
        b'{"a":NaN}',
        b'{"a":Infinity}',
        b'{"a":9007199254740992}',
        b'{"a":-0}',
        b'{"b":1,"a":2}',
        b'{"a":1,"a":1}',
        b'{"a": 1}',
        b'["\\u00e9"]',
        b'["\\u001F"]',
        '{"\ufb01":1,"\U0001f600":2}'.encode(),
        b'["\\ud83d\\ude00"]',
    ],
)
def test_texts_that_are_not_canonical_are_never_proven(data: bytes) -> None:
    assert not _slow_verdict(data)
    assert loads_proving_canonical(data)[1] is False


def test_astral_text_in_canonical_form_is_left_to_the_slow_check() -> None:
    data = canonical_json({"\U0001f600": 1, "\ufb01": 2})  # UTF-16 order differs from code-point order
    assert data == '{"\U0001f600":1,"\ufb01":2}'.encode()
    assert loads_proving_canonical(data) == ({"\U0001f600": 1, "\ufb01": 2}, False)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.text(max_size=6), max_size=4), min_size=64, max_size=90),
    st.booleans(),
)
def test_long_arrays_of_string_rows_are_written_exactly_as_row_by_row(
    rows: list[list[str]], as_tuples: bool
) -> None:
    value = [tuple(r) for r in rows] if as_tuples else rows
    by_row = b"[" + b",".join(canonical_json(list(r)) for r in rows) + b"]"
    assert canonical_json(value) == by_row
    assert canonical_json({"plan": value}) == b'{"plan":' + by_row + b"}"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=6), min_size=64, max_size=90))
def test_long_arrays_of_strings_are_written_exactly_as_item_by_item(texts: list[str]) -> None:
    by_item = b"[" + b",".join(canonical_json(t) for t in texts) + b"]"
    assert canonical_json(texts) == canonical_json(tuple(texts)) == by_item
    with pytest.raises(ValueError, match="lone surrogate"):
        canonical_json([*texts, "\ud800"])


def test_a_lone_surrogate_in_a_long_array_of_rows_is_still_refused() -> None:
    rows = [["91000000000000000X", "city", ""]] * 70 + [["91000000000000001X", "city", "\ud800"]]
    with pytest.raises(ValueError, match="lone surrogate"):
        canonical_json(rows)
    assert canonical_json([["a", 1]] * 70) == b"[" + b",".join([b'["a",1]'] * 70) + b"]"
