"""The C batch hashing (``dualdraw.domain.sha256_batch``) against ``hashlib``, message by message, and the
RFC 6962 root against the recursive definition; bad arguments are refused, not hashed."""

from __future__ import annotations

import hashlib
import os
from array import array
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dualdraw.domain import sha256_batch
from tests.unit.test_merkle import mth

codes_strategy = st.lists(st.text(alphabet=st.characters(max_codepoint=127), max_size=20), max_size=30)


@given(codes_strategy, st.binary(max_size=80), st.binary(max_size=10), st.data())
def test_framed_leaves_hash_the_framed_messages(
    codes: list[str], prefix: bytes, head: bytes, data: st.DataObject
) -> None:
    middles = data.draw(st.lists(st.binary(max_size=300), min_size=1, max_size=4))
    ends = data.draw(st.lists(st.binary(max_size=40), min_size=len(middles), max_size=len(middles)))
    frame_of = [data.draw(st.integers(0, len(middles) - 1)) for _ in codes]
    expected = b""
    for code, f in zip(codes, frame_of, strict=True):
        salt = hashlib.sha256(prefix + code.encode("ascii")).hexdigest().encode("ascii")
        expected += hashlib.sha256(head + code.encode("ascii") + middles[f] + salt + ends[f]).digest()
    for typecode in "BHIQ":
        numbers = array(typecode, frame_of)
        assert sha256_batch.framed_leaves(prefix, codes, numbers, middles, ends, head) == expected
    numbers64 = np.array(frame_of, dtype=np.uint64)
    assert sha256_batch.framed_leaves(prefix, tuple(codes), numbers64, tuple(middles), ends, head) == expected


@given(codes_strategy, st.binary(max_size=100))
def test_prefixed_digests_hash_prefix_and_code(codes: list[str], prefix: bytes) -> None:
    expected = b"".join(hashlib.sha256(prefix + code.encode("ascii")).digest() for code in codes)
    assert sha256_batch.prefixed_digests(prefix, codes) == expected


@pytest.mark.parametrize("count", [65_535, 65_536, 131_071, 131_073, 262_147])
def test_a_batch_split_between_threads_hashes_every_code_once_in_order(count: int) -> None:
    """From 65,536 codes on, the batch is split between threads (one per core): every range boundary
    must leave each digest in its code's place."""
    codes = [f"91{n:016d}" for n in range(count)]
    prefix = os.urandom(38)
    expected = b"".join(hashlib.sha256(prefix + code.encode("ascii")).digest() for code in codes)
    assert sha256_batch.prefixed_digests(prefix, codes) == expected


@pytest.mark.parametrize("count", [65_535, 131_072, 131_075, 262_147])
def test_framed_leaves_split_between_threads_keep_each_leaf_in_its_place(count: int) -> None:
    """From 65,536 codes on, the leaves are hashed by several threads (one per core): every range boundary
    must leave each leaf in its code's place, with its own frame."""
    codes = [f"91{n:016d}" for n in range(count)]
    frame_of = array("B", (n % 3 for n in range(count)))
    middles, ends = [b'","m":"a', b'","m":"bb', b""], [b'"}', b"", b"!"]
    prefix, head = os.urandom(38), b'\x00{"code":"'
    expected = b"".join(
        hashlib.sha256(
            head
            + code.encode("ascii")
            + middles[f]
            + hashlib.sha256(prefix + code.encode("ascii")).hexdigest().encode("ascii")
            + ends[f]
        ).digest()
        for code, f in zip(codes, frame_of, strict=True)
    )
    assert sha256_batch.framed_leaves(prefix, codes, frame_of, middles, ends, head) == expected


@pytest.mark.parametrize("count", [131_071, 131_072, 131_073, 200_003])
def test_a_large_tree_hashed_as_two_subtrees_has_the_recursive_root(count: int) -> None:
    """From 131,072 leaves on (two cores), RFC 6962's two subtrees are hashed by two threads."""
    leaves = [hashlib.sha256(n.to_bytes(4, "big")).digest() for n in range(count)]
    packed = bytearray(b"".join(leaves))
    assert sha256_batch.merkle_root(packed) == mth(leaves)
    assert packed == b"".join(leaves)


@pytest.mark.parametrize("count", [*range(0, 18), 31, 32, 33, 100, 1025])
def test_merkle_root_is_the_recursive_root(count: int) -> None:
    leaves = [hashlib.sha256(os.urandom(8)).digest() for _ in range(count)]
    packed = bytearray(b"".join(leaves))
    assert sha256_batch.merkle_root(packed) == mth(leaves)
    assert sha256_batch.merkle_root(memoryview(packed)) == mth(leaves)
    assert packed == b"".join(leaves)  # the leaves are left as they were


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="not ASCII"):
        sha256_batch.prefixed_digests(b"", ["91码"])
    with pytest.raises(ValueError, match="not ASCII"):
        sha256_batch.prefixed_digests(b"", [b"bytes"])  # type: ignore[list-item]  # refused at run time
    with pytest.raises(ValueError, match="names no frame"):
        sha256_batch.framed_leaves(b"", ["a"], array("B", [1]), [b""], [b""], b"")
    with pytest.raises(ValueError, match="one frame number per code"):
        sha256_batch.framed_leaves(b"", ["a", "b"], array("B", [0]), [b""], [b""], b"")
    with pytest.raises(ValueError, match="one end per middle"):
        sha256_batch.framed_leaves(b"", ["a"], array("B", [0]), [b""], [], b"")
    with pytest.raises(TypeError, match="unsigned integers"):
        sha256_batch.framed_leaves(b"", ["a"], array("d", [0.0]), [b""], [b""], b"")
    with pytest.raises(TypeError, match="unsigned integers"):
        sha256_batch.framed_leaves(b"", ["a"], np.array([0], dtype=np.int64), [b""], [b""], b"")
    with pytest.raises(TypeError, match="middle 0 is not bytes"):
        sha256_batch.framed_leaves(b"", ["a"], array("B", [0]), ["text"], [b""], b"")  # type: ignore[list-item]  # refused at run time
    with pytest.raises(ValueError, match="32-byte"):
        sha256_batch.merkle_root(b"x" * 33)


@given(st.lists(st.text(alphabet=st.sampled_from("ab\n é"), max_size=3), max_size=8), st.booleans())
def test_ascending_digest_hashes_exactly_the_texts_given_sorted(texts: list[str], sort: bool) -> None:
    """The set digest of keys given sorted: the joined texts' SHA-256 when they are non-empty ASCII
    without a line feed and strictly ascending, else ``None`` (the caller's general path decides)."""
    if sort:
        texts = sorted(set(texts))
    given_sorted = all(t and t.isascii() and "\n" not in t for t in texts) and all(
        a < b for a, b in pairwise(texts)
    )
    expected = hashlib.sha256("\n".join(texts).encode()).digest() if given_sorted else None
    assert sha256_batch.ascending_digest(texts) == expected
    assert sha256_batch.ascending_digest(tuple(texts)) == expected
    assert sha256_batch.ascending_digest(iter(texts)) == expected


@pytest.mark.parametrize("sizes", [[70_000, 1, 200_000, 1], [65_535, 1], [65_534, 1, 1], [7] * 20_000])
def test_ascending_digest_of_texts_beyond_its_buffer(sizes: list[int]) -> None:
    texts = [
        f"{n:07d}" + "x" * (size - 7) if size > 7 else f"{n:07d}"[-size:] for n, size in enumerate(sizes)
    ]
    texts = sorted(set(texts))
    assert sha256_batch.ascending_digest(texts) == hashlib.sha256("\n".join(texts).encode()).digest()


def test_ascending_digest_refuses_what_is_not_text() -> None:
    with pytest.raises(TypeError, match="text 2 is int"):
        sha256_batch.ascending_digest(["b", "a", 3])  # type: ignore[list-item]  # refused at run time
