"""A rule change's excluded share travels as google.type.Decimal text, rounded half-even to 6 places."""

from __future__ import annotations

from fractions import Fraction

import pytest

from dualdraw.entrypoints.grpc.convert import share_text


@pytest.mark.parametrize(
    ("share", "text"),
    [
        (Fraction(0), "0"),
        (Fraction(1), "1"),
        (Fraction(1, 2), "0.5"),
        (Fraction(1, 3), "0.333333"),
        (Fraction(2, 3), "0.666667"),
        (Fraction(1, 8_000_000), "0"),  # 0.000000125: half-even to 6 decimals
        (Fraction(5, 10_000_000), "0"),  # exactly half of the last place: to the even digit
        (Fraction(15, 10_000_000), "0.000002"),
    ],
)
def test_a_share_is_decimal_text_rounded_half_even_to_six_places(share: Fraction, text: str) -> None:
    assert share_text(share) == text
