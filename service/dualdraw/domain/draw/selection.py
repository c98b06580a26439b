"""Ticket-ordered selection (docs/DRAW-ALGORITHM.md §4, §5): object tickets, ratios → counts, the objects
with the lowest tickets, and the same per stratum (``dualdraw-draw/2``).

SHA-256 (hashed in C, ``sha256_batch``) and integer arithmetic only; the result does not depend on the
order the eligible objects come in.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from dualdraw.domain import sha256_batch
from dualdraw.domain.draw.ascending import strictly_ascending
from dualdraw.domain.draw.strata import DEFAULT_STRATUM, StrataPartition


def selection_size(ratio: Fraction, eligible: int) -> int:
    """How many of ``eligible`` objects a draw at ``ratio`` selects: ⌈ratio × eligible⌉, computed exactly.

    Raises ``ValueError`` when ``ratio`` is outside (0, 1] or ``eligible`` is negative.
    """
    if not 0 < ratio <= 1:
        raise ValueError(f"ratio must be greater than 0 and at most 1, got {ratio}")
    if eligible < 0:
        raise ValueError(f"eligible count must not be negative, got {eligible}")
    return -((-ratio.numerator * eligible) // ratio.denominator)


def _check_seed(seed: bytes) -> None:
    if len(seed) != 32:
        raise ValueError(f"seed must be 32 bytes, got {len(seed)}")


def _stratum_bytes(stratum: str) -> bytes:
    if not stratum or "\x00" in stratum:
        raise ValueError(f"stratum must be non-empty text without NUL, got {stratum!r}")
    return stratum.encode("utf-8")


def _code_bytes(credit_code: str) -> bytes:
    if not credit_code or not credit_code.isascii():
        raise ValueError(f"credit code must be non-empty ASCII, got {credit_code!r}")
    return credit_code.encode("ascii")


def object_ticket(seed: bytes, stratum: str, credit_code: str) -> int:
    """An object's ticket: SHA-256(seed ‖ ``b"obj"`` ‖ 0x00 ‖ stratum UTF-8 ‖ 0x00 ‖ credit code ASCII)
    read as a 256-bit big-endian unsigned integer. Lower tickets are drawn first."""
    _check_seed(seed)
    digest = hashlib.sha256(seed + b"obj\x00" + _stratum_bytes(stratum) + b"\x00" + _code_bytes(credit_code))
    return int.from_bytes(digest.digest(), "big")


def ticket_hex(ticket: int) -> str:
    """A ticket as the 64 lower-case hex digits of its SHA-256 digest."""
    return f"{ticket:064x}"


@dataclass(frozen=True)
class Selected:
    """One drawn object with its ticket (64 lower-case hex digits) and stratum."""

    credit_code: str
    ticket_hex: str
    stratum: str


def _ticket_digests(
    seed: bytes, eligible_codes: Iterable[str], stratum: str, *, distinct: bool = False
) -> tuple[list[str], bytes]:
    """The codes as a list and their ticket digests laid end to end (hashed in C, ``sha256_batch``).

    Raises ``ValueError`` on a duplicate, empty or non-ASCII code. A draw's codes come ascending, which
    rules out duplicates without a set of them (a stratum of millions at 10M objects); only codes out of
    order are checked by a set. ``distinct``: the caller knows no code repeats (a stratum of a
    ``StrataPartition``), so that is not checked again."""
    _check_seed(seed)
    prefix = seed + b"obj\x00" + _stratum_bytes(stratum) + b"\x00"
    texts = eligible_codes if isinstance(eligible_codes, list) else list(eligible_codes)
    if not distinct and not strictly_ascending(texts) and len(set(texts)) != len(texts):
        dupes = sorted(c for c, n in Counter(texts).items() if n > 1)
        raise ValueError(f"duplicate credit codes in the eligible set: {', '.join(dupes[:5])}")
    if not all(texts):  # an empty code: hashed it would be a ticket of the prefix alone
        for text in texts:
            _code_bytes(text)  # raises, naming it
    try:
        return texts, sha256_batch.prefixed_digests(prefix, texts)  # refuses a code beyond ASCII
    except ValueError:
        for text in texts:
            _code_bytes(text)  # raises, naming the code
        raise


def _ticket_keys(seed: bytes, eligible_codes: Iterable[str], stratum: str) -> list[bytes]:
    """``ticket digest ‖ ASCII(code)`` per code: as bytes these sort exactly like ``(ticket, code)``."""
    texts, digests = _ticket_digests(seed, eligible_codes, stratum)
    return [digests[32 * at : 32 * at + 32] + code.encode("ascii") for at, code in enumerate(texts)]


def _selected(key: bytes, stratum: str) -> Selected:
    return Selected(key[32:].decode("ascii"), key[:32].hex(), stratum)


def rank_objects(
    seed: bytes, eligible_codes: Iterable[str], stratum: str = DEFAULT_STRATUM
) -> list[Selected]:
    """Every eligible object in draw order: ascending ticket, then credit code (a tie needs a SHA-256
    collision). The order does not depend on the input order. Raises ``ValueError`` on duplicate codes."""
    return [_selected(key, stratum) for key in sorted(_ticket_keys(seed, eligible_codes, stratum))]


def select_objects(
    seed: bytes,
    eligible_codes: Iterable[str],
    ratio: Fraction,
    stratum: str = DEFAULT_STRATUM,
    *,
    distinct: bool = False,
) -> list[Selected]:
    """The ``selection_size(ratio, n)`` eligible objects with the lowest tickets, lowest first; the first
    objects of ``rank_objects``. Raises ``ValueError`` on duplicate codes (unchecked when the caller knows
    them ``distinct``) or a ratio outside (0, 1]."""
    texts, digests = _ticket_digests(seed, eligible_codes, stratum, distinct=distinct)
    count = selection_size(ratio, len(texts))
    return [_selected(key, stratum) for key in lowest_tickets(digests, texts, count)]


def lowest_tickets(digests: bytes, codes: Sequence[str], count: int) -> list[bytes]:
    """``lowest(keys, count)`` of the keys ``digest ‖ ASCII(code)`` of ``codes`` and their ticket
    ``digests`` (laid end to end): only the keys of the digests whose first 8 bytes fall below ``lowest``'s
    bound are made, the comparison done by numpy; all of them when fewer than ``count`` do."""
    n = len(codes)
    if len(digests) != 32 * n:
        raise ValueError(f"{len(digests)} bytes of digests for {n} codes")
    if not n or count <= 0:
        return []
    bound = _candidate_bound(count, n)
    if bound < 2**64:
        firsts = np.frombuffer(digests, dtype=">u8")[::4]  # each digest's first 8 bytes, big-endian
        below = np.flatnonzero(firsts < np.uint64(bound)).tolist()
        if len(below) >= count:
            keys = [digests[32 * at : 32 * at + 32] + codes[at].encode("ascii") for at in below]
            keys.sort()
            return keys[:count]
    keys = [digests[32 * at : 32 * at + 32] + code.encode("ascii") for at, code in enumerate(codes)]
    return heapq.nsmallest(count, keys)


def lowest(keys: list[bytes], count: int) -> list[bytes]:
    """The ``count`` smallest of ``keys`` in ascending order: ``heapq.nsmallest(count, keys)``.

    Keys start with a SHA-256 digest, so about ``count / len(keys)`` of them fall below the same fraction
    of the 64-bit prefix range: the keys below twice that bound (plus slack) are sorted alone, one C-level
    comparison per key instead of a heap over all of them. When fewer than ``count`` keys fall below the
    bound, the heap is used; either way the result is exact.
    """
    if not keys or count <= 0:
        return []
    bound = _candidate_bound(count, len(keys))
    if bound < 2**64:
        below = bound.to_bytes(8, "big")  # a key sorts below these 8 bytes iff its first 8 bytes do
        candidates = [key for key in keys if key < below]
        if len(candidates) >= count:
            candidates.sort()
            return candidates[:count]
    return heapq.nsmallest(count, keys)


def _candidate_bound(count: int, n: int) -> int:
    """The 64-bit prefix below which about twice ``count`` of ``n`` uniform digests fall (plus slack)."""
    return (2 * count + 64) * 2**64 // n


def select_stratified(
    seed: bytes, strata: Mapping[str, tuple[Iterable[str], Fraction]], *, disjoint: bool = False
) -> list[Selected]:
    """``select_objects`` in each stratum (e.g. per risk class, each with its own ratio), strata in ascending
    order of their UTF-8 names. Raises ``ValueError`` when a code appears in two strata, unless the caller
    knows none does (``disjoint``: the strata partition one list of distinct codes)."""
    names = sorted(strata, key=lambda s: s.encode("utf-8"))
    listed = {name: list(strata[name][0]) for name in names}
    checked = disjoint or len(listed) < 2
    if not checked and len(set().union(*listed.values())) != sum(map(len, listed.values())):
        counts = Counter(code for codes in listed.values() for code in set(codes))
        overlap = sorted(code for code, n in counts.items() if n > 1)
        if overlap:
            raise ValueError(f"credit codes in more than one stratum: {', '.join(overlap[:5])}")
    result: list[Selected] = []
    for name in names:
        result.extend(select_objects(seed, listed.pop(name), strata[name][1], name, distinct=disjoint))
    return result


def select_by_strata(
    seed: bytes, codes_by_stratum: Mapping[str, Sequence[str]], ratios: Mapping[str, Fraction]
) -> list[Selected]:
    """``select_stratified`` over the strata of ``ratios`` (a draw's manifest), each with its eligible codes.
    Raises ``ValueError`` for codes in a stratum ``ratios`` does not name."""
    unknown = sorted(set(codes_by_stratum) - set(ratios))
    if unknown:
        raise ValueError(f"eligible objects in strata the manifest does not list: {', '.join(unknown[:5])}")
    return select_stratified(
        seed,
        {name: (codes_by_stratum.get(name, ()), r) for name, r in ratios.items()},
        disjoint=isinstance(codes_by_stratum, StrataPartition),
    )
