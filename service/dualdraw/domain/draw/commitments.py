"""Merkle roots that freeze a draw's input sets in its manifest (docs/DRAW-ALGORITHM.md §6.1).

- eligible objects: leaf data = canonical JSON ``{"code", "risk_class", "salt", "stratum"}`` with
  ``salt = hex SHA256("dualdraw/salt/v1" ‖ 0x00 ‖ salt key ‖ code)``; the salt hides confidential fields
  (risk class) in a public bundle while the object, given its salt, can find its own leaf;
- inspector pool: leaf data = the pool line (canonical JSON of badge and conflicts);
- exclusions: leaf data = canonical JSON ``[code, rule_id]``.

Each root is the RFC 6962 root of the leaf hashes **sorted ascending**, so it depends on the set only.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from dualdraw.domain.audit.merkle import leaf_hash, packed_root, root
from dualdraw.domain.canonical_json import canonical_json


class EligibleEntry(NamedTuple):
    """An eligible object as committed: credit code, stratum and risk class. A named tuple: a 1M draw
    makes a million of them, and a tuple is built in half the time and a third of the memory."""

    code: str
    stratum: str
    risk_class: str

    def line(self) -> str:
        return f"{self.code}\t{self.stratum}\t{self.risk_class}"

    @classmethod
    def from_line(cls, line: str) -> EligibleEntry:
        code, stratum, risk_class = line.split("\t")
        return cls(code, stratum, risk_class)


_SALT_TAG = b"dualdraw/salt/v1\x00"


def salt_for(salt_key: bytes, code: str) -> str:
    return hashlib.sha256(_SALT_TAG + salt_key + code.encode("ascii")).hexdigest()


_PLAIN = re.compile(r"[ !#-\[\]-~]*")
"""Printable ASCII but for the quote and the backslash: canonical JSON writes such strings unchanged."""


def object_leaf_data(entry: EligibleEntry, salt_hex: str) -> bytes:
    """``canonical_json({"code", "risk_class", "salt", "stratum"})``; written directly when every value is
    plain ASCII (the usual case, and the draw's hot path at 1M objects), else by ``canonical_json``."""
    values = (entry.code, entry.risk_class, salt_hex, entry.stratum)
    if all(_PLAIN.fullmatch(v) for v in values):
        code, risk_class, salt, stratum = values
        text = f'{{"code":"{code}","risk_class":"{risk_class}","salt":"{salt}","stratum":"{stratum}"}}'
        return text.encode("ascii")
    return canonical_json(
        {"code": entry.code, "risk_class": entry.risk_class, "salt": salt_hex, "stratum": entry.stratum}
    )


def object_commitment(entry: EligibleEntry, salt_hex: str) -> str:
    """The hex leaf hash under which an eligible object appears in a public bundle."""
    return leaf_hash(object_leaf_data(entry, salt_hex)).hex()


def all_plain(texts: Iterable[str]) -> bool:
    """Whether canonical JSON writes every one of ``texts`` unchanged (checked in one pass: the pattern
    is a class of single characters, so a concatenation matches exactly when each part does)."""
    return _PLAIN.fullmatch("".join(texts)) is not None


def object_leaf_hashes(entries: Sequence[EligibleEntry], salt_key: bytes) -> list[bytes]:
    """``leaf_hash(object_leaf_data(e, salt_for(salt_key, e.code)))`` for each entry, in order.

    The draw's hot path at 1M objects: when every value is plain ASCII, the leaf bytes are assembled from
    per-(risk class, stratum) frames with two SHA-256 calls per entry and no JSON writer; otherwise each
    leaf is built the canonical way. Both give the same bytes (tests/unit/test_commitments_fast.py).
    """
    codes = [e.code for e in entries]
    frames = _frames(entries, codes)
    if frames is None:
        return [leaf_hash(object_leaf_data(e, salt_for(salt_key, e.code))) for e in entries]
    sha256, hexlify, salted = hashlib.sha256, binascii.hexlify, _SALT_TAG + salt_key
    leaves = []
    for e, text in zip(entries, codes, strict=True):
        middle, end = frames[e.risk_class, e.stratum]
        code = text.encode("ascii")
        salt = hexlify(sha256(salted + code).digest())
        leaves.append(sha256(b'\x00{"code":"' + code + middle + salt + end).digest())
    return leaves


def salted_leaf_hashes(entries: Sequence[EligibleEntry], salts: Sequence[str]) -> list[bytes]:
    """``leaf_hash(object_leaf_data(entry, salt))`` for each entry and its given salt (hex), in order: what
    the offline verifier recomputes from a bundle's eligible rows. Fast path as ``object_leaf_hashes``."""
    codes = [e.code for e in entries]
    frames = _frames(entries, codes)
    if frames is None or not all_plain(salts):
        return [leaf_hash(object_leaf_data(e, salt)) for e, salt in zip(entries, salts, strict=True)]
    sha256 = hashlib.sha256
    leaves = []
    for e, code, salt in zip(entries, codes, salts, strict=True):
        middle, end = frames[e.risk_class, e.stratum]
        data = b'\x00{"code":"' + code.encode("ascii") + middle + salt.encode("ascii") + end
        leaves.append(sha256(data).digest())
    return leaves


def _frames(
    entries: Sequence[EligibleEntry], codes: Sequence[str]
) -> dict[tuple[str, str], tuple[bytes, bytes]] | None:
    """The fixed leaf-data pieces around each entry's code and salt, per (risk class, stratum), when every
    code, risk class and stratum is plain ASCII (so canonical JSON writes them unchanged); else ``None``."""
    pairs = {(e.risk_class, e.stratum) for e in entries}
    if not (all_plain(codes) and all_plain(text for pair in pairs for text in pair)):
        return None
    return {
        (risk_class, stratum): (
            f'","risk_class":"{risk_class}","salt":"'.encode("ascii"),
            f'","stratum":"{stratum}"}}'.encode("ascii"),
        )
        for risk_class, stratum in pairs
    }


def ascending_order(packed: bytes | bytearray) -> npt.NDArray[np.uint32]:
    """The positions of the 32-byte hashes laid end to end in ``packed``, in the order ``sorted`` gives
    their ``bytes`` (numpy compares fixed-width byte strings bytewise, zero bytes included), sorted in C."""
    return np.argsort(np.frombuffer(packed, dtype="S32"), kind="stable").astype(np.uint32)


class LeafSet:
    """The leaf hashes of ``entries`` (``object_leaf_hashes``), computed ahead in steps and ordered, so that
    the root of any subset needs neither hashing nor sorting in Python.

    A draw computes the leaves of all in-scope objects while the rules worker evaluates them (``pending``
    is advanced one step per shard sent) and, once the exclusions are known, takes the root of the
    eligible ones (``subset_root``). The leaves are kept packed, 32 bytes each, with their ascending order
    as 4-byte positions: 36 bytes per in-scope object where a list of ``bytes`` and its sorted copy took 96.
    ``entries`` is consumed as it is hashed, so it can be a generator: nothing holds every entry at once.
    """

    STEP = 50_000  # entries hashed per step: about one shard's evaluation time

    def __init__(self, entries: Iterable[EligibleEntry], salt_key: bytes) -> None:
        self._entries: Iterator[EligibleEntry] = iter(entries)
        self._salt_key = salt_key
        self._packed = bytearray()
        self._order = np.empty(0, dtype=np.uint32)
        self.pending: Iterator[None] = self._steps()

    def _steps(self) -> Iterator[None]:
        while batch := list(islice(self._entries, self.STEP)):
            self._packed += b"".join(object_leaf_hashes(batch, self._salt_key))
            del batch
            yield
        self._entries = iter(())  # every leaf is hashed: the entries (one per in-scope object) can go
        self._order = ascending_order(self._packed)

    def _leaves(self) -> npt.NDArray[np.bytes_]:
        return np.frombuffer(self._packed, dtype="S32")

    def finish(self) -> None:
        """Takes the steps nobody advanced: every entry is hashed and let go when this returns."""
        for _ in self.pending:
            pass

    def subset_root(self, keep: Sequence[bool]) -> str:
        """``set_root`` of the leaves of the entries whose ``keep`` flag (same order) is true."""
        self.finish()
        leaves = self._leaves()
        if len(keep) != len(leaves):
            raise ValueError(f"{len(keep)} flags for {len(leaves)} leaves")
        flags = np.fromiter(keep, dtype=np.bool_, count=len(leaves))
        kept_in_order = self._order[flags[self._order]]
        return packed_root(leaves[kept_in_order].tobytes()).hex()


def set_root(leaf_hashes: Iterable[bytes]) -> str:
    return root(sorted(leaf_hashes)).hex()


def eligible_root(entries: Sequence[EligibleEntry], salt_key: bytes) -> str:
    return set_root(object_leaf_hashes(entries, salt_key))


def pool_root(pool_lines: Iterable[str]) -> str:
    return set_root(leaf_hash(line.encode("utf-8")) for line in pool_lines)


def _pair_json(pairs: Sequence[tuple[str, str]]) -> list[bytes] | None:
    """``canonical_json([code, rule_id])`` of each pair when every text is plain ASCII, else ``None``."""
    if not all_plain(text for pair in pairs for text in pair):
        return None
    return [f'["{code}","{rule_id}"]'.encode("ascii") for code, rule_id in pairs]


def exclusions_root(pairs: Iterable[tuple[str, str]]) -> str:
    pairs = list(pairs)
    written = _pair_json(pairs)
    if written is None:
        written = [canonical_json([code, rule_id]) for code, rule_id in pairs]
    sha256 = hashlib.sha256
    return set_root(sha256(b"\x00" + data).digest() for data in written)


def exclusions_digest(pairs: Sequence[tuple[str, str]]) -> str:
    """Hex SHA-256 of ``canonical_json([[code, rule_id], ...])`` (the manifest's ``exclusions_digest``)."""
    written = _pair_json(pairs)
    if written is None:
        return hashlib.sha256(canonical_json([[code, rule_id] for code, rule_id in pairs])).hexdigest()
    return hashlib.sha256(b"[" + b",".join(written) + b"]").hexdigest()
