"""Signed checkpoints of the audit log: Ed25519 over a small text naming the log, its size and its root.

The signed body (UTF-8, each line ending in a newline)::

    dualdraw/domain/audit/v1
    <tree size, decimal>
    <root hash, 64 lower-case hex digits>

A checkpoint is published with the signer's raw public key (hex) and ``key_id`` = the first 16 hex digits of
SHA-256(public key). Verifiers pin the public keys they trust. No SQL or gRPC here: the offline verifier
imports this module.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

LOG_ORIGIN = "dualdraw/domain/audit/v1"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX128 = re.compile(r"[0-9a-f]{128}")
log = logging.getLogger(__name__)


def checkpoint_body(tree_size: int, root_hex: str) -> bytes:
    return f"{LOG_ORIGIN}\n{tree_size}\n{root_hex}\n".encode("ascii")


def key_id(public_key_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(public_key_hex)).hexdigest()[:16]


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: the log had ``tree_size`` entries with Merkle root ``root_hash`` (hex)."""

    tree_size: int
    root_hash: str
    public_key: str
    signature: str

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def problem(self) -> str | None:
        """Why the signature does not hold, or ``None`` when it does (the key is not judged here)."""
        if self.tree_size < 1:
            return f"checkpoint size {self.tree_size} is not positive"
        if not _HEX64.fullmatch(self.root_hash) or not _HEX64.fullmatch(self.public_key):
            return f"checkpoint {self.tree_size}: root or public key is not 64 lower-case hex digits"
        if not _HEX128.fullmatch(self.signature):
            return f"checkpoint {self.tree_size}: signature is not 128 lower-case hex digits"
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.public_key)).verify(
                bytes.fromhex(self.signature), checkpoint_body(self.tree_size, self.root_hash)
            )
        except (InvalidSignature, ValueError):
            return f"checkpoint {self.tree_size}: the Ed25519 signature does not verify"
        return None


class CheckpointSigner:
    """Signs checkpoints with one Ed25519 private key."""

    def __init__(self, private_key: Ed25519PrivateKey, *, development: bool = False) -> None:
        self._key = private_key
        self.development = development
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public_key = raw.hex()

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, tree_size: int, root_hex: str) -> Checkpoint:
        signature = self._key.sign(checkpoint_body(tree_size, root_hex)).hex()
        return Checkpoint(tree_size, root_hex, self.public_key, signature)

    @classmethod
    def from_file(cls, path: Path, *, development: bool = False) -> CheckpointSigner:
        """A signer from a PEM (PKCS#8) Ed25519 private key file without password."""
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return cls(key, development=development)

    @classmethod
    def generate(cls) -> CheckpointSigner:
        return cls(Ed25519PrivateKey.generate())

    def __reduce__(self) -> tuple[object, ...]:
        """Pickles as the raw private key, so the draw process (a child on the same machine, reached over a
        pipe) signs with the very key of its parent, the development key included."""
        raw = self._key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return (_signer_from_raw, (raw, self.development))


def _signer_from_raw(raw: bytes, development: bool) -> CheckpointSigner:
    return CheckpointSigner(Ed25519PrivateKey.from_private_bytes(raw), development=development)


def write_private_key(path: Path, key: Ed25519PrivateKey | None = None) -> str:
    """Writes a new (or the given) Ed25519 key as PKCS#8 PEM, mode 0600; returns its public key hex."""
    key = key or Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.touch(mode=0o600, exist_ok=False)
    path.write_bytes(pem)
    return CheckpointSigner(key).public_key


_dev_signer: CheckpointSigner | None = None


def development_signer() -> CheckpointSigner:
    """One throw-away key per process, for when no key is configured; says so loudly the first time."""
    global _dev_signer
    if _dev_signer is None:
        _dev_signer = CheckpointSigner(Ed25519PrivateKey.generate(), development=True)
        log.warning(
            "NO AUDIT SIGNING KEY CONFIGURED (DUALDRAW_AUDIT_KEY_FILE): signing audit checkpoints with a "
            "throw-away development key %s that dies with this process. Checkpoints signed now cannot be "
            "verified against a pinned key later. Never run production like this.",
            _dev_signer.key_id,
        )
    return _dev_signer
