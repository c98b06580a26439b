"""The draw algorithm dualdraw-draw/1: ratios, selection size, seed, tickets, selection, digests."""

from __future__ import annotations

import hashlib
from fractions import Fraction
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dualdraw.domain.draw.algorithm import (
    derive_seed,
    eligible_digest,
    format_ratio,
    parse_ratio,
    set_digest,
)
from dualdraw.domain.draw.ascending import positions_in, strictly_ascending
from dualdraw.domain.draw.commitments import EligibleEntries, TextColumn
from dualdraw.domain.draw.numbering import by_first_occurrence, distinct_numbers, first_places
from dualdraw.domain.draw.selection import (
    object_ticket,
    rank_objects,
    select_by_strata,
    select_objects,
    select_stratified,
    selection_size,
)
from dualdraw.domain.draw.strata import StrataPartition, codes_by_stratum
from dualdraw.domain.draw.versions import PLAIN_DRAW as ALGORITHM_VERSION

SEED = hashlib.sha256(b"test seed").digest()
CODES = [f"9113027{i:04d}MA0001" for i in range(50)]


def test_version() -> None:
    assert ALGORITHM_VERSION == "dualdraw-draw/1"


@pytest.mark.parametrize(
    ("text", "ratio"),
    [
        ("0.1", Fraction(1, 10)),
        ("1", Fraction(1)),
        ("1.000000", Fraction(1)),
        ("0.000001", Fraction(1, 10**6)),
        ("0.05", Fraction(1, 20)),
        ("00.5", Fraction(1, 2)),
    ],
)
def test_parse_ratio(text: str, ratio: Fraction) -> None:
    assert parse_ratio(text) == ratio


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "greater than 0"),
        ("0.0", "greater than 0"),
        ("1.5", "at most 1"),
        ("2", "at most 1"),
        ("0.0000001", "at most 6 decimals"),
        ("", "decimal number"),
        (".5", "decimal number"),
        ("1.", "decimal number"),
        ("-0.1", "decimal number"),
        ("1e-1", "decimal number"),
        (" 0.1", "decimal number"),
        ("0,1", "decimal number"),
        ("٠.٥", "decimal number"),
        ("1/10", "decimal number"),
    ],
)
def test_parse_ratio_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_ratio(text)


@given(st.integers(1, 10**6))
def test_format_ratio_round_trips(millionths: int) -> None:
    ratio = Fraction(millionths, 10**6)
    text = format_ratio(ratio)
    assert parse_ratio(text) == ratio
    assert not text.endswith("0") or "." not in text


def test_format_ratio_rejects() -> None:
    with pytest.raises(ValueError, match="more than 6 decimals"):
        format_ratio(Fraction(1, 3))
    with pytest.raises(ValueError, match="greater than 0"):
        format_ratio(Fraction(0))


@pytest.mark.parametrize(
    ("ratio", "eligible", "size"),
    [
        ("0.1", 0, 0),
        ("0.1", 1, 1),
        ("0.1", 10, 1),
        ("0.1", 11, 2),
        ("0.1", 39, 4),
        ("0.3", 10, 3),
        ("1", 7, 7),
        ("0.000001", 1, 1),
        ("0.000001", 1_000_000, 1),
        ("0.000001", 1_000_001, 2),
        ("0.333333", 3, 1),
        ("0.333334", 3, 2),
    ],
)
def test_selection_size_is_exact_ceiling(ratio: str, eligible: int, size: int) -> None:
    assert selection_size(parse_ratio(ratio), eligible) == size


@given(st.integers(1, 10**6), st.integers(0, 10**9))
def test_selection_size_property(millionths: int, eligible: int) -> None:
    ratio = Fraction(millionths, 10**6)
    size = selection_size(ratio, eligible)
    assert size - 1 < ratio * eligible <= size
    assert 0 <= size <= eligible


def test_derive_seed_definition() -> None:
    manifest_hash = hashlib.sha256(b"manifest").hexdigest()
    seed = derive_seed(manifest_hash, b"\x01\x02")
    assert (
        seed == hashlib.sha256(b"dualdraw/seed/v1\x00" + bytes.fromhex(manifest_hash) + b"\x01\x02").digest()
    )
    assert derive_seed(manifest_hash.upper(), b"\x01\x02") == seed
    with pytest.raises(ValueError, match="64 hexadecimal"):
        derive_seed(manifest_hash[:-1], b"x")
    with pytest.raises(ValueError, match="entropy"):
        derive_seed(manifest_hash, b"")


def test_ticket_definition() -> None:
    expected = hashlib.sha256(SEED + b"obj\x00" + "风险A".encode() + b"\x00" + CODES[0].encode()).digest()
    assert object_ticket(SEED, "风险A", CODES[0]) == int.from_bytes(expected, "big")
    with pytest.raises(ValueError, match="32 bytes"):
        object_ticket(SEED[:31], "all", CODES[0])
    with pytest.raises(ValueError, match="stratum"):
        object_ticket(SEED, "a\x00b", CODES[0])
    with pytest.raises(ValueError, match="ASCII"):
        object_ticket(SEED, "all", "统一社会信用代码")


def test_select_objects_takes_the_lowest_tickets() -> None:
    selected = select_objects(SEED, CODES, Fraction(1, 10))
    assert len(selected) == 5
    ranked = sorted(CODES, key=lambda c: object_ticket(SEED, "all", c))
    assert [s.credit_code for s in selected] == ranked[:5]
    assert all(s.stratum == "all" and len(s.ticket_hex) == 64 for s in selected)
    assert [int(s.ticket_hex, 16) for s in selected] == sorted(int(s.ticket_hex, 16) for s in selected)


@given(st.lists(st.text(max_size=3), max_size=8))
def test_strictly_ascending_is_each_greater_than_the_one_before(items: list[str]) -> None:
    assert strictly_ascending(items) == all(a < b for a, b in pairwise(items))


@given(st.lists(st.text(max_size=3), max_size=8), st.lists(st.text(max_size=3), max_size=5))
def test_positions_in_find_the_items_of_ascending_items(items: list[str], wanted: list[str]) -> None:
    ascending = sorted(set(items))
    expected = [ascending.index(w) if w in ascending else None for w in wanted]
    assert positions_in(ascending, wanted) == positions_in(ascending, iter(wanted)) == expected


@given(st.lists(st.integers(0, 9), max_size=30), st.integers(10, 12))
def test_first_places_are_where_each_number_first_occurs(numbers: list[int], bound: int) -> None:
    first = first_places(np.array(numbers, dtype=np.intp), bound)
    assert first.tolist() == [numbers.index(n) if n in numbers else len(numbers) for n in range(bound)]


@given(st.lists(st.integers(0, 9), max_size=30))
def test_by_first_occurrence_numbers_in_order_of_first_occurrence(numbers: list[int]) -> None:
    former, renumbered = by_first_occurrence(np.array(numbers, dtype=np.intp), 10)
    seen = list(dict.fromkeys(numbers))
    assert former.tolist() == seen
    assert renumbered.tolist() == [seen.index(n) for n in numbers]


@given(st.lists(st.integers(0, 99), max_size=30), st.sampled_from([100, 10**6]))
def test_distinct_numbers_are_numpys_unique(numbers: list[int], bound: int) -> None:
    array = np.array(numbers, dtype=np.uint64)
    distinct, places = distinct_numbers(array, bound)  # a table of flags, or (a large bound) a sort
    expected, inverse = np.unique(array, return_inverse=True)
    assert distinct.tolist() == expected.tolist()
    assert places.tolist() == inverse.tolist()


def test_selection_rejects_duplicates() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        select_objects(SEED, [*CODES, CODES[3]], Fraction(1, 2))


@given(st.permutations(CODES), st.integers(1, 10**6))
def test_selection_is_independent_of_input_order(order: list[str], millionths: int) -> None:
    ratio = Fraction(millionths, 10**6)
    assert select_objects(SEED, order, ratio) == select_objects(SEED, CODES, ratio)


@given(st.binary(min_size=32, max_size=32), st.integers(1, 49))
def test_selection_is_a_prefix_of_the_ranking(seed: bytes, cut: int) -> None:
    ranked = rank_objects(seed, CODES)
    assert select_objects(seed, CODES, Fraction(cut, 50)) == ranked[:cut]


def test_selection_changes_with_the_seed_and_stratum() -> None:
    other = hashlib.sha256(b"other").digest()
    assert select_objects(SEED, CODES, Fraction(1, 5)) != select_objects(other, CODES, Fraction(1, 5))
    assert [s.credit_code for s in select_objects(SEED, CODES, Fraction(1, 5), "A")] != [
        s.credit_code for s in select_objects(SEED, CODES, Fraction(1, 5))
    ]


def test_select_stratified() -> None:
    strata = {
        "D": (CODES[:5], Fraction(1)),
        "A": (CODES[5:45], Fraction(1, 20)),
        "B": (CODES[45:], Fraction(1, 2)),
    }
    selected = select_stratified(SEED, strata)
    assert [s.stratum for s in selected] == ["A", "A", "B", "B", "B", "D", "D", "D", "D", "D"]
    assert selected[:2] == select_objects(SEED, CODES[5:45], Fraction(1, 20), "A")
    with pytest.raises(ValueError, match="more than one stratum"):
        select_stratified(SEED, {"A": (CODES[:3], Fraction(1)), "B": (CODES[2:4], Fraction(1))})


def test_strata_of_ascending_entries_are_known_to_be_disjoint() -> None:
    """The strata of a draw's entries (ascending codes) partition them: selection skips its overlap check,
    which still guards strata from anywhere else."""
    classes = TextColumn.of(["A", "B", "A", "D"])
    partition = codes_by_stratum(EligibleEntries(CODES[:4], classes, classes))
    assert isinstance(partition, StrataPartition)
    assert partition == {"A": [CODES[0], CODES[2]], "B": [CODES[1]], "D": [CODES[3]]}
    ratios = {"A": Fraction(1), "B": Fraction(1), "D": Fraction(1)}
    assert select_by_strata(SEED, partition, ratios) == select_by_strata(SEED, dict(partition), ratios)
    shuffled = [CODES[1], CODES[0], CODES[2], CODES[3]]
    assert not isinstance(codes_by_stratum(EligibleEntries(shuffled, classes, classes)), StrataPartition)
    with pytest.raises(ValueError, match="more than one stratum"):
        select_by_strata(SEED, {"A": CODES[:3], "B": CODES[2:4]}, {"A": Fraction(1), "B": Fraction(1)})


def test_eligible_digest_definition() -> None:
    codes = ["91350100M000100Y43", "914403001922038216", "91110108551385082Q"]
    expected = hashlib.sha256(b"91110108551385082Q\n91350100M000100Y43\n914403001922038216").hexdigest()
    assert eligible_digest(codes) == expected
    assert eligible_digest(reversed(codes)) == expected
    assert eligible_digest([]) == hashlib.sha256(b"").hexdigest()
    with pytest.raises(ValueError, match="duplicate"):
        eligible_digest([*codes, codes[0]])
    with pytest.raises(ValueError, match="newlines"):
        set_digest(["a\nb"])
    with pytest.raises(ValueError, match="non-empty"):
        set_digest([""])
