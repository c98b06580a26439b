"""The bundle's fields, each checked for its exact keys and types; ``Mismatch`` names the first bad one."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from dualdraw.domain.draw.commitments import EligibleEntry

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"(?:[0-9a-f]{2})*")


class Mismatch(Exception):
    """The first difference found; the message names it."""


def need(condition: bool, problem: str) -> None:
    if not condition:
        raise Mismatch(problem)


def obj(value: Any, keys: Collection[str], where: str) -> dict[str, Any]:
    need(isinstance(value, dict), f"{where}: expected an object")
    got = set(value)
    need(got == set(keys), f"{where}: fields {sorted(got ^ set(keys))} are unexpected or missing")
    return value  # type: ignore[no-any-return]


def list_of(value: Any, where: str) -> list[Any]:
    need(isinstance(value, list), f"{where}: expected a list")
    return value  # type: ignore[no-any-return]


def text(value: Any, where: str) -> str:
    need(isinstance(value, str), f"{where}: expected a string")
    return value  # type: ignore[no-any-return]


def integer(value: Any, where: str) -> int:
    need(isinstance(value, int) and not isinstance(value, bool), f"{where}: expected an integer")
    return value  # type: ignore[no-any-return]


def hex64(value: Any, where: str) -> str:
    need(isinstance(value, str) and bool(_HEX64.fullmatch(value)), f"{where}: not 64 lower-case hex digits")
    return value  # type: ignore[no-any-return]


def hex_digits(value: Any, where: str) -> str:
    need(isinstance(value, str) and bool(_HEX.fullmatch(value)), f"{where}: not lower-case hex")
    return value  # type: ignore[no-any-return]


_ELIGIBLE_FIELDS = ("code", "stratum", "risk_class", "salt")
_HEX_RUN = re.compile(r"[0-9a-f]*")


def eligible_entries(rows: list[Any]) -> tuple[list[EligibleEntry], list[str]]:
    """The entries and salts of a full bundle's eligible rows, each row checked for its exact fields and
    types. Checked column by column (C-level passes, the 1M-row case); when that finds anything wrong, row
    by row, so that the first bad row and field are named."""
    fields = set(_ELIGIBLE_FIELDS)
    if all(type(row) is dict and row.keys() == fields for row in rows):
        codes, strata, classes, salts = ([row[name] for row in rows] for name in _ELIGIBLE_FIELDS)
        texts = (codes, strata, classes, salts)
        if (
            all(set(map(type, column)) <= {str} for column in texts)
            and all(len(salt) == 64 for salt in salts)
            and _HEX_RUN.fullmatch("".join(salts))
        ):
            return list(map(EligibleEntry, codes, strata, classes)), salts
    entries, salts = [], []
    for n, row in enumerate(rows):
        r = obj(row, _ELIGIBLE_FIELDS, f"eligible[{n}]")
        entries.append(
            EligibleEntry(
                text(r["code"], f"eligible[{n}].code"),
                text(r["stratum"], f"eligible[{n}].stratum"),
                text(r["risk_class"], f"eligible[{n}].risk_class"),
            )
        )
        salts.append(hex64(r["salt"], f"eligible[{n}].salt"))
    return entries, salts
