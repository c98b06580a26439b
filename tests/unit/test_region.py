"""GB/T 2260 region codes."""

from __future__ import annotations

import pytest

from dualdraw.domain.region import (
    ancestors,
    is_valid_region_code,
    region_code_problem,
    region_level,
    region_within,
    significant_prefix,
)


@pytest.mark.parametrize(
    ("code", "prefix", "level"),
    [("130000", "13", 1), ("130200", "1302", 2), ("130203", "130203", 3), ("110101", "110101", 3)],
)
def test_significant_prefix_and_level(code: str, prefix: str, level: int) -> None:
    assert significant_prefix(code) == prefix
    assert region_level(code) == level


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("13020", "six digits"),
        ("1302031", "six digits"),
        ("13O203", "six digits"),
        ("１３０２０３", "six digits"),  # full-width digits are not ASCII
        ("990000", "province code"),
        ("000000", "province code"),
        ("130003", "district without a city"),
    ],
)
def test_malformed_codes(code: str, problem: str) -> None:
    found = region_code_problem(code)
    assert found is not None
    assert problem in found
    assert not is_valid_region_code(code)
    with pytest.raises(ValueError, match="invalid region code"):
        significant_prefix(code)


def test_region_within() -> None:
    assert region_within("130203", "130000")
    assert region_within("130203", "130200")
    assert region_within("130203", "130203")
    assert region_within("130200", "130200")
    assert not region_within("130200", "130203")
    assert not region_within("130302", "130200")
    assert not region_within("140203", "130000")
    with pytest.raises(ValueError, match="six digits"):
        region_within("1302", "130000")


def test_ancestors_are_padded_and_inclusive() -> None:
    assert ancestors("130203") == ("130000", "130200", "130203")
    assert ancestors("130200") == ("130000", "130200")
    assert ancestors("130000") == ("130000",)
