"""Unified Social Credit Codes (GB 32100-2015) and organisation code check digits (GB 11714)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dualdraw.domain.credit_code import (
    ALPHABET,
    WEIGHTS,
    all_valid,
    check_character,
    credit_code_problem,
    is_valid_credit_code,
    make_credit_code,
    organisation_code_check_digit,
)

# Codes published on business licences and in the national enterprise credit information system.
PUBLISHED = [
    "91350100M000100Y43",  # the example code commonly cited in explanations of GB 32100
    "914403001922038216",  # Huawei Technologies Co., Ltd.
    "91440300708461136T",  # Shenzhen Tencent Computer Systems Co., Ltd.
    "91110108551385082Q",  # Beijing Xiaomi Technology Co., Ltd.
    "91110000600037341L",
]


def test_weights_are_powers_of_three_mod_31() -> None:
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_valid(code: str) -> None:
    assert credit_code_problem(code) is None
    assert check_character(code[:17]) == code[17]


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_organisation_codes_check(code: str) -> None:
    assert organisation_code_check_digit(code[8:16]) == code[16]


def test_make_credit_code_reproduces_a_published_code() -> None:
    assert make_credit_code("9", "1", "350100", "M000100Y") == "91350100M000100Y43"
    assert make_credit_code("9", "1", "440300", "19220382") == "914403001922038216"


def test_check_character_31_maps_to_zero() -> None:
    # find a prefix whose weighted sum is ≡ 0 (mod 31): its check character must be "0", not a 32nd symbol
    prefix = "91130273MA0000000"
    total = sum(ALPHABET.index(c) * w for c, w in zip(prefix, WEIGHTS, strict=True)) % 31
    fixed = prefix[:16] + ALPHABET[(-total * pow(WEIGHTS[16], -1, 31)) % 31]
    assert check_character(fixed) == "0"


def test_organisation_check_digit_x_and_zero() -> None:
    bodies = ["".join(str((i * 7 + j) % 10) for j in range(8)) for i in range(200)]
    digits = {organisation_code_check_digit(b) for b in bodies}
    assert "X" in digits
    assert "0" in digits


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("91350100M000100Y4", "must be 18 characters, got 17"),
        ("91350100M000100Y433", "must be 18 characters, got 19"),
        ("91350100M000100I43", "character 16 'I' is not allowed"),
        (
            "91350100m000100Y43",
            "must be written as issued, upper case without spaces: write it as 91350100M000100Y43",
        ),
        (
            " 91350100M000100Y43",
            "must be written as issued, upper case without spaces: write it as 91350100M000100Y43",
        ),
        ("91350100m000100Y44", "character 9 'm' must be upper case"),
        ("9135A100M000100Y43", "characters 3-8 must be the six-digit region code"),
        ("91350100M000100Y44", "wrong check character '4', expected '3'"),
    ],
)
def test_problems_are_explained(code: str, expected: str) -> None:
    problem = credit_code_problem(code)
    assert problem is not None
    assert expected in problem
    assert not is_valid_credit_code(code)


def test_make_credit_code_rejects_bad_parts() -> None:
    with pytest.raises(ValueError, match="region code"):
        make_credit_code("9", "1", "13027", "MA000000")
    with pytest.raises(ValueError, match="organisation code body"):
        make_credit_code("9", "1", "130273", "MA00000")
    with pytest.raises(ValueError, match="not allowed"):
        make_credit_code("9", "1", "130273", "MAOOOOOO")  # O is not in the credit-code alphabet


bodies = st.text(alphabet=ALPHABET, min_size=6, max_size=6).map(lambda s: "MA" + s)
regions = st.sampled_from(["130000", "130200", "130202", "130203", "130273", "110101", "440300"])


@given(regions, bodies, st.sampled_from("123"))
def test_made_codes_are_valid(region: str, body: str, category: str) -> None:
    code = make_credit_code("9", category, region, body)
    assert is_valid_credit_code(code)
    assert code[2:8] == region


@given(regions, bodies, st.integers(0, 17), st.integers(1, 30))
def test_any_single_character_change_invalidates(region: str, body: str, position: int, shift: int) -> None:
    code = make_credit_code("9", "1", region, body)
    replacement = ALPHABET[(ALPHABET.index(code[position]) + shift) % 31]
    changed = code[:position] + replacement + code[position + 1 :]
    assert changed != code
    assert not is_valid_credit_code(changed)


@given(regions, bodies, st.integers(0, 15))  # swaps among the 17 data characters
def test_adjacent_transpositions_are_detected(region: str, body: str, position: int) -> None:
    code = make_credit_code("9", "1", region, body)
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    if swapped != code:
        assert not is_valid_credit_code(swapped)


def _reference_problem(code: str) -> str | None:
    """The check as GB 32100 states it, one character at a time (the table-driven check must agree); a valid
    code in lower case or with spaces around it is named with its canonical spelling."""
    canonical = code.strip().upper()
    if canonical != code and _reference_problem(canonical) is None:
        return f"must be written as issued, upper case without spaces: write it as {canonical}"
    if len(code) != 18:
        return f"must be 18 characters, got {len(code)}"
    for position, c in enumerate(code, start=1):
        if c not in ALPHABET:
            if c.islower() and c.upper() in ALPHABET:
                return f"character {position} {c!r} must be upper case"
            return f"character {position} {c!r} is not allowed (digits and letters except I, O, Z, S, V)"
    if not code[2:8].isdigit():
        return f"characters 3-8 must be the six-digit region code, got {code[2:8]!r}"
    total = sum(ALPHABET.index(c) * w for c, w in zip(code, WEIGHTS, strict=False))
    expected = ALPHABET[(31 - total % 31) % 31]
    return None if code[17] == expected else f"wrong check character {code[17]!r}, expected {expected!r}"


near_codes = st.one_of(
    st.text(alphabet=ALPHABET, min_size=18, max_size=18),
    st.text(alphabet=ALPHABET + "IOZSVaio\n٣ ", min_size=16, max_size=19),
    st.builds(
        lambda r, b, c: make_credit_code("9", "1", r, b)[:17] + c, regions, bodies, st.sampled_from(ALPHABET)
    ),
)


@given(near_codes)
def test_problem_is_the_reference_check_for_any_text(code: str) -> None:
    assert credit_code_problem(code) == _reference_problem(code)


@pytest.mark.parametrize("code", ["91350100M000100Y43\n", "９1350100M000100Y43", "91350100M000100Y4３"])
def test_look_alikes_of_valid_codes_are_refused(code: str) -> None:
    assert credit_code_problem(code) == _reference_problem(code)
    assert credit_code_problem(code) is not None


_CODE_CHARACTERS = ALPHABET + "IOZSVabcz é\n-"
_valid_codes = st.builds(
    lambda first17: first17 + check_character(first17),
    st.builds(
        lambda a, region, b: a + region + b,
        st.text(ALPHABET, min_size=2, max_size=2),
        st.text("0123456789", min_size=6, max_size=6),
        st.text(ALPHABET, min_size=9, max_size=9),
    ),
)


_edits = st.tuples(st.integers(0, 40), st.integers(0, 19), st.text(_CODE_CHARACTERS, max_size=2))


@given(st.lists(_valid_codes, max_size=40), st.lists(_edits, max_size=3))
def test_all_valid_matches_credit_code_problem(codes: list[str], edits: list[tuple[int, int, str]]) -> None:
    """The bulk check is True exactly when ``credit_code_problem`` finds nothing in any code: valid codes with
    characters replaced, inserted or removed anywhere (check characters, region digits, lengths)."""
    for index, position, text in edits:
        if codes:
            i = index % len(codes)
            codes[i] = codes[i][:position] + text + codes[i][position + 1 :]
    assert all_valid(codes) == all(credit_code_problem(code) is None for code in codes)


def test_all_valid_on_published_codes_and_each_wrong_check_character() -> None:
    assert all_valid(PUBLISHED * 3)
    assert all_valid([])
    for wrong in ALPHABET:
        code = PUBLISHED[1][:17] + wrong
        assert all_valid([*PUBLISHED, code]) == (credit_code_problem(code) is None)
    assert not all_valid([*PUBLISHED, PUBLISHED[0][:17], PUBLISHED[0] + "1"])  # 17 + 19 characters
