"""``ExportDrawBundle``/``StreamDrawBundle``: one file with everything needed to re-verify a draw offline
(``dualdraw.verifier.bundle``).

The bundle (format ``dualdraw-bundle/1``, docs/DRAW-ALGORITHM.md §12) is canonical JSON: the draw with its
manifest, the entropy inputs, the eligible set (full: codes, strata, risk classes and salts; public: only
salted commitments with tickets), the exclusions (full only), the inspector pool, the assignments, the
substitutions, and the draw's audit events with inclusion proofs against the newest signed checkpoint.

A provincial draw has a million eligible objects (a ~135 MB bundle). The bundle is therefore written piece by
piece: the small members through ``canonical_json`` as one structure, the long lists (``eligible``,
``exclusions``, ``assignments``) one row at a time, in the member order RFC 8785 prescribes, straight into
chunks of at most ``CHUNK_BYTES``. Nothing holds a million dicts or the text of the whole bundle as one
``str``; the draw record is reduced to what the bundle shows before the commitments are read, and rows are
dropped as they are written, so what stays in memory is mostly the chunks (the size of the bundle). The
bytes are exactly those of ``canonical_json`` over the whole structure (a test compares them with the former
writer on real draws).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from dualdraw.domain.audit.entries import leaf_data
from dualdraw.domain.audit.merkle import inclusion_proof
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.draw.commitments import object_commitment, salt_for
from dualdraw.domain.draw.selection import object_ticket, ticket_hex
from dualdraw.domain.errors import FailedPrecondition
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.ports import UnitOfWork

BUNDLE_FORMAT = "dualdraw-bundle/1"
FULL, PUBLIC = "full", "public"
CHUNK_BYTES = 1024 * 1024
"""Largest piece of a bundle in one ``DrawBundleChunk`` of ``StreamDrawBundle`` (1 MiB)."""


@dataclass(frozen=True)
class BundleContent:
    """A bundle's canonical JSON as ``chunks`` (each at most the chunk size asked for, only the last one
    shorter), with its total length and hex SHA-256."""

    draw_id: str
    variant: str
    chunks: list[bytes]
    size: int
    sha256: str

    def content(self) -> bytes:
        return b"".join(self.chunks)


def export_bundle(uow: UnitOfWork, draw_id: str, *, variant: str = FULL) -> bytes:
    """The bundle of ``draw_id`` as canonical JSON bytes (with a final newline)."""
    return build_bundle(uow, draw_id, variant=variant).content()


def build_bundle(
    uow: UnitOfWork, draw_id: str, *, variant: str = FULL, chunk_bytes: int = CHUNK_BYTES
) -> BundleContent:
    """The bundle of ``draw_id`` (canonical JSON with a final newline) in chunks of ``chunk_bytes``."""
    if chunk_bytes < 1:
        raise ValueError("chunk_bytes must be positive")
    chunks: list[bytes] = []
    digest = hashlib.sha256()
    size = 0
    for chunk in _rechunk(_bundle_pieces(uow, draw_id, variant), chunk_bytes):
        chunks.append(chunk)
        digest.update(chunk)
        size += len(chunk)
    return BundleContent(draw_id, variant, chunks, size, digest.hexdigest())


def _rechunk(pieces: Iterable[bytes], size: int) -> Iterator[bytes]:
    """``pieces`` concatenated and cut into chunks of exactly ``size`` bytes (the last one shorter)."""
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        if len(buffer) >= size:
            view = memoryview(buffer)
            whole = len(buffer) - len(buffer) % size
            for start in range(0, whole, size):
                yield bytes(view[start : start + size])
            view.release()
            del buffer[:whole]
    if buffer:
        yield bytes(buffer)


def _canonical_pieces(members: dict[str, Any], lists: Mapping[str, Iterable[bytes]]) -> Iterator[bytes]:
    """``canonical_json`` of ``members`` joined with ``lists`` (member name → the canonical JSON of each
    element), written piece by piece. Members are ordered as RFC 8785 orders them: by UTF-16 code units."""
    names = sorted([*members, *lists], key=lambda name: name.encode("utf-16-be"))
    yield b"{"
    for i, name in enumerate(names):
        yield (b"," if i else b"") + canonical_json(name) + b":"
        if name in lists:
            yield b"["
            for j, element in enumerate(lists[name]):
                yield b"," + element if j else element
            yield b"]"
        else:
            yield canonical_json(members[name])
    yield b"}"


def str_row_json(row: dict[str, str] | list[str]) -> bytes:
    """``canonical_json(row)`` for a row whose keys are ASCII and whose values are all ``str``, written by the
    C JSON encoder (a fraction of the time; a million rows per bundle). For such rows RFC 8785 and
    ``json.dumps(ensure_ascii=False, sort_keys=True, separators=(",", ":"))`` write the same text: ASCII
    names sort alike by code point and by UTF-16 unit, and both escape strings minimally with the same short
    forms and lower-case ``\\u00xx`` for the other control characters. A lone surrogate, which canonical
    JSON refuses, fails the strict UTF-8 encoding here. (A property test compares the two.)"""
    return _ROW_ENCODER.encode(row).encode("utf-8")


_ROW_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _drain(rows: list[bytes]) -> Iterator[bytes]:
    """Yields ``rows`` in reverse list order, dropping each from the list as it goes (memory is freed while
    the bundle's chunks grow)."""
    while rows:
        yield rows.pop()


def _bundle_pieces(uow: UnitOfWork, draw_id: str, variant: str) -> Iterator[bytes]:
    if variant not in (FULL, PUBLIC):
        raise ValueError(f"variant must be {FULL} or {PUBLIC}")
    with uow:
        # The record (with every eligible code) is reduced to what the bundle shows before the commitments
        # are read: at 1M objects each is a few hundred MB, and they need not be held together.
        record = require(uow.draws.get_record(draw_id), "draw", draw_id)
        draw = record.draw
        pool = list(record.inspector_pool)
        assignments = [
            canonical_json(
                {
                    "position": a.position,
                    "code": a.credit_code,
                    "stratum": a.stratum,
                    "ticket": a.ticket,
                    "team": [m.badge_number for m in a.team],
                }
            )
            for a in sorted(record.assignments, key=lambda a: a.position)
        ]
        exclusions: list[bytes] = []
        if variant == FULL:
            exclusions = [str_row_json([e.credit_code, e.rule_id]) for e in reversed(record.exclusions)]
        del record
        salt_key_hex, entries = require(uow.lifecycle.commitments(draw_id), "draw commitments", draw_id)
        inputs = uow.lifecycle.entropy_inputs(draw_id)
        substitutions = uow.lifecycle.substitutions(draw_id)
        events = uow.audit.events_of(f"draws/{draw_id}")
        checkpoint = uow.audit.checkpoint()
        if checkpoint is None or not events:
            raise FailedPrecondition("the audit log has no signed checkpoint yet", reason="NO_CHECKPOINT")
        leaves = [bytes.fromhex(h) for h in uow.audit.leaf_hashes(checkpoint.tree_size)]
    executed = draw.state == "executed" or bool(draw.seed)
    salt_key = bytes.fromhex(salt_key_hex)
    seed = bytes.fromhex(draw.seed) if draw.seed else b""
    eligible: Iterable[bytes]
    if variant == FULL:
        entries.sort(key=lambda e: e.code, reverse=True)  # popped from the end: ascending codes

        def full_rows() -> Iterator[bytes]:
            while entries:
                e = entries.pop()
                yield str_row_json(
                    {
                        "code": e.code,
                        "stratum": e.stratum,
                        "risk_class": e.risk_class,
                        "salt": salt_for(salt_key, e.code),
                    }
                )

        eligible = full_rows()
    else:
        # Sorted by commitment: each row's text starts with {"commitment":"<64 hex digits>", so sorting the
        # texts sorts by commitment (commitments of distinct codes differ).
        rows = [
            str_row_json(
                {
                    "commitment": object_commitment(e, salt_for(salt_key, e.code)),
                    "stratum": e.stratum,
                    "ticket": ticket_hex(object_ticket(seed, e.stratum, e.code)) if seed else "",
                }
            )
            for e in entries
        ]
        del entries
        rows.sort(reverse=True)
        eligible = _drain(rows)
    members = {
        "format": BUNDLE_FORMAT,
        "variant": variant,
        "draw": {
            "id": draw.id,
            "task_id": draw.task_id,
            "state": draw.state,
            "state_reason": draw.state_reason,
            "manifest_json": draw.manifest_json,
            "manifest_hash": draw.manifest_hash,
            "entropy_source": draw.entropy_source if executed else "",
            "entropy": draw.entropy,
            "seed": draw.seed,
        },
        "entropy_inputs": [
            {
                "role": i.role,
                "name": i.name,
                "commitment": i.commitment,
                # an unexecuted draw's local secret stays hidden
                "value": i.value if executed or i.role != "local-secret" else "",
            }
            for i in sorted(inputs, key=lambda i: (i.role, i.name))
        ],
        "pool": pool,
        "substitutions": [
            {
                "id": s.id,
                "position": s.position,
                "removed_badge": s.removed_badge,
                "replacement_badge": s.replacement_badge,
                "reason_code": s.reason_code,
                "evidence_hash": s.evidence_hash,
                "entropy_source": json.loads(s.entropy_source),
                "entropy": s.entropy,
                "event_leaf_hash": s.event_leaf_hash,
                "state": s.state,
            }
            for s in substitutions
        ],
        "log": {
            "events": [
                {
                    "sequence": e.sequence,
                    "leaf_data": leaf_data(e).decode("utf-8"),
                    "proof": [p.hex() for p in inclusion_proof(e.sequence - 1, leaves)],
                }
                for e in events
                if e.sequence <= checkpoint.tree_size
            ],
            "checkpoint": {
                "tree_size": checkpoint.tree_size,
                "root_hash": checkpoint.root_hash,
                "public_key": checkpoint.public_key,
                "signature": checkpoint.signature,
            },
        },
    }
    del leaves
    assignments.reverse()
    lists = {"eligible": eligible, "exclusions": _drain(exclusions), "assignments": _drain(assignments)}
    yield from _canonical_pieces(members, lists)
    yield b"\n"
