"""GB/T 2260 administrative region codes: six digits ``PPCCDD`` (province, prefecture-level city, county).

A code ending in ``0000`` names a province, one ending in ``00`` a city, any other a county-level district.
A region contains another when the other's code starts with the region's *significant prefix* (its code
without the trailing zero pairs), so ``130000`` contains ``130203`` and ``130200`` does too.
"""

from __future__ import annotations

PROVINCE_CODES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42"}
    | {"43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"}
)
"""The province-level two-digit codes of GB/T 2260."""


def region_code_problem(code: str) -> str | None:
    """Why ``code`` is not a six-digit region code, in words for staff; ``None`` when it is one."""
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        return f"must be six digits, got {code!r}"
    if code[:2] not in PROVINCE_CODES:
        return f"{code!r} does not start with a province code of GB/T 2260"
    if code[2:4] == "00" and code[4:] != "00":
        return f"{code!r} names a district without a city (digits 3-4 are 00 but 5-6 are not)"
    return None


def is_valid_region_code(code: str) -> bool:
    """True when ``code`` is a well-formed six-digit region code."""
    return region_code_problem(code) is None


def _checked(code: str) -> str:
    problem = region_code_problem(code)
    if problem is not None:
        raise ValueError(f"invalid region code: {problem}")
    return code


def significant_prefix(code: str) -> str:
    """The code without trailing zero pairs: ``130000`` → ``13``, ``130200`` → ``1302``, ``130203`` as is.

    Raises ``ValueError`` for a malformed code.
    """
    _checked(code)
    if code[2:] == "0000":
        return code[:2]
    if code[4:] == "00":
        return code[:4]
    return code


def region_level(code: str) -> int:
    """1 for a province, 2 for a city, 3 for a county-level district. Raises ``ValueError`` when malformed."""
    return len(significant_prefix(code)) // 2


def region_within(child: str, parent: str) -> bool:
    """True when ``child`` lies in ``parent`` (or is it). Raises ``ValueError`` when either is malformed."""
    return _checked(child).startswith(significant_prefix(parent))


def ancestors(code: str) -> tuple[str, ...]:
    """The chain of six-digit codes from the province down to ``code`` itself, inclusive.

    ``130203`` → ``("130000", "130200", "130203")``; ``130000`` → ``("130000",)``. Raises ``ValueError`` when
    malformed.
    """
    prefix = significant_prefix(code)
    return tuple(prefix[:n].ljust(6, "0") for n in range(2, len(prefix) + 1, 2))
