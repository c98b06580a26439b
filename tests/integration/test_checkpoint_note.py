"""Audit checkpoints as C2SP signed notes (c2sp.org/tlog-checkpoint, c2sp.org/signed-note), on SQLite and
PostgreSQL: the notes verify with a parser written here from the two specifications (no Python package
implementing them runs on Python 3.11), which itself is checked on the signed-note specification's example;
checkpoints signed before the note form still verify.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dualdraw.adapters.store import Store
from dualdraw.domain.audit.checkpoints import CheckpointSigner, checkpoint_body
from dualdraw.service_layer.audit_log import get_checkpoint, verify_log

from .test_audit_log_tamper import SIGNER, TRUSTED, append, sql

# c2sp.org/signed-note, section "Verifier keys", "Example".
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)


@dataclass(frozen=True)
class VerifierKey:
    name: str
    key_id: bytes
    public_key: bytes


def parse_vkey(vkey: str) -> VerifierKey:
    """``<name>+<hex key ID>+<base64(type ‖ key)>``; only Ed25519 (type 0x01); the ID must be the spec's."""
    name, key_hash, encoded = vkey.split("+", 2)  # base64 may contain "+"; name and ID do not
    material = base64.b64decode(encoded, validate=True)
    assert material[0] == 0x01
    assert len(material) == 33
    expected = hashlib.sha256(name.encode() + b"\n" + material).digest()[:4]
    assert expected.hex() == key_hash
    return VerifierKey(name, expected, material[1:])


def open_note(note: str, key: VerifierKey) -> str:
    """The note's text when ``key`` signed it (c2sp.org/signed-note "Format" and "Signatures")."""
    assert not any(ord(c) < 0x20 and c != "\n" for c in note)
    text, separator, block = note.rpartition("\n\n")
    assert separator
    assert block.endswith("\n")
    text += "\n"
    verified = False
    for line in block[:-1].split("\n"):
        match = re.fullmatch(r"\u2014 (\S+) ([A-Za-z0-9+/=]+)", line)
        assert match, line
        signature = base64.b64decode(match[2], validate=True)
        if match[1] != key.name or signature[:4] != key.key_id:
            continue
        Ed25519PublicKey.from_public_bytes(key.public_key).verify(signature[4:], text.encode())
        verified = True
    assert verified, "no signature of the key"
    return text


def parse_checkpoint(text: str) -> tuple[str, int, bytes]:
    """Origin, tree size and root hash of a tlog-checkpoint note text."""
    origin, size, root, *extensions = text[:-1].split("\n")
    assert origin
    assert all(extensions)
    assert re.fullmatch(r"0|[1-9][0-9]*", size)
    root_hash = base64.b64decode(root, validate=True)
    assert len(root_hash) == 32
    return origin, int(size), root_hash


def test_the_parser_verifies_the_signed_note_specification_example() -> None:
    key = parse_vkey(SPEC_VKEY)
    assert open_note(SPEC_NOTE, key) == "This is an example message.\n"
    forged = SPEC_NOTE.replace("example message", "example massage")
    with pytest.raises(InvalidSignature):
        open_note(forged, key)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store.from_url(database_url, signer=SIGNER)
    yield store
    store.dispose()


def test_a_checkpoint_is_a_signed_note_an_independent_parser_verifies(store: Store) -> None:
    append(store, 5)
    checkpoint = get_checkpoint(store.unit_of_work())
    key = parse_vkey(SIGNER.note_verifier_key)
    assert key.public_key.hex() == SIGNER.public_key
    origin, size, root = parse_checkpoint(open_note(checkpoint.note, key))
    assert (origin, size, root.hex()) == ("dualdraw/audit/v1", 5, checkpoint.root_hash)
    assert key.name == origin  # the key name matches the origin line (tlog-checkpoint "Signatures")
    assert checkpoint.problem() is None


def test_checkpoints_signed_before_the_note_form_still_verify(store: Store) -> None:
    append(store, 4)
    sql(store, "UPDATE audit_checkpoints SET note = NULL WHERE tree_size <= 2")
    # one checkpoint signed, without a note, by a key of an earlier start
    legacy = Ed25519PrivateKey.generate()
    old = CheckpointSigner(legacy)
    with store.engine.begin() as connection:
        row = connection.execute(sa.text("SELECT root_hash FROM audit_checkpoints WHERE tree_size = 3")).one()
        body = checkpoint_body(3, row.root_hash, "dualdraw/audit/v1")
        connection.execute(
            sa.text(
                "UPDATE audit_checkpoints SET public_key = :k, signature = :s, note = NULL"
                " WHERE tree_size = 3"
            ),
            {"k": old.public_key, "s": legacy.sign(body).hex()},
        )
    assert get_checkpoint(store.unit_of_work(), 2).note == ""
    verdict = verify_log(store.unit_of_work(), {*TRUSTED, old.public_key})
    assert verdict.ok, verdict.problem
    assert verdict.checkpoints_checked == 4


def test_a_forged_note_fails_the_log_check(store: Store) -> None:
    append(store, 3)
    note = get_checkpoint(store.unit_of_work(), 2).note
    forged = note.replace("\n2\n", "\n1\n", 1)
    sql(store, "UPDATE audit_checkpoints SET note = :n WHERE tree_size = 2", n=forged)
    verdict = verify_log(store.unit_of_work(), TRUSTED)
    assert not verdict.ok
    assert "note" in (verdict.problem or "")
