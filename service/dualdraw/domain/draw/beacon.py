"""Public randomness beacons a draw may name (docs/DRAW-ALGORITHM.md §3.2), and the check of their values.

A beacon value is accepted only when it is the beacon's own signature of the round: for drand quicknet
(scheme ``bls-unchained-g1-rfc9380``) a BLS12-381 signature on G1 of ``SHA256(round as 8-byte big-endian)``,
hashed to G1 by RFC 9380 with ``DST``, verified against the chain's group public key on G2 pinned here.
The beacon's randomness is ``SHA256(signature)``. A round is produced at
``genesis + period × (round − 1)`` (Unix seconds); a draw may only name a round produced after its commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

DST = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"


class BeaconProblem(ValueError):
    """A beacon value or round that does not stand; ``reason`` is a stable code."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class BeaconChain:
    """A drand chain's public constants (its ``/info`` document)."""

    name: str
    chain_hash: str
    public_key: str  # hex, compressed G2 point (96 bytes)
    genesis_time: int  # Unix seconds of round 1
    period_s: int
    scheme: str

    def round_time(self, round_: int) -> dt.datetime:
        """When ``round_`` is produced (its value unknown to anyone before)."""
        return dt.datetime.fromtimestamp(self.genesis_time + self.period_s * (round_ - 1), dt.UTC)

    def first_round_after(self, moment: dt.datetime) -> int:
        """The first round produced strictly after ``moment``."""
        elapsed = moment.timestamp() - self.genesis_time
        if elapsed < 0:
            return 1
        return int(elapsed // self.period_s) + 2


# The League of Entropy mainnet quicknet chain, as published at launch (23 August 2023) and served by every
# drand relay at /52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971/info.
DRAND_QUICKNET = BeaconChain(
    name="drand-quicknet",
    chain_hash="52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
    public_key=(
        "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d"
        "1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a"
    ),
    genesis_time=1692803367,
    period_s=3,
    scheme="bls-unchained-g1-rfc9380",
)
CHAINS = {DRAND_QUICKNET.name: DRAND_QUICKNET}


def chain(name: str) -> BeaconChain:
    """The pinned chain called ``name``; raises ``BeaconProblem`` (``UNKNOWN_BEACON``)."""
    found = CHAINS.get(name)
    if found is None:
        raise BeaconProblem(
            f"unknown beacon {name!r}: known beacons are {', '.join(sorted(CHAINS))}", "UNKNOWN_BEACON"
        )
    return found


def round_message(round_: int) -> bytes:
    """What the chain signs for ``round_`` (unchained): SHA256 of the round as 8-byte big-endian."""
    return hashlib.sha256(round_.to_bytes(8, "big")).digest()


def verify_round(beacon: BeaconChain, round_: int, signature: bytes) -> bytes:
    """The randomness ``SHA256(signature)`` of ``round_`` once ``signature`` verifies against the pinned key.

    Raises ``BeaconProblem`` (``BEACON_SIGNATURE_INVALID``) for anything but the chain's signature of that
    round: a malformed point, a point off the curve or outside the subgroup, another round's signature."""
    # py_ecc is imported here: pure Python, ~0.3 s to import and ~0.7 s per verification.
    from py_ecc.bls.hash_to_curve import hash_to_G1
    from py_ecc.bls.point_compression import decompress_G1, decompress_G2
    from py_ecc.bls.typing import G1Compressed, G2Compressed
    from py_ecc.fields import optimized_bls12_381_FQ12 as FQ12
    from py_ecc.optimized_bls12_381.optimized_curve import (
        G2,
        curve_order,
        is_inf,
        multiply,
        neg,
    )
    from py_ecc.optimized_bls12_381.optimized_pairing import (
        final_exponentiate,
        miller_loop,
    )

    def invalid(why: str) -> BeaconProblem:
        return BeaconProblem(
            f"beacon {beacon.name} round {round_}: {why}; the value must be the beacon's signature of that "
            f"round (hex, {beacon.scheme})",
            "BEACON_SIGNATURE_INVALID",
        )

    if beacon.scheme != "bls-unchained-g1-rfc9380":
        raise invalid(f"scheme {beacon.scheme} is not supported")
    if len(signature) != 48:
        raise invalid(f"a signature is 48 bytes, got {len(signature)}")
    key = bytes.fromhex(beacon.public_key)
    try:
        point = decompress_G1(G1Compressed(int.from_bytes(signature, "big")))
        public = decompress_G2(
            G2Compressed((int.from_bytes(key[:48], "big"), int.from_bytes(key[48:], "big")))
        )
    except (ValueError, AssertionError) as exc:
        raise invalid(f"not a point: {exc}") from None
    if is_inf(point) or not is_inf(multiply(point, curve_order)):
        raise invalid("not a point of the prime-order subgroup")
    # py_ecc types the hash argument as a hash object; it calls it as the constructor hashlib.sha256 is
    hashed = hash_to_G1(round_message(round_), DST, hashlib.sha256)  # type: ignore[arg-type]  # see above
    # e(signature, g2) == e(H(m), public key)  ⇔  e(signature, g2) · e(H(m), −public key) == 1
    product = miller_loop(G2, point) * miller_loop(neg(public), hashed)
    if final_exponentiate(product) != FQ12.one():
        raise invalid("the signature does not verify against the chain's public key")
    return hashlib.sha256(signature).digest()
