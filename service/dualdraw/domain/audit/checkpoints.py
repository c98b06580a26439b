"""Signed checkpoints of the audit log: Ed25519 over a small text naming the log, its size and its root.

Every checkpoint carries the original signature, over this body (UTF-8, each line ending in a newline)::

    dualdraw/audit/v1
    <tree size, decimal>
    <root hash, 64 lower-case hex digits>

published with the signer's raw public key (hex) and ``key_id`` = the first 16 hex digits of SHA-256(public
key). Checkpoints signed since the note form was added also carry a C2SP signed note
(https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note), which transparency-log tools read::

    dualdraw/audit/v1
    <tree size, decimal>
    <root hash, standard base64>

    — dualdraw/audit/v1 <base64(key ID ‖ Ed25519 signature of the three lines above)>

with key ID = SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key)[:4] and the key name equal to the origin; the
note's verifier key is ``note_verifier_key``. Verifiers pin the public keys they trust. No SQL or gRPC here:
the offline verifier imports this module.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

LOG_ORIGIN = "dualdraw/audit/v1"
# Builds between the package's move into layers and this fix signed this body; those signatures still verify.
NOTE_ORIGIN = LOG_ORIGIN
NOTE_ED25519 = 0x01  # the signed-note signature type of Ed25519
NOTE_DASH = "\u2014"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX128 = re.compile(r"[0-9a-f]{128}")
log = logging.getLogger(__name__)


def checkpoint_body(tree_size: int, root_hex: str, origin: str = LOG_ORIGIN) -> bytes:
    return f"{origin}\n{tree_size}\n{root_hex}\n".encode("ascii")


def note_text(tree_size: int, root_hex: str, origin: str = NOTE_ORIGIN) -> str:
    """The tlog-checkpoint note text: origin, tree size, base64 root hash, each ending in a newline."""
    return f"{origin}\n{tree_size}\n{base64.b64encode(bytes.fromhex(root_hex)).decode('ascii')}\n"


def note_key_id(key_name: str, public_key_hex: str) -> bytes:
    """The signed-note key ID of an Ed25519 key: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]."""
    material = key_name.encode() + b"\n" + bytes([NOTE_ED25519]) + bytes.fromhex(public_key_hex)
    return hashlib.sha256(material).digest()[:4]


def note_verifier_key(public_key_hex: str, key_name: str = NOTE_ORIGIN) -> str:
    """The signed-note verifier key: ``name+hex(key ID)+base64(0x01 ‖ public key)``."""
    key = bytes([NOTE_ED25519]) + bytes.fromhex(public_key_hex)
    return f"{key_name}+{note_key_id(key_name, public_key_hex).hex()}+{base64.b64encode(key).decode('ascii')}"


def note_problem(note: str, tree_size: int, root_hex: str, public_key_hex: str) -> str | None:
    """Why ``note`` is not this checkpoint signed by this key as a C2SP note, or ``None`` when it is."""
    text, separator, signatures = note.rpartition("\n\n")
    text += "\n"
    if not separator or text != note_text(tree_size, root_hex):
        return f"checkpoint {tree_size}: the note's text is not this checkpoint"
    key_id = note_key_id(NOTE_ORIGIN, public_key_hex)
    try:
        public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
    except ValueError:
        return f"checkpoint {tree_size}: the public key is not an Ed25519 key"
    for line in signatures.removesuffix("\n").split("\n"):
        dash, _, rest = line.partition(" ")
        name, _, encoded = rest.partition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            return f"checkpoint {tree_size}: a note signature line is not base64"
        if dash != NOTE_DASH or name != NOTE_ORIGIN or raw[:4] != key_id:
            continue  # another key's signature (a witness, say): not ours to judge
        try:
            public_key.verify(raw[4:], text.encode())
        except InvalidSignature:
            return f"checkpoint {tree_size}: the note's Ed25519 signature does not verify"
        return None
    return f"checkpoint {tree_size}: the note carries no signature of key {key_id.hex()}"


def key_id(public_key_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(public_key_hex)).hexdigest()[:16]


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: the log had ``tree_size`` entries with Merkle root ``root_hash`` (hex)."""

    tree_size: int
    root_hash: str
    public_key: str
    signature: str
    note: str = ""  # the C2SP signed note; empty for checkpoints signed before the note form

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
            key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.public_key))
        except ValueError:
            return f"checkpoint {self.tree_size}: the public key is not an Ed25519 key"
        try:
            key.verify(
                bytes.fromhex(self.signature), checkpoint_body(self.tree_size, self.root_hash, LOG_ORIGIN)
            )
        except InvalidSignature:
            return f"checkpoint {self.tree_size}: the Ed25519 signature does not verify"
        if self.note:
            return note_problem(self.note, self.tree_size, self.root_hash, self.public_key)
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

    @property
    def note_verifier_key(self) -> str:
        return note_verifier_key(self.public_key)

    def sign(self, tree_size: int, root_hex: str) -> Checkpoint:
        """The checkpoint signed both ways: over the original body, and as a C2SP signed note."""
        signature = self._key.sign(checkpoint_body(tree_size, root_hex)).hex()
        text = note_text(tree_size, root_hex)
        note_signature = note_key_id(NOTE_ORIGIN, self.public_key) + self._key.sign(text.encode())
        line = f"{NOTE_DASH} {NOTE_ORIGIN} {base64.b64encode(note_signature).decode('ascii')}\n"
        return Checkpoint(tree_size, root_hex, self.public_key, signature, f"{text}\n{line}")

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
