"""``domain/credit_code.py`` against an independent implementation of GB 32100, ``python-stdnum``'s
``stdnum.cn.uscc``: on generated codes both accept the valid ones, refuse every one-character corruption and
compute the same check character. Two differences are deliberate and tested as such: dualdraw allows a
letter as registration department or category (GB 32100 assigns ``A``, ``N``, ``Y``…; stdnum wants digits
there), and dualdraw refuses a code in lower case or with spaces (stdnum compacts it first)."""

from __future__ import annotations

import pytest
import stdnum.cn.uscc as uscc
from hypothesis import given
from hypothesis import strategies as st
from stdnum.exceptions import InvalidFormat

from dualdraw.domain.credit_code import (
    ALPHABET,
    all_valid,
    canonical_spelling,
    check_character,
    credit_code_problem,
    is_valid_credit_code,
)

DIGITS = "0123456789"
digit = st.sampled_from(DIGITS)
character = st.sampled_from(ALPHABET)


@st.composite
def first17_digits_in_front(draw: st.DrawFn) -> str:
    """Seventeen characters as both implementations allow them: digits in 1-8, ``ALPHABET`` in 9-17."""
    return "".join(draw(digit) for _ in range(8)) + "".join(draw(character) for _ in range(9))


@st.composite
def first17_letter_in_front(draw: st.DrawFn) -> str:
    """Seventeen characters with a letter of ``ALPHABET`` as registration department or category."""
    letter = st.sampled_from(ALPHABET[10:])
    front = draw(st.sampled_from([(letter, character), (character, letter)]))
    return (
        "".join(draw(part) for part in front)
        + "".join(draw(digit) for _ in range(6))
        + "".join(draw(character) for _ in range(9))
    )


@given(first17_digits_in_front())
def test_valid_codes_agree(first17: str) -> None:
    code = first17 + check_character(first17)
    assert uscc.calc_check_digit(first17) == code[17]
    assert uscc.is_valid(code)
    assert is_valid_credit_code(code)
    assert all_valid([code])


@given(st.text(alphabet=ALPHABET, min_size=17, max_size=17))
def test_check_characters_agree_on_any_seventeen_characters(first17: str) -> None:
    assert check_character(first17) == uscc.calc_check_digit(first17)


@given(
    first17_digits_in_front(),
    st.integers(min_value=0, max_value=17),
    st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
)
def test_one_character_corruptions_are_refused_by_both(first17: str, position: int, replacement: str) -> None:
    code = first17 + check_character(first17)
    corrupted = code[:position] + replacement + code[position + 1 :]
    if corrupted == code:
        return
    assert not uscc.is_valid(corrupted)
    assert credit_code_problem(corrupted) is not None
    assert not all_valid([corrupted])


@given(first17_letter_in_front())
def test_a_letter_as_department_or_category_is_valid_here_and_refused_by_stdnum(first17: str) -> None:
    code = first17 + check_character(first17)
    assert uscc.calc_check_digit(first17) == code[17]  # the same check character
    assert is_valid_credit_code(code)
    assert all_valid([code])
    with pytest.raises(InvalidFormat):
        uscc.validate(code)


@given(first17_digits_in_front(), st.sampled_from(["lower", "padded"]))
def test_a_code_not_written_as_issued_is_refused_here_and_compacted_by_stdnum(
    first17: str, spelling: str
) -> None:
    code = first17 + check_character(first17)
    written = code.lower() if spelling == "lower" else f" {code} "
    if written == code:  # all digits: nothing to lower
        return
    assert uscc.validate(written) == code
    assert not is_valid_credit_code(written)
    assert canonical_spelling(written) == code
