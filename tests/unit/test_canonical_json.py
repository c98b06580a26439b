"""Canonical JSON against the RFC 8785 examples for the types we support."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dualdraw.domain.canonical_json import MAX_SAFE_INTEGER, canonical_json, sha256_hex


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
