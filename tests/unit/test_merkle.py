"""RFC 6962 / 9162 Merkle hashing, proofs, and the signed checkpoints of the audit log."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from dualdraw.domain.audit.checkpoints import Checkpoint, CheckpointSigner
from dualdraw.domain.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.draw.commitments import EligibleEntry, object_leaf_data


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 read literally: split at the largest power of two smaller than n."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


LEAVES = [leaf_hash(f"event {i}".encode()) for i in range(37)]


def test_hashing_matches_rfc_6962_known_values() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()


@pytest.mark.parametrize("n", range(0, 38))
def test_root_and_frontier_agree_with_the_recursive_definition(n: int) -> None:
    frontier = Frontier()
    for leaf in LEAVES[:n]:
        frontier.append(leaf)
    assert root(LEAVES[:n]) == frontier.root() == mth(LEAVES[:n])
    restored = Frontier(frontier.size, frontier.hashes)
    assert restored.root() == frontier.root()


def test_inclusion_proofs_verify_and_reject_any_other_leaf_or_position() -> None:
    for n in (1, 2, 3, 7, 8, 13, 37):
        tree = mth(LEAVES[:n])
        for i in range(n):
            proof = inclusion_proof(i, LEAVES[:n])
            assert verify_inclusion(i, n, LEAVES[i], proof, tree)
            assert not verify_inclusion(i, n, leaf_hash(b"forged"), proof, tree)
            if n > 1:
                assert not verify_inclusion((i + 1) % n, n, LEAVES[i], proof, tree)


def test_consistency_proofs_verify_only_for_true_prefixes() -> None:
    for n in (2, 5, 8, 13, 37):
        for m in range(1, n + 1):
            proof = consistency_proof(m, LEAVES[:n])
            assert verify_consistency(m, n, mth(LEAVES[:m]), mth(LEAVES[:n]), proof)
            rewritten = [*LEAVES[: m - 1], leaf_hash(b"rewritten history")]
            if m < n:
                assert not verify_consistency(m, n, mth(rewritten), mth(LEAVES[:n]), proof)


def test_a_checkpoint_signature_holds_only_for_its_own_size_root_and_key() -> None:
    signer = CheckpointSigner(Ed25519PrivateKey.generate())
    cp = signer.sign(5, root(LEAVES[:5]).hex())
    assert cp.problem() is None
    assert Checkpoint(6, cp.root_hash, cp.public_key, cp.signature).problem() is not None
    assert Checkpoint(5, root(LEAVES[:4]).hex(), cp.public_key, cp.signature).problem() is not None
    other = CheckpointSigner(Ed25519PrivateKey.generate())
    assert Checkpoint(5, cp.root_hash, other.public_key, cp.signature).problem() is not None
    flipped = ("0" if cp.signature[0] != "0" else "1") + cp.signature[1:]
    assert Checkpoint(5, cp.root_hash, cp.public_key, flipped).problem() is not None


@given(
    code=st.text(max_size=20),
    risk_class=st.text(max_size=3),
    salt=st.text(alphabet="0123456789abcdef", max_size=64),
    stratum=st.text(max_size=10),
)
def test_object_leaf_data_equals_canonical_json_for_any_strings(
    code: str, risk_class: str, salt: str, stratum: str
) -> None:
    expected_input = {"code": code, "risk_class": risk_class, "salt": salt, "stratum": stratum}
    try:
        expected = canonical_json(expected_input)
    except ValueError:  # lone surrogates: canonical JSON refuses them, and so must the fast path
        with pytest.raises(ValueError, match="lone surrogate"):
            object_leaf_data(EligibleEntry(code, stratum, risk_class), salt)
        return
    assert object_leaf_data(EligibleEntry(code, stratum, risk_class), salt) == expected
    assert object_leaf_data(EligibleEntry("91130273MA0NEW123C", "A", "A"), "ab") == canonical_json(
        {"code": "91130273MA0NEW123C", "risk_class": "A", "salt": "ab", "stratum": "A"}
    )
