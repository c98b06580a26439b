"""The draw's fast paths give the bytes of the canonical definitions (docs/DRAW-ALGORITHM.md §6, §6.1).

Each fast path is compared with the plain reading of the definition it replaces, on the usual input (plain
ASCII, sorted) and on inputs that must fall back (quotes, backslashes, control and non-ASCII text,
unsorted or faulty sets).
"""

from __future__ import annotations

import gc
import hashlib
import heapq
import random
import re
import zlib
from collections.abc import Iterator
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dualdraw.adapters.store import codes as stored
from dualdraw.adapters.store.codes import iter_codes, pack_codes, pack_text, unpack_codes, unpack_text
from dualdraw.domain.audit.merkle import leaf_hash, node_hash, packed_root, root
from dualdraw.domain.canonical_json import canonical_json, json_string
from dualdraw.domain.draw import algorithm
from dualdraw.domain.draw.algorithm import set_digest
from dualdraw.domain.draw.commitments import (
    EligibleEntry,
    LeafSet,
    all_plain,
    eligible_root,
    exclusion_commitments,
    exclusions_digest,
    exclusions_root,
    object_leaf_data,
    object_leaf_hashes,
    salt_for,
    salted_leaf_hashes,
    set_root,
)
from dualdraw.domain.draw.selection import lowest, lowest_tickets, object_ticket, rank_objects, select_objects
from dualdraw.service_layer.draw_progress import cycle_collection_paused

SALT_KEY = bytes(range(32))
CODES = [f"91{n:015d}{'ABCDX'[n % 5]}" for n in range(200)]


def canonical_leaves(entries: list[EligibleEntry], salt_key: bytes) -> list[bytes]:
    return [leaf_hash(object_leaf_data(e, salt_for(salt_key, e.code))) for e in entries]


def recursive_root(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(recursive_root(leaves[:k]), recursive_root(leaves[k:]))


def test_plain_leaves_equal_the_canonical_leaves() -> None:
    entries = [EligibleEntry(code, ("all", "B")[n % 2], "ABCD"[n % 4]) for n, code in enumerate(CODES)]
    assert object_leaf_hashes(entries, SALT_KEY) == canonical_leaves(entries, SALT_KEY)
    assert eligible_root(entries, SALT_KEY) == root(sorted(canonical_leaves(entries, SALT_KEY))).hex()


@pytest.mark.parametrize(
    ("code", "stratum", "risk_class"),
    [
        ('91"quoted"', "all", "A"),
        ("91back\\slash", "all", "A"),
        ("9111", 'str"atum', "A"),
        ("9111", "all", "\x01"),
        ("9111", "层级", "A"),
        ("9111", "all", "é"),
    ],
)
def test_leaves_that_need_escapes_equal_the_canonical_leaves(
    code: str, stratum: str, risk_class: str
) -> None:
    entries = [EligibleEntry(CODES[0], "all", "A"), EligibleEntry(code, stratum, risk_class)]
    assert object_leaf_hashes(entries, SALT_KEY) == canonical_leaves(entries, SALT_KEY)


def test_a_non_ascii_code_fails_as_in_the_canonical_path() -> None:
    with pytest.raises(UnicodeEncodeError):
        object_leaf_hashes([EligibleEntry("91码", "all", "A")], SALT_KEY)


@given(
    st.lists(
        st.tuples(st.text(min_size=1, max_size=8), st.text(min_size=1, max_size=4), st.sampled_from("ABCD")),
        max_size=20,
    )
)
def test_any_ascii_leaves_equal_the_canonical_leaves(raw: list[tuple[str, str, str]]) -> None:
    entries = [EligibleEntry(code.encode("ascii", "replace").decode(), s, r) for code, s, r in raw]
    try:
        expected = canonical_leaves(entries, SALT_KEY)
    except ValueError:  # lone surrogates in a stratum: refused either way
        with pytest.raises(ValueError, match="lone surrogate"):
            object_leaf_hashes(entries, SALT_KEY)
        return
    assert object_leaf_hashes(entries, SALT_KEY) == expected


@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=8),
            st.text(min_size=1, max_size=4),
            st.sampled_from("ABCD"),
            st.one_of(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64), st.text(max_size=4)),
        ),
        max_size=20,
    )
)
def test_leaves_from_given_salts_equal_the_canonical_leaves(raw: list[tuple[str, str, str, str]]) -> None:
    """What the offline verifier recomputes from a bundle's rows: any text, plain or not, as canonical."""
    entries = [EligibleEntry(code, stratum, risk) for code, stratum, risk, _ in raw]
    salts = [salt for *_, salt in raw]
    try:
        expected = [leaf_hash(object_leaf_data(e, salt)) for e, salt in zip(entries, salts, strict=True)]
    except ValueError:  # lone surrogates: refused either way
        with pytest.raises(ValueError, match="lone surrogate"):
            salted_leaf_hashes(entries, salts)
        return
    assert salted_leaf_hashes(entries, salts) == expected


def test_leaves_from_the_derived_salts_equal_the_draw_leaves() -> None:
    entries = [EligibleEntry(code, ("all", "B")[n % 2], "ABCD"[n % 4]) for n, code in enumerate(CODES)]
    salts = [salt_for(SALT_KEY, e.code) for e in entries]
    assert salted_leaf_hashes(entries, salts) == object_leaf_hashes(entries, SALT_KEY)


@pytest.mark.parametrize("step", [1, 7, 50_000])
def test_leaf_set_subset_root_equals_the_eligible_root_of_the_subset(
    step: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LeafSet, "STEP", step)
    entries = [EligibleEntry(code, "all", "ABCD"[n % 4]) for n, code in enumerate(CODES)]
    rng = random.Random(step)
    for keep in ([True] * len(entries), [False] * len(entries), [rng.random() < 0.9 for _ in entries]):
        leaf_set = LeafSet(entries, SALT_KEY)
        for _ in range(3):  # some steps taken ahead, the rest by subset_root
            next(leaf_set.pending, None)
        subset = [e for e, kept in zip(entries, keep, strict=True) if kept]
        assert leaf_set.subset_root(keep) == eligible_root(subset, SALT_KEY)


def test_a_leaf_set_lets_go_of_its_entries_once_every_leaf_is_hashed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A draw hands the leaf set an entry per in-scope object; it must not keep them alive through the
    policy stage (the draw's memory peak) once it has hashed them all."""
    import weakref

    class Entries(list[EligibleEntry]):
        pass

    monkeypatch.setattr(LeafSet, "STEP", 10)
    entries = Entries(EligibleEntry(code, "all", "A") for code in CODES)
    alive = weakref.ref(entries)
    leaf_set = LeafSet(entries, SALT_KEY)
    del entries
    next(leaf_set.pending)
    assert alive() is not None  # still hashing
    for _ in leaf_set.pending:
        pass
    gc.collect()
    assert alive() is None
    assert leaf_set.subset_root([True] * len(CODES)) == eligible_root(
        [EligibleEntry(code, "all", "A") for code in CODES], SALT_KEY
    )


@pytest.mark.parametrize("size", [0, 1, 2, 3, 5, 8, 13, 64, 100])
def test_root_equals_the_recursive_definition(size: int) -> None:
    leaves = [leaf_hash(str(n).encode()) for n in range(size)]
    assert root(leaves) == recursive_root(leaves)


@pytest.mark.parametrize(
    "pairs",
    [
        [],
        [("9111", "R1")],
        [("9111", "R1"), ("9111", "R2"), ("9222", "R1")],
        [("9111", 'R"1'), ("9222", "R\\2"), ("9333", "规则"), ("9444", "R\n")],
    ],
)
def test_exclusion_commitments_equal_the_canonical_json(pairs: list[tuple[str, str]]) -> None:
    digest = hashlib.sha256(canonical_json([list(p) for p in pairs])).hexdigest()
    tree_root = set_root(leaf_hash(canonical_json(list(p))) for p in pairs)
    assert exclusions_digest(pairs) == digest
    assert exclusions_root(pairs) == tree_root
    assert exclusion_commitments(pairs) == (digest, tree_root)  # both at once, as a draw commits them


def sorted_set_digest(keys: list[str]) -> str:
    return hashlib.sha256(b"\n".join(sorted(k.encode("utf-8") for k in keys))).hexdigest()


@pytest.mark.parametrize("keys", [[], ["a"], CODES, ["a", "b", "é", "层", "😀"], ["Z", "a", "é"]])
def test_set_digest_of_sorted_or_shuffled_keys(keys: list[str]) -> None:
    shuffled = list(keys)
    random.Random(7).shuffle(shuffled)
    assert set_digest(sorted(keys)) == set_digest(shuffled) == sorted_set_digest(keys)


@pytest.mark.parametrize("keys", [["a", "a"], ["", "a"], ["a", "b\nc"], ["a\n", "b"], [""]])
def test_set_digest_still_refuses_faulty_sets(keys: list[str]) -> None:
    with pytest.raises(ValueError, match=r"duplicate|non-empty"):
        set_digest(keys)


@pytest.mark.parametrize("size", [3, 4, 5, 9])
def test_set_digest_hashes_piece_by_piece(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    """Sorted keys are joined and hashed a few at a time (``_PIECE``): the same digest at every boundary,
    and a newline in a later piece is still refused."""
    monkeypatch.setattr(algorithm, "_PIECE", 2)
    keys = [f"91{n:016d}" for n in range(size)]
    assert set_digest(keys) == sorted_set_digest(keys)
    with pytest.raises(ValueError, match="non-empty"):
        set_digest([*keys, "zz\nz"])


@pytest.mark.parametrize(
    ("size", "count"), [(0, 0), (1, 1), (5, 0), (10, 3), (10, 10), (1000, 50), (5000, 4999)]
)
def test_lowest_keys_equal_the_heap_selection(size: int, count: int) -> None:
    rng = random.Random(size * 7 + count)
    keys = [rng.randbytes(32) + f"91{n:016d}".encode() for n in range(size)]
    assert lowest(keys, count) == heapq.nsmallest(count, keys)


def test_lowest_keys_are_exact_when_few_fall_below_the_bound() -> None:
    rng = random.Random(3)
    high = [b"\xff" + rng.randbytes(31) for _ in range(2000)]  # not SHA-256 like: the heap takes over
    low = [bytes(8) + rng.randbytes(24) for _ in range(10)]
    assert lowest(high + low, 100) == heapq.nsmallest(100, high + low)


@pytest.mark.parametrize(
    ("size", "count"), [(0, 0), (1, 1), (5, 0), (10, 3), (10, 10), (1000, 50), (5000, 4999)]
)
def test_lowest_tickets_equal_the_heap_selection(size: int, count: int) -> None:
    rng = random.Random(size * 11 + count)
    codes = [f"91{n:016d}" for n in range(size)]
    digests = rng.randbytes(32 * size)
    keys = [digests[32 * n : 32 * n + 32] + code.encode() for n, code in enumerate(codes)]
    assert lowest_tickets(digests, codes, count) == heapq.nsmallest(count, keys)


def test_lowest_tickets_are_exact_when_few_fall_below_the_bound() -> None:
    rng = random.Random(5)
    digests = [b"\xff" + rng.randbytes(31) for _ in range(2000)] + [
        bytes(8) + rng.randbytes(24) for _ in range(10)
    ]
    codes = [f"91{n:016d}" for n in range(len(digests))]
    keys = [digest + code.encode() for digest, code in zip(digests, codes, strict=True)]
    assert lowest_tickets(b"".join(digests), codes, 100) == heapq.nsmallest(100, keys)
    with pytest.raises(ValueError, match="digests"):
        lowest_tickets(b"".join(digests), codes[1:], 100)


def test_selected_tickets_are_the_defined_tickets() -> None:
    seed = bytes(range(32))
    codes = [f"91{n:016d}" for n in range(3000)]
    expected = sorted((object_ticket(seed, "B", code), code) for code in codes)[:150]
    chosen = select_objects(seed, codes, Fraction(1, 20), "B")
    assert [(int(s.ticket_hex, 16), s.credit_code) for s in chosen] == expected
    assert [s.credit_code for s in rank_objects(seed, codes, "B")[:150]] == [code for _, code in expected]


@pytest.mark.parametrize("codes", [["9111", ""], ["9111", "91码"]])
def test_tickets_refuse_empty_or_non_ascii_codes(codes: list[str]) -> None:
    with pytest.raises(ValueError, match="credit code must be non-empty ASCII"):
        rank_objects(bytes(32), codes)


@pytest.mark.parametrize("codes", [[""], ["a", ""], ["a\nb"], ["a", "b\n"]])
def test_pack_codes_refuses_empty_codes_and_newlines(codes: list[str]) -> None:
    with pytest.raises(ValueError, match="non-empty and contain no newline"):
        pack_codes(codes)


@pytest.mark.parametrize("codes", [[], ["a"], CODES, ["a", 'q"uote', "码", "back\\slash", "tab\there"]])
def test_pack_codes_round_trip(codes: list[str]) -> None:
    """Plain ASCII codes are written in C, any others line by line: the same text either way."""
    assert unpack_codes(pack_codes(codes)) == codes
    assert unpack_codes(pack_codes(iter(codes))) == codes
    assert unpack_text(pack_codes(codes)) == "\n".join(codes).encode()


@pytest.mark.parametrize("codes", [[], ["a"], CODES])
def test_text_packed_in_pieces_reads_back_as_its_lines(codes: list[str]) -> None:
    pieces = ["\n".join(codes[at : at + 3]).encode() for at in range(0, len(codes), 3)]
    assert unpack_codes(pack_text(pieces)) == codes
    assert unpack_text(pack_text(pieces)) == unpack_text(pack_codes(codes))


@pytest.mark.parametrize("codes", [[], ["a"], CODES])
def test_lists_packed_with_zlib_before_read_back_the_same(codes: list[str]) -> None:
    """Blobs stored before the Zstandard packing are zlib streams: both readers still read them."""
    old = zlib.compress("\n".join(codes).encode("utf-8"), 1)
    assert unpack_codes(old) == list(iter_codes(old)) == codes
    assert pack_codes(codes).startswith(b"\x28\xb5\x2f\xfd")  # a Zstandard frame


@pytest.mark.parametrize("legacy", [False, True])
def test_a_blob_cut_short_is_refused_not_read_as_a_shorter_list(legacy: bool) -> None:
    codes = [f"9133{n:014d}" for n in range(5000)]
    blob = zlib.compress("\n".join(codes).encode(), 1) if legacy else pack_codes(codes)
    for cut in (blob[: len(blob) // 2], blob[:-1]):
        with pytest.raises(ValueError, match="cut short"):
            unpack_codes(cut)
        with pytest.raises(ValueError, match="cut short"):
            list(iter_codes(cut))


def test_cycle_collection_is_paused_and_restored() -> None:
    assert gc.isenabled()
    with cycle_collection_paused():
        assert not gc.isenabled()
        with cycle_collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), cycle_collection_paused():
        raise RuntimeError
    assert gc.isenabled()


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_pack_codes_compresses_piece_by_piece(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    monkeypatch.setattr(stored, "PACK_PIECE", 3)
    listed = [f"code-{i}" for i in range(size)]
    assert unpack_codes(pack_codes(iter(listed))) == listed
    assert unpack_text(pack_codes(listed)) == "\n".join(listed).encode()
    with pytest.raises(ValueError, match="non-empty and contain no newline"):
        pack_codes([*listed, "x", "", "y"])


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 7, 8, 9, 100])
def test_the_packed_root_is_the_root_of_the_leaves(size: int) -> None:
    leaves = [hashlib.sha256(bytes([n])).digest() for n in range(size)]
    assert packed_root(b"".join(leaves)) == root(leaves)
    with pytest.raises(ValueError, match="32-byte"):
        packed_root(b"".join(leaves) + b"\x00")


def test_a_leaf_set_hashes_entries_from_a_generator_and_checks_the_flags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(LeafSet, "STEP", 3)
    made: list[str] = []

    def entries() -> Iterator[EligibleEntry]:
        for code in CODES:
            made.append(code)
            yield EligibleEntry(code, "all", "B")

    leaf_set = LeafSet(entries(), SALT_KEY)
    next(leaf_set.pending)
    assert made == CODES[:3]  # one step at a time
    leaf_set.finish()
    assert made == CODES
    keep = [n % 3 != 0 for n in range(len(CODES))]
    subset = [EligibleEntry(c, "all", "B") for c, kept in zip(CODES, keep, strict=True) if kept]
    assert leaf_set.subset_root(keep) == eligible_root(subset, SALT_KEY)
    with pytest.raises(ValueError, match="flags"):
        leaf_set.subset_root(keep[:-1])


@pytest.mark.parametrize(
    "codes", [["9111", "9111"], ["9222", "9111", "9222"], ["9111", "9333", "9222", "9333"]]
)
def test_tickets_refuse_duplicates_in_order_or_not(codes: list[str]) -> None:
    with pytest.raises(ValueError, match="duplicate credit codes in the eligible set: 9"):
        rank_objects(bytes(32), codes)
    with pytest.raises(ValueError, match="duplicate"):
        select_objects(bytes(32), codes, Fraction(1, 2))


def test_tickets_of_codes_in_any_order_are_the_same() -> None:
    codes = [f"91{n:04d}" for n in range(50)]
    assert rank_objects(bytes(32), codes) == rank_objects(bytes(32), list(reversed(codes)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=32, max_size=32) | st.sampled_from([bytes(32), b"\x00" * 31 + b"\x01"])))
def test_the_set_root_packs_and_sorts_as_sorted_bytes(leaves: list[bytes]) -> None:
    assert set_root(iter(leaves)) == root(sorted(leaves)).hex()
    assert packed_root(memoryview(b"".join(sorted(leaves)))) == root(sorted(leaves))


def test_the_set_root_refuses_leaf_hashes_of_another_length() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        set_root([bytes(32), bytes(31), bytes(33)])


@given(st.lists(st.text(alphabet=st.characters(max_codepoint=0x200), max_size=6), max_size=8))
def test_plain_texts_are_those_the_pattern_matches_one_by_one(texts: list[str]) -> None:
    """The C check (``framed_text.plain``) against its definition: each text printable ASCII without ``"``
    or ``\\``, as canonical JSON writes it unchanged."""
    expected = all(re.fullmatch(r"[ !#-\[\]-~]*", text) for text in texts)
    assert all_plain(texts) is expected
    assert all_plain(iter(texts)) is expected
    assert all(json_string(text) == f'"{text}"' for text in texts) or not expected


def test_plain_refuses_what_is_not_text() -> None:
    with pytest.raises(TypeError, match="text 1 is bytes"):
        all_plain(["a", b"b"])  # type: ignore[list-item]  # refused at run time
