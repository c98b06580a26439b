"""Unified Social Credit Codes (统一社会信用代码, GB 32100-2015).

Layout of the 18 characters: 1 registration department, 2 organisation category, 3-8 the GB/T 2260 region
code, 9-17 the GB 11714 organisation code (8 body characters and its own check digit), 18 the check
character. Characters come from ``ALPHABET`` (digits and upper-case letters without I, O, Z, S, V), whose
index is each character's value. The check character is ``31 - (Σ value_i × 3^i mod 31) mod 31``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from operator import mul

from dualdraw.domain.errors import Violations

NOT_CANONICAL = "CREDIT_CODE_NOT_CANONICAL"
"""The ErrorInfo reason of a valid code written in lower case or with spaces around it."""
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LENGTH = 18
WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(LENGTH - 1))
"""(1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)."""

ORGANISATION_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_DIGITS_AND_LETTERS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_CHARACTER = f"[{ALPHABET}]"
_WELL_FORMED = re.compile(f"{_CHARACTER}{{2}}[0-9]{{6}}{_CHARACTER}{{10}}")
"""18 characters of ``ALPHABET``, digits in 3-8: a code whose only possible problem is its check character."""
_VALUES = bytes.maketrans(ALPHABET.encode("ascii"), bytes(range(len(ALPHABET))))
"""Maps each character's ASCII byte to its value, so a whole code translates to its values in one call."""


def _expected_check(first17: str) -> str:
    """The check character of 17 characters of ``ALPHABET`` (not checked here)."""
    total = sum(map(mul, first17.encode("ascii").translate(_VALUES), WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def check_character(first17: str) -> str:
    """The 18th character of a credit code whose first 17 characters are ``first17``.

    Raises ``ValueError`` when ``first17`` is not 17 characters of ``ALPHABET``.
    """
    if len(first17) != LENGTH - 1:
        raise ValueError(f"need the first 17 characters, got {len(first17)}")
    bad = [c for c in first17 if c not in _VALUE]
    if bad:
        raise ValueError(f"character {bad[0]!r} is not allowed in a credit code")
    return _expected_check(first17)


def canonical_spelling(code: str) -> str | None:
    """The code as GB 32100 writes it (upper case, no spaces) when ``code`` is a valid code in lower case or
    padded with spaces; ``None`` otherwise (``code`` is canonical already, or no valid code at all).

    Such a code is refused, never normalised silently: the caller corrects its record.
    """
    canonical = code.strip().upper()
    if canonical == code or not _WELL_FORMED.fullmatch(canonical):
        return None
    return canonical if _expected_check(canonical[:17]) == canonical[17] else None


def not_canonical_problem(canonical: str) -> str:
    return f"must be written as issued, upper case without spaces: write it as {canonical}"


def check_credit_code(code: str, path: str, v: Violations) -> None:
    """Adds the problem of ``code`` to ``v`` at ``path``, with reason ``NOT_CANONICAL`` for a valid code
    written in lower case or with spaces."""
    canonical = canonical_spelling(code)
    if canonical is not None:
        v.add(path, not_canonical_problem(canonical), reason=NOT_CANONICAL)
    elif problem := credit_code_problem(code):
        reason = "CREDIT_CODE_CHECK_CHARACTER" if well_formed(code) else "CREDIT_CODE_FORMAT"
        v.add(path, problem, reason=reason)


def well_formed(code: str) -> bool:
    """True when ``code`` has the shape of a credit code (its check character may still be wrong)."""
    return _WELL_FORMED.fullmatch(code) is not None


def check_canonical(code: str, path: str, v: Violations) -> None:
    """Adds a ``NOT_CANONICAL`` violation at ``path`` when ``code`` is a valid code in lower case or with
    spaces (a code looked up: one that is simply wrong is not found rather than refused)."""
    canonical = canonical_spelling(code)
    if canonical is not None:
        v.add(path, not_canonical_problem(canonical), reason=NOT_CANONICAL)


def require_canonical(code: str, path: str) -> str:
    """``code`` unless it is a valid code in lower case or with spaces: then ``InvalidArgument`` with reason
    ``NOT_CANONICAL`` and the canonical spelling in the field violation."""
    v = Violations()
    check_canonical(code, path, v)
    v.raise_if_any()
    return code


def credit_code_problem(code: str) -> str | None:
    """Why ``code`` is not a valid credit code, in words for staff; ``None`` when it is valid."""
    canonical = canonical_spelling(code)
    if canonical is not None:
        return not_canonical_problem(canonical)
    if not _WELL_FORMED.fullmatch(code):
        return _shape_problem(code)
    expected = _expected_check(code[:17])
    return None if code[17] == expected else f"wrong check character {code[17]!r}, expected {expected!r}"


def _shape_problem(code: str) -> str:
    """The first reason why ``code`` does not match ``_WELL_FORMED``: its length, a character, else 3-8."""
    if len(code) != LENGTH:
        return f"must be {LENGTH} characters, got {len(code)}"
    for position, c in enumerate(code, start=1):
        if c not in _VALUE:
            if c.islower() and c.upper() in _VALUE:
                return f"character {position} {c!r} must be upper case"
            return f"character {position} {c!r} is not allowed (digits and letters except I, O, Z, S, V)"
    return f"characters 3-8 must be the six-digit region code, got {code[2:8]!r}"


def all_valid(codes: Sequence[str]) -> bool:
    """True when every code in ``codes`` is valid (``credit_code_problem`` is ``None`` for each).

    A million-object import checks its codes column by column with a few C-level passes instead of one
    Python call per code: every code 18 ASCII characters; position by position, only the characters
    ``_WELL_FORMED`` allows there; then the check characters of all codes at once. Each position's values
    times its weight (mod 31) come from one ``bytes.translate`` of that position's column; columns read as
    big integers with one byte per code add up digit by digit (8 columns of at most 30 stay below 256, so
    no digit carries into the next code's); the sums, reduced mod 31 by translation and added, translate to
    the expected check characters, compared with the 18th column.
    """
    count = len(codes)
    if not count:
        return True
    joined = "".join(codes)
    if len(joined) != LENGTH * count or not joined.isascii() or set(map(len, codes)) != {LENGTH}:
        return False
    data = joined.encode("ascii")
    columns = [data[i::LENGTH] for i in range(LENGTH)]
    if any(column.translate(None, _ALLOWED_AT[i]) for i, column in enumerate(columns)):
        return False  # a character outside those its position allows
    total = 0
    for group in (range(0, 8), range(8, 16), range(16, LENGTH - 1)):
        partial = sum(int.from_bytes(columns[i].translate(_WEIGHTED[i]), "big") for i in group)
        total += int.from_bytes(partial.to_bytes(count, "big").translate(_MOD_31), "big")  # digits <= 3 x 30
    return total.to_bytes(count, "big").translate(_CHECK_CHARACTER) == columns[LENGTH - 1]


_ALLOWED_AT = [("0123456789" if 2 <= i < 8 else ALPHABET).encode("ascii") for i in range(LENGTH)]
"""Per position: the characters allowed there (``translate`` deletes them: nothing may remain)."""
_WEIGHTED = [
    bytes((_VALUE[chr(b)] * WEIGHTS[i]) % 31 if chr(b) in _VALUE else 0 for b in range(256))
    for i in range(LENGTH - 1)
]
"""Per position of the first 17: a character's value times the position's weight, mod 31."""
_MOD_31 = bytes(b % 31 for b in range(256))
_CHECK_CHARACTER = bytes(ord(ALPHABET[(31 - b % 31) % 31]) for b in range(256))
"""A sum of weighted values mod 31 (or any number congruent to it below 256) to its check character."""


def is_valid_credit_code(code: str) -> bool:
    """True when ``code`` is 18 allowed characters, numeric in 3-8, with the right check character."""
    return credit_code_problem(code) is None


def organisation_code_check_digit(body8: str) -> str:
    """The GB 11714 check digit for an 8-character organisation code body (``X`` for 10, ``0`` for 11).

    Letters count as 10 (A) ... 35 (Z), digits as themselves.
    """
    if len(body8) != len(ORGANISATION_CODE_WEIGHTS) or any(c not in _DIGITS_AND_LETTERS for c in body8):
        raise ValueError(f"an organisation code body is 8 digits or upper-case letters, got {body8!r}")
    total = sum(int(c, 36) * w for c, w in zip(body8, ORGANISATION_CODE_WEIGHTS, strict=True))
    digit = 11 - total % 11
    return {10: "X", 11: "0"}.get(digit, str(digit))


def make_credit_code(registration_dept: str, category: str, region_code: str, org_code8: str) -> str:
    """A valid credit code from its parts, computing both check characters.

    ``registration_dept`` and ``category`` are one character each (e.g. ``"9"``, ``"1"`` for an enterprise
    registered by market regulation), ``region_code`` six digits, ``org_code8`` the 8-character body of the
    organisation code. Raises ``ValueError`` when a part is malformed or the result would not be valid.
    """
    if len(registration_dept) != 1 or len(category) != 1:
        raise ValueError("registration department and category are one character each")
    if len(region_code) != 6 or not (region_code.isascii() and region_code.isdigit()):
        raise ValueError(f"region code must be six digits, got {region_code!r}")
    organisation_code = org_code8 + organisation_code_check_digit(org_code8)
    first17 = registration_dept + category + region_code + organisation_code
    code = first17 + check_character(first17)
    problem = credit_code_problem(code)
    if problem is not None:
        raise ValueError(f"cannot make a credit code from these parts: {problem}")
    return code
