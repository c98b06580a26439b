"""The parts that keep bundle export and verification in bounded memory: the external sort, the streamed
Merkle root over sorted leaves, the lowest keys of a stream, and inflating stored code lists in pieces."""

from __future__ import annotations

import hashlib
import random

import pytest

from dualdraw.adapters.store import codes
from dualdraw.domain.audit.merkle import Frontier
from dualdraw.domain.draw.commitments import set_root
from dualdraw.runtime.external_sort import SpillingSort, sorted_bytes
from dualdraw.verifier.lines import LowestKeys


def _items(n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    return [hashlib.sha256(rng.randbytes(8)).digest()[: rng.randint(0, 40)] for _ in range(n)]


@pytest.mark.parametrize("run_items", [1, 3, 64, 10_000])
def test_the_external_sort_equals_sorted_with_any_run_size(run_items: int) -> None:
    items = _items(2000) + _items(50)  # with duplicates and empty strings
    assert list(sorted_bytes(items, run_items=run_items)) == sorted(items)
    spilling = SpillingSort(run_items)
    for item in items:
        spilling.add(item)
    assert list(spilling.sorted()) == sorted(items)
    assert list(sorted_bytes([], run_items=run_items)) == []


def test_a_frontier_over_sorted_leaves_gives_the_set_root() -> None:
    for n in (0, 1, 2, 3, 5, 8, 1000, 1025):
        leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(n)]
        frontier = Frontier()
        for leaf in sorted(leaves):
            frontier.append(leaf)
        assert frontier.root().hex() == set_root(leaves), n


@pytest.mark.parametrize(
    ("n", "count"), [(0, 3), (10, 0), (10, 3), (10, 10), (5000, 1), (5000, 250), (20_000, 3000)]
)
def test_lowest_keys_are_the_smallest_of_the_stream(n: int, count: int) -> None:
    keys = list({hashlib.sha256(str(i).encode()).digest() for i in range(n)})
    random.Random(n).shuffle(keys)
    lowest = LowestKeys(count)
    for key in keys:
        lowest.offer(key)
    assert lowest.lowest() == sorted(keys)[:count]


def test_stored_code_lists_inflate_piece_by_piece(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codes, "UNPACK_PIECE", 5)
    for listed in ([], ["A"], ["91350100M000100Y43", "X"], [f"code-{i}" for i in range(3000)]):
        assert list(codes.iter_codes(codes.pack_codes(listed))) == listed
