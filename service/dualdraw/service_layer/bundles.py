"""``ExportDrawBundle``/``StreamDrawBundle``: one file with everything needed to re-verify a draw offline
(``dualdraw.verifier``).

Two forms carry the same values (docs/DRAW-ALGORITHM.md §12): ``dualdraw-bundle/1`` is one canonical JSON
document; ``dualdraw-bundle-lines/1`` is a header line and then one line per eligible object, exclusion
and assignment, which a verifier reads line by line in bounded memory. Each has a ``full`` variant (codes,
strata, risk classes and salts; exclusions) and a ``public`` one (only salted commitments with tickets).

A provincial draw has millions of eligible objects (~135 MB of bundle per million). Nothing here holds the
eligible set, the exclusions or the bundle text at once: the commitments are inflated as they are read,
ordered by an external sort (``runtime.external_sort``: sorted runs in temporary files, merged), the
exclusions and assignments are read in batches, and the bytes go straight into a spool file whose path,
length and SHA-256 the caller gets (``BundleContent``); the gRPC servicer streams that file and removes it.
The JSON form's bytes are exactly those of ``canonical_json`` over the whole structure (a test compares
them with the former one-structure writer on real draws).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from dualdraw.domain.audit.entries import leaf_data
from dualdraw.domain.audit.merkle import inclusion_proof, leaf_hash
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.draw.commitments import EligibleEntry, object_commitment, salt_for
from dualdraw.domain.draw.object_plan import (
    inclusion_proofs,
    leaf_bytes,
    plan_leaf,
    plan_salt,
    raise_salt,
    raised_leaf,
)
from dualdraw.domain.draw.selection import object_ticket, ticket_hex
from dualdraw.domain.draw.versions import algorithm_for
from dualdraw.domain.errors import FailedPrecondition
from dualdraw.domain.model import Assignment, Draw
from dualdraw.runtime.external_sort import sorted_bytes
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.ports import PageRequest, UnitOfWork

BUNDLE_FORMAT = "dualdraw-bundle/1"
LINES_FORMAT = "dualdraw-bundle-lines/1"
FORMATS = (BUNDLE_FORMAT, LINES_FORMAT)
PLAN_FORMATS = {BUNDLE_FORMAT: "dualdraw-bundle/2", LINES_FORMAT: "dualdraw-bundle-lines/2"}
"""The format written instead for a draw whose object plan travels beside its manifest (``dualdraw-draw/4``):
the same members plus ``plan`` and ``raised`` (§12.2)."""
FULL, PUBLIC = "full", "public"
CHUNK_BYTES = 1024 * 1024
"""Largest piece of a bundle in one ``DrawBundleChunk`` of ``StreamDrawBundle`` (1 MiB)."""
ASSIGNMENT_PAGE = 5000
"""Assignments read per query while writing."""


@dataclass(frozen=True)
class BundleContent:
    """A bundle written to the spool file ``path`` (``size`` bytes, hex SHA-256 ``sha256``), read back in
    chunks of ``chunk_bytes``. The file is the caller's: ``discard()`` it once sent (any process on this
    machine may read it: the draw process writes it, the server streams it)."""

    draw_id: str
    variant: str
    form: str
    path: str
    size: int
    sha256: str
    chunk_bytes: int

    def chunks(self) -> Iterator[bytes]:
        """The content in chunks of exactly ``chunk_bytes`` (the last one shorter; none when empty)."""
        with open(self.path, "rb") as f:
            while chunk := f.read(self.chunk_bytes):
                yield chunk

    def content(self) -> bytes:
        with open(self.path, "rb") as f:
            return f.read()

    def discard(self) -> None:
        """Removes the spool file (idempotent)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def export_bundle(uow: UnitOfWork, draw_id: str, *, variant: str = FULL, form: str = BUNDLE_FORMAT) -> bytes:
    """The bundle of ``draw_id`` as bytes (small draws and tests; large ones go through ``build_bundle``)."""
    built = build_bundle(uow, draw_id, variant=variant, form=form)
    try:
        return built.content()
    finally:
        built.discard()


def build_bundle(
    uow: UnitOfWork,
    draw_id: str,
    *,
    variant: str = FULL,
    chunk_bytes: int = CHUNK_BYTES,
    form: str = BUNDLE_FORMAT,
) -> BundleContent:
    """The bundle of ``draw_id`` in ``form`` written to a new spool file (removed again on failure); its
    ``form`` is the format written: ``form``'s ``/2`` for a ``dualdraw-draw/4`` draw (``PLAN_FORMATS``)."""
    if chunk_bytes < 1:
        raise ValueError("chunk_bytes must be positive")
    if variant not in (FULL, PUBLIC):
        raise ValueError(f"variant must be {FULL} or {PUBLIC}")
    if form not in FORMATS:
        raise ValueError(f"form must be one of {', '.join(FORMATS)}")
    with uow:
        draw = require(uow.draws.get(draw_id), "draw", draw_id)
    written = form if algorithm_for(draw.algorithm_version).plan_in_manifest else PLAN_FORMATS[form]
    # The draw id comes from the caller: it never becomes part of a path.
    fd, path = tempfile.mkstemp(prefix="dualdraw-bundle-", suffix=".part")
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb", buffering=CHUNK_BYTES) as out:
            for piece in _bundle_pieces(uow, draw_id, variant, form):
                out.write(piece)
                digest.update(piece)
                size += len(piece)
    except BaseException:
        os.unlink(path)
        raise
    return BundleContent(draw_id, variant, written, path, size, digest.hexdigest(), chunk_bytes)


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


def _bundle_pieces(uow: UnitOfWork, draw_id: str, variant: str, form: str) -> Iterator[bytes]:
    with uow:  # one transaction: the rows read in batches all belong to the same snapshot
        draw = require(uow.draws.get(draw_id), "draw", draw_id)
        commitments = require(uow.lifecycle.commitment_entries(draw_id), "draw commitments", draw_id)
        salt_key_hex, entries = commitments
        members = _small_members(uow, draw)
        seed = bytes.fromhex(draw.seed) if draw.seed else b""
        eligible = _eligible_rows(entries, variant, bytes.fromhex(salt_key_hex), seed)
        exclusions: Iterable[bytes] = ()
        if variant == FULL:
            exclusions = (
                str_row_json([code, rule_id]) for code, rule_id in uow.draws.exclusion_pairs(draw_id)
            )
        assignments = (_assignment_json(a) for a in _assignments(uow, draw_id))
        sections: list[tuple[str, Iterable[bytes]]] = [("eligible", eligible)]
        written = form
        if not algorithm_for(draw.algorithm_version).plan_in_manifest:
            written = PLAN_FORMATS[form]
            plan, raised = _plan_rows(uow, draw_id, variant, bytes.fromhex(salt_key_hex))
            sections = [("raised", raised), ("eligible", eligible), ("plan", plan)]
        sections += [("exclusions", exclusions), ("assignments", assignments)]
        if form == BUNDLE_FORMAT:
            members |= {"format": written, "variant": variant}
            yield from _canonical_pieces(members, dict(sections))
            yield b"\n"
            return
        yield canonical_json({"format": written, "variant": variant, **members}) + b"\n"
        for name, rows in sections:
            yield canonical_json(name) + b"\n"
            for row in rows:
                yield row + b"\n"
        yield b'"end"\n'


def _plan_rows(
    uow: UnitOfWork, draw_id: str, variant: str, salt_key: bytes
) -> tuple[Iterable[bytes], Iterable[bytes]]:
    """The ``plan`` and ``raised`` rows of a ``dualdraw-draw/4`` draw's bundle (§12.2). Full: every plan leaf
    and raised leaf, ascending by code (a leaf's text starts with ``{"code":"<code>"``, so by its bytes).
    Public: only the selected objects' plan leaves, each with its index in the sorted plan tree and its
    inclusion proof, ascending by code; no raised rows."""
    rows, raised = require(uow.lifecycle.object_plan_rows(draw_id), "draw object plan", draw_id)
    if variant == FULL:
        plan = sorted_bytes(leaf_bytes(plan_leaf(r, plan_salt(salt_key, r.code))) for r in rows)
        raised_rows = sorted(leaf_bytes(raised_leaf(r, raise_salt(salt_key, r.code))) for r in raised)
        return plan, raised_rows
    selected = {a.credit_code for a in _assignments(uow, draw_id)}
    leaves: list[bytes] = []
    chosen: dict[bytes, dict[str, Any]] = {}
    for r in rows:
        leaf = plan_leaf(r, plan_salt(salt_key, r.code))
        hashed = leaf_hash(leaf_bytes(leaf))
        leaves.append(hashed)
        if r.code in selected:
            chosen[hashed] = leaf
    leaves.sort()
    index = {bisect_left(leaves, hashed): hashed for hashed in chosen}
    proofs = inclusion_proofs(leaves, index)
    del leaves
    public = sorted((chosen[hashed]["code"].encode("utf-8"), i, hashed) for i, hashed in index.items())
    written = [
        canonical_json({"index": i, "leaf": chosen[hashed], "proof": [p.hex() for p in proofs[i]]})
        for _, i, hashed in public
    ]
    return written, []


def _assignments(uow: UnitOfWork, draw_id: str) -> Iterator[Assignment]:
    """Every assignment by position, a page per query."""
    after: str | None = None
    while True:
        page = uow.draws.list_assignments(draw_id, PageRequest(size=ASSIGNMENT_PAGE, after=after))
        yield from page.items
        if page.next_after is None:
            return
        after = page.next_after


def _assignment_json(a: Assignment) -> bytes:
    return canonical_json(
        {
            "position": a.position,
            "code": a.credit_code,
            "stratum": a.stratum,
            "ticket": a.ticket,
            "team": [m.badge_number for m in a.team],
        }
    )


def _eligible_rows(
    entries: Iterable[EligibleEntry], variant: str, salt_key: bytes, seed: bytes
) -> Iterator[bytes]:
    """The eligible rows' canonical JSON in bundle order: full by code, public by commitment. Either order
    is the order of the rows' texts (a full row starts with ``{"code":"<code>"``, where the closing quote
    sorts below every code character; a public one with ``{"commitment":"<64 hex digits>"``), so the texts
    are sorted as bytes, externally."""
    if variant == FULL:
        rows = (
            str_row_json(
                {
                    "code": e.code,
                    "stratum": e.stratum,
                    "risk_class": e.risk_class,
                    "salt": salt_for(salt_key, e.code),
                }
            )
            for e in entries
        )
    else:
        rows = (
            str_row_json(
                {
                    "commitment": object_commitment(e, salt_for(salt_key, e.code)),
                    "stratum": e.stratum,
                    "ticket": ticket_hex(object_ticket(seed, e.stratum, e.code)) if seed else "",
                }
            )
            for e in entries
        )
    return sorted_bytes(rows)


def _small_members(uow: UnitOfWork, draw: Draw) -> dict[str, Any]:
    """The members of a bundle other than the long lists, ``format`` and ``variant``."""
    draw_id = draw.id
    pool = uow.draws.inspector_pool(draw_id)
    inputs = uow.lifecycle.entropy_inputs(draw_id)
    substitutions = uow.lifecycle.substitutions(draw_id)
    events = uow.audit.events_of(f"draws/{draw_id}")
    checkpoint = uow.audit.checkpoint()
    if checkpoint is None or not events:
        raise FailedPrecondition("the audit log has no signed checkpoint yet", reason="NO_CHECKPOINT")
    leaves = [bytes.fromhex(h) for h in uow.audit.leaf_hashes(checkpoint.tree_size)]
    executed = draw.state == "executed" or bool(draw.seed)
    return {
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
