"""The draw's seed, ratios and set digests (shared by ``dualdraw-draw/1`` and ``/2``).

Everything here is defined at the byte level in ``docs/DRAW-ALGORITHM.md`` so that a third party can
recompute a draw: SHA-256 and integer arithmetic only; no language RNG, no floating point, and no dependence
on the order in which the eligible objects are given.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from fractions import Fraction
from itertools import islice
from operator import lt

from dualdraw.domain import sha256_batch

SEED_TAG = b"dualdraw/seed/v1"
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


def is_decimal_text(text: str) -> bool:
    """True when ``text`` is written as ``parse_ratio`` reads a ratio (its value may be out of range)."""
    return _RATIO.fullmatch(text) is not None


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


_PIECE = 65_536
"""Keys joined and hashed at a time by ``set_digest``."""


def set_digest(items: Iterable[str]) -> str:
    """Hex SHA-256 of a set of keys: the distinct non-empty keys sorted by their UTF-8 bytes, each UTF-8
    encoded, joined by a single 0x0A (no trailing newline). The empty set hashes the empty string.

    Raises ``ValueError`` on duplicates, empty keys or keys containing a newline.
    """
    keys = items if isinstance(items, list) else list(items)
    given_sorted = sha256_batch.ascending_digest(keys)  # a draw's eligible codes: one C pass
    if given_sorted is not None:
        return given_sorted.hex()
    if keys and keys[0] and all(map(lt, keys, islice(keys, 1, None))):
        # Given sorted (as a draw's eligible codes are): strictly ascending code points are distinct and
        # in UTF-8 byte order, the first is the shortest; no second sort needed. Hashed a piece at a time:
        # a 10M draw's eligible codes joined are 175 MB of text, and as many again encoded.
        digest = hashlib.sha256()
        for start in range(0, len(keys), _PIECE):
            piece = keys[start : start + _PIECE]
            joined = "\n".join(piece)
            if joined.count("\n") != len(piece) - 1:
                break  # a key holds a newline: refused below
            digest.update(("\n" + joined if start else joined).encode("utf-8"))
        else:
            return digest.hexdigest()
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
