"""Canonical JSON (RFC 8785, JCS) for the subset of JSON that draw manifests use.

Supported values: ``dict`` with ``str`` keys, ``list``/``tuple``, ``str``, ``int`` (within ±(2**53 - 1), the
range RFC 8785 serialises exactly), ``bool`` and ``None``. Floats are rejected: nothing we hash is a float.
The output is UTF-8, members sorted by the UTF-16 code units of their names, no insignificant whitespace,
strings escaped minimally (RFC 8785 §3.2.2.2).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from itertools import chain
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1


def canonical_json(value: object) -> bytes:
    """The RFC 8785 serialisation of ``value`` as UTF-8 bytes.

    Raises ``TypeError`` for unsupported types (floats included) and non-string keys, ``ValueError`` for
    integers outside the exact range and strings with lone surrogates.
    """
    parts: list[str] = []
    _write(value, parts.append)
    return "".join(parts).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Lower-case hexadecimal SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _write(value: object, out: Callable[[str], None]) -> None:
    if value is None:
        out("null")
    elif value is True:
        out("true")
    elif value is False:
        out("false")
    elif isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise ValueError(f"integer {value} is outside ±(2**53 - 1) and has no exact JSON form")
        out(str(int(value)))
    elif isinstance(value, str):
        out(json_string(value))
    elif isinstance(value, list | tuple):
        rows = _text_rows(value)
        if rows is not None:
            out(rows)
            return
        out("[")
        for i, item in enumerate(value):
            if i:
                out(",")
            _write(item, out)
        out("]")
    elif isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"object member names must be str, not {type(key).__name__}")
        out("{")
        for i, key in enumerate(sorted(value, key=_utf16_units)):
            if i:
                out(",")
            out(json_string(key))
            out(":")
            _write(value[key], out)
        out("}")
    else:
        raise TypeError(
            f"{type(value).__name__} is not supported by canonical JSON (dict, list, str, int, bool, None)"
        )


_TEXT_ROWS_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_quoted: Callable[[str], str] = json.encoder.encode_basestring  # the C function json.dumps uses
_MIN_TEXT_ROWS = 64


def _text_rows(value: list[Any] | tuple[Any, ...]) -> str | None:
    """The canonical text of a long array of strings (a draw's selected codes) or of arrays of strings (a
    manifest's plan, one row per eligible object), written by the C JSON encoder; ``None`` for anything
    else. For arrays of strings RFC 8785 and ``json.dumps(ensure_ascii=False, separators=(",", ":"))``
    write the same text (minimal escapes, the same short forms, lower-case ``\\u00xx``); a lone surrogate,
    which canonical JSON refuses, is left to the writer below to refuse. The types are checked at C speed
    (``map(type, ...)``)."""
    if len(value) < _MIN_TEXT_ROWS:
        return None
    types = set(map(type, value))
    if not (
        types <= {str} or (types <= {list, tuple} and set(map(type, chain.from_iterable(value))) <= {str})
    ):
        return None
    text = _TEXT_ROWS_ENCODER.encode(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return text


def _utf16_units(name: str) -> bytes:
    # Big-endian UTF-16 bytes compare exactly like sequences of UTF-16 code units.
    return _checked(name).encode("utf-16-be")


def json_string(text: str) -> str:
    """``text`` as canonical JSON writes a string: quoted, with RFC 8785's minimal escapes; ``ValueError``
    for a lone surrogate. Written by the C JSON encoder: for a string both
    write the same (see ``_text_rows``), and ``str.translate`` took 50 ns a character (an audit event's
    1 MB of text: 0.05 s)."""
    return _quoted(_checked(text))


def _checked(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"string contains a lone surrogate at index {exc.start}: {text!r}") from None
    return text


_BELOW_FOUR_BYTE_LEAD = bytes(range(0xF0))
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _maybe_astral(data: bytes) -> bool:
    """Whether ``data`` holds a 4-byte UTF-8 sequence (lead byte 0xF0–0xF4) or an escaped surrogate: only
    then can the code-point order of member names differ from RFC 8785's UTF-16 order, or a string hold a
    lone surrogate. (Deleting every other byte value and a substring test run at C speed.)"""
    if data.translate(None, _BELOW_FOUR_BYTE_LEAD):
        return True
    return b"\\u" in data and _SURROGATE_ESCAPE.search(data) is not None


def loads_proving_canonical(data: bytes) -> tuple[Any, bool]:
    """``(json.loads(data), proven)``: ``proven`` is true when ``data == canonical_json(value)`` was shown
    with the C JSON encoder, which writes the same bytes as RFC 8785 when the text holds no float (nor NaN
    or Infinity), no integer outside ±(2**53 - 1) and no character outside the Basic Multilingual Plane
    (none escaped as a surrogate). False means only "not shown": compare with ``canonical_json``.

    Raises what ``json.loads`` raises (``UnicodeDecodeError``, ``json.JSONDecodeError``).
    """
    unusual: list[str] = []

    def number(text: str) -> float:
        unusual.append(text)
        return float(text)

    def integer(text: str) -> int:
        value = int(text)
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            unusual.append(text)
        return value

    def constant(text: str) -> float:  # NaN, Infinity, -Infinity
        unusual.append(text)
        return float(text)

    value = json.loads(data.decode("utf-8"), parse_float=number, parse_int=integer, parse_constant=constant)
    if unusual or _maybe_astral(data):
        return value, False
    written = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return value, written.encode("utf-8") == data
