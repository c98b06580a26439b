"""Merkle roots that freeze a draw's input sets in its manifest (docs/DRAW-ALGORITHM.md §6.1).

- eligible objects: leaf data = canonical JSON ``{"code", "risk_class", "salt", "stratum"}`` with
  ``salt = hex SHA256("dualdraw/salt/v1" ‖ 0x00 ‖ salt key ‖ code)``; the salt hides confidential fields
  (risk class) in a public bundle while the object, given its salt, can find its own leaf;
- inspector pool: leaf data = the pool line (canonical JSON of badge and conflicts);
- exclusions: leaf data = canonical JSON ``[code, rule_id]``.

Each root is the RFC 6962 root of the leaf hashes **sorted ascending**, so it depends on the set only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from dualdraw.audit.merkle import leaf_hash, root
from dualdraw.domain.canonical_json import canonical_json


@dataclass(frozen=True)
class EligibleEntry:
    code: str
    stratum: str
    risk_class: str

    def line(self) -> str:
        return f"{self.code}\t{self.stratum}\t{self.risk_class}"

    @classmethod
    def from_line(cls, line: str) -> EligibleEntry:
        code, stratum, risk_class = line.split("\t")
        return cls(code, stratum, risk_class)


def salt_for(salt_key: bytes, code: str) -> str:
    return hashlib.sha256(b"dualdraw/salt/v1\x00" + salt_key + code.encode("ascii")).hexdigest()


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


def set_root(leaf_hashes: Iterable[bytes]) -> str:
    return root(sorted(leaf_hashes)).hex()


def eligible_root(entries: Iterable[EligibleEntry], salt_key: bytes) -> str:
    return set_root(leaf_hash(object_leaf_data(e, salt_for(salt_key, e.code))) for e in entries)


def pool_root(pool_lines: Iterable[str]) -> str:
    return set_root(leaf_hash(line.encode("utf-8")) for line in pool_lines)


def exclusions_root(pairs: Iterable[tuple[str, str]]) -> str:
    return set_root(leaf_hash(canonical_json([code, rule_id])) for code, rule_id in pairs)
