"""The draw algorithm ``dualdraw-draw/1``: seed, object tickets, selection size and set digests.

Everything here is defined at the byte level in ``docs/DRAW-ALGORITHM.md`` so that a third party can
recompute a draw: SHA-256 and integer arithmetic only; no language RNG, no floating point, and no dependence
on the order in which the eligible objects are given.
"""

from __future__ import annotations

import hashlib
import heapq
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from itertools import islice
from operator import lt

ALGORITHM_VERSION = "dualdraw-draw/1"
SEED_TAG = b"dualdraw/seed/v1"
DEFAULT_STRATUM = "all"
MAX_RATIO_DECIMALS = 6

_RATIO = re.compile(r"[0-9]+(?:\.[0-9]{1,%d})?" % MAX_RATIO_DECIMALS)  # noqa: UP031 - a regex, not text
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def parse_ratio(text: str) -> Fraction:
    """The exact ratio a decimal string denotes: ``"0.1"`` → 1/10. Must be 0 < r ≤ 1 with at most 6 decimals.

    Only ASCII digits and one optional point; no sign, exponent or spaces. Raises ``ValueError`` saying why.
    """
    if not _RATIO.fullmatch(text):
        raise ValueError(
            f"ratio must be a decimal number such as 0.05 with at most {MAX_RATIO_DECIMALS} decimals, "
            f"got {text!r}"
        )
    ratio = Fraction(text)
    if not 0 < ratio <= 1:
        raise ValueError(f"ratio must be greater than 0 and at most 1, got {text}")
    return ratio


def format_ratio(ratio: Fraction) -> str:
    """The shortest decimal that ``parse_ratio`` maps back to ``ratio``: 1/10 → ``"0.1"``, 1 → ``"1"``.

    Raises ``ValueError`` when ``ratio`` is outside (0, 1] or needs more than 6 decimals.
    """
    if not 0 < ratio <= 1:
        raise ValueError(f"ratio must be greater than 0 and at most 1, got {ratio}")
    scaled = ratio * 10**MAX_RATIO_DECIMALS
    if scaled.denominator != 1:
        raise ValueError(f"ratio {ratio} needs more than {MAX_RATIO_DECIMALS} decimals")
    whole, part = divmod(scaled.numerator, 10**MAX_RATIO_DECIMALS)
    decimals = f"{part:0{MAX_RATIO_DECIMALS}d}".rstrip("0")
    return f"{whole}.{decimals}" if decimals else str(whole)


def selection_size(ratio: Fraction, eligible: int) -> int:
    """How many of ``eligible`` objects a draw at ``ratio`` selects: ⌈ratio × eligible⌉, computed exactly.

    Raises ``ValueError`` when ``ratio`` is outside (0, 1] or ``eligible`` is negative.
    """
    if not 0 < ratio <= 1:
        raise ValueError(f"ratio must be greater than 0 and at most 1, got {ratio}")
    if eligible < 0:
        raise ValueError(f"eligible count must not be negative, got {eligible}")
    return -((-ratio.numerator * eligible) // ratio.denominator)


def derive_seed(manifest_hash_hex: str, entropy: bytes) -> bytes:
    """The 32-byte draw seed: SHA-256(``b"dualdraw/seed/v1"`` ‖ 0x00 ‖ manifest hash bytes ‖ entropy).

    ``manifest_hash_hex`` is the 64-hex-digit SHA-256 of the canonical manifest; ``entropy`` the non-empty
    bytes revealed after the manifest was recorded. Raises ``ValueError`` otherwise.
    """
    if not _HEX64.fullmatch(manifest_hash_hex):
        raise ValueError(f"manifest hash must be 64 hexadecimal digits, got {manifest_hash_hex!r}")
    if not entropy:
        raise ValueError("entropy must not be empty: the seed must depend on something unknown in advance")
    return hashlib.sha256(SEED_TAG + b"\x00" + bytes.fromhex(manifest_hash_hex) + entropy).digest()


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


def _ticket_keys(seed: bytes, eligible_codes: Iterable[str], stratum: str) -> list[bytes]:
    """``ticket digest ‖ ASCII(code)`` per code: as bytes these sort exactly like ``(ticket, code)``."""
    _check_seed(seed)
    prefix = seed + b"obj\x00" + _stratum_bytes(stratum) + b"\x00"
    texts = list(eligible_codes)
    try:
        codes = [code.encode("ascii") for code in texts]
    except UnicodeEncodeError:
        codes = []
    if len(codes) != len(texts) or b"" in codes:
        codes = [_code_bytes(code) for code in texts]  # raises, saying which code is wrong
    if len(set(codes)) != len(codes):
        dupes = sorted(c.decode("ascii") for c, n in Counter(codes).items() if n > 1)
        raise ValueError(f"duplicate credit codes in the eligible set: {', '.join(dupes[:5])}")
    sha256 = hashlib.sha256
    return [sha256(prefix + code).digest() + code for code in codes]


def _selected(key: bytes, stratum: str) -> Selected:
    return Selected(key[32:].decode("ascii"), key[:32].hex(), stratum)


def rank_objects(
    seed: bytes, eligible_codes: Iterable[str], stratum: str = DEFAULT_STRATUM
) -> list[Selected]:
    """Every eligible object in draw order: ascending ticket, then credit code (a tie needs a SHA-256
    collision). The order does not depend on the input order. Raises ``ValueError`` on duplicate codes."""
    return [_selected(key, stratum) for key in sorted(_ticket_keys(seed, eligible_codes, stratum))]


def select_objects(
    seed: bytes, eligible_codes: Iterable[str], ratio: Fraction, stratum: str = DEFAULT_STRATUM
) -> list[Selected]:
    """The ``selection_size(ratio, n)`` eligible objects with the lowest tickets, lowest first; the first
    objects of ``rank_objects``. Raises ``ValueError`` on duplicate codes or a ratio outside (0, 1]."""
    keys = _ticket_keys(seed, eligible_codes, stratum)
    return [_selected(key, stratum) for key in lowest(keys, selection_size(ratio, len(keys)))]


def lowest(keys: list[bytes], count: int) -> list[bytes]:
    """The ``count`` smallest of ``keys`` in ascending order: ``heapq.nsmallest(count, keys)``.

    Keys start with a SHA-256 digest, so about ``count / len(keys)`` of them fall below the same fraction
    of the 64-bit prefix range: the keys below twice that bound (plus slack) are sorted alone, one C-level
    comparison per key instead of a heap over all of them. When fewer than ``count`` keys fall below the
    bound, the heap is used; either way the result is exact.
    """
    if not keys or count <= 0:
        return []
    bound = (2 * count + 64) * 2**64 // len(keys)
    if bound < 2**64:
        below = bound.to_bytes(8, "big")  # a key sorts below these 8 bytes iff its first 8 bytes do
        candidates = [key for key in keys if key < below]
        if len(candidates) >= count:
            candidates.sort()
            return candidates[:count]
    return heapq.nsmallest(count, keys)


def select_stratified(seed: bytes, strata: Mapping[str, tuple[Iterable[str], Fraction]]) -> list[Selected]:
    """``select_objects`` in each stratum (e.g. per risk class, each with its own ratio), strata in ascending
    order of their UTF-8 names. Raises ``ValueError`` when a code appears in two strata."""
    seen: set[str] = set()
    result: list[Selected] = []
    for stratum in sorted(strata, key=lambda s: s.encode("utf-8")):
        codes, ratio = strata[stratum]
        codes = list(codes)
        overlap = seen.intersection(codes)
        if overlap:
            raise ValueError(f"credit codes in more than one stratum: {', '.join(sorted(overlap)[:5])}")
        seen.update(codes)
        result.extend(select_objects(seed, codes, ratio, stratum))
    return result


def set_digest(items: Iterable[str]) -> str:
    """Hex SHA-256 of a set of keys: the distinct non-empty keys sorted by their UTF-8 bytes, each UTF-8
    encoded, joined by a single 0x0A (no trailing newline). The empty set hashes the empty string.

    Raises ``ValueError`` on duplicates, empty keys or keys containing a newline.
    """
    keys = list(items)
    joined = "\n".join(keys)
    if keys and keys[0] and joined.count("\n") == len(keys) - 1 and all(map(lt, keys, islice(keys, 1, None))):
        # Given sorted (as a draw's eligible codes are): strictly ascending code points are distinct and
        # in UTF-8 byte order, the first is the shortest, no key holds a newline; no second sort needed.
        return hashlib.sha256(joined.encode("utf-8")).hexdigest()
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate keys in a set digest")
    for key in keys:
        if not key or "\n" in key:
            raise ValueError(f"set digest keys must be non-empty and free of newlines, got {key!r}")
    encoded = sorted(k.encode("utf-8") for k in keys)
    return hashlib.sha256(b"\n".join(encoded)).hexdigest()


def eligible_digest(credit_codes: Iterable[str]) -> str:
    """``set_digest`` of the eligible credit codes: identifies the eligible set in the manifest."""
    return set_digest(credit_codes)
