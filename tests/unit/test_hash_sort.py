"""``hash_sort.sort_hashes`` orders 32-byte records as ``sorted`` orders ``bytes`` (the sorted Merkle sets
depend on it) and moves each record's position with it."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dualdraw.domain.hash_sort import sort_hashes

# Records that share long prefixes, repeat, or differ only in their last byte: each byte position decides.
_NEAR = st.sampled_from([bytes(32), b"\x00" * 31 + b"\x01", b"\xff" * 32, b"\x01" + bytes(31)])
_RECORDS = st.lists(
    st.binary(min_size=32, max_size=32)
    | _NEAR
    | st.binary(min_size=1, max_size=3).map(lambda head: head + bytes(32 - len(head)))
)


@settings(max_examples=300, deadline=None)
@given(_RECORDS)
def test_records_are_sorted_as_bytes_are(records: list[bytes]) -> None:
    packed = bytearray(b"".join(records))
    sort_hashes(packed)
    assert [bytes(packed[i : i + 32]) for i in range(0, len(packed), 32)] == sorted(records)


@settings(max_examples=300, deadline=None)
@given(_RECORDS)
def test_each_position_moves_with_its_record(records: list[bytes]) -> None:
    packed = bytearray(b"".join(records))
    positions = np.arange(len(records), dtype=np.uint32)
    sort_hashes(packed, positions)
    assert sorted(positions.tolist()) == list(range(len(records)))
    assert [records[p] for p in positions.tolist()] == sorted(records)


@pytest.mark.parametrize("count", [25, 1_000, 70_000])
def test_buckets_large_enough_to_be_split_again_are_sorted(count: int) -> None:
    """Past the insertion sort's size records are bucketed byte by byte; many records sharing their first
    bytes make buckets that are bucketed again, down to records equal but for the last byte."""
    records = [bytes(30) + os.urandom(2) for _ in range(count)] + [os.urandom(32) for _ in range(count)]
    records += records[: count // 3]  # repeats
    packed = bytearray(b"".join(records))
    positions = np.arange(len(records), dtype=np.uint32)
    sort_hashes(packed, positions)
    assert bytes(packed) == b"".join(sorted(records))
    assert [records[p] for p in positions.tolist()] == sorted(records)


def test_buffers_of_the_wrong_size_are_refused_and_left_alone() -> None:
    packed = bytearray(os.urandom(64))
    before = bytes(packed)
    with pytest.raises(ValueError, match="whole 32-byte hashes"):
        sort_hashes(packed + b"\x00")
    with pytest.raises(ValueError, match="positions for 2 hashes"):
        sort_hashes(packed, np.arange(3, dtype=np.uint32))
    with pytest.raises(BufferError):
        sort_hashes(bytes(packed))  # read-only
    assert bytes(packed) == before
