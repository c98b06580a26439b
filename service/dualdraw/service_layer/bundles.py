"""``ExportDrawBundle``: one file with everything needed to re-verify a draw offline (``dualdraw.verify``).

The bundle (format ``dualdraw-bundle/1``, docs/DRAW-ALGORITHM.md §12) is canonical JSON: the draw with its
manifest, the entropy inputs, the eligible set (full: codes, strata, risk classes and salts; public: only
salted commitments with tickets), the exclusions (full only), the inspector pool, the assignments, the
substitutions, and the draw's audit events with inclusion proofs against the newest signed checkpoint.
"""

from __future__ import annotations

import json
from typing import Any

from dualdraw.audit.entries import leaf_data
from dualdraw.audit.merkle import inclusion_proof
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.commitments import object_commitment, salt_for
from dualdraw.domain.draw_algorithm import object_ticket, ticket_hex
from dualdraw.domain.errors import FailedPrecondition
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.ports import UnitOfWork

BUNDLE_FORMAT = "dualdraw-bundle/1"
FULL, PUBLIC = "full", "public"


def export_bundle(uow: UnitOfWork, draw_id: str, *, variant: str = FULL) -> bytes:
    """The bundle of ``draw_id`` as canonical JSON bytes (with a final newline)."""
    if variant not in (FULL, PUBLIC):
        raise ValueError(f"variant must be {FULL} or {PUBLIC}")
    with uow:
        record = require(uow.draws.get_record(draw_id), "draw", draw_id)
        salt_key_hex, entries = require(uow.lifecycle.commitments(draw_id), "draw commitments", draw_id)
        inputs = uow.lifecycle.entropy_inputs(draw_id)
        substitutions = uow.lifecycle.substitutions(draw_id)
        events = uow.audit.events_of(f"draws/{draw_id}")
        checkpoint = uow.audit.checkpoint()
        if checkpoint is None or not events:
            raise FailedPrecondition("the audit log has no signed checkpoint yet", reason="NO_CHECKPOINT")
        leaves = [bytes.fromhex(h) for h in uow.audit.leaf_hashes(checkpoint.tree_size)]
    draw = record.draw
    executed = draw.state == "executed" or bool(draw.seed)
    salt_key = bytes.fromhex(salt_key_hex)
    seed = bytes.fromhex(draw.seed) if draw.seed else b""
    if variant == FULL:
        eligible: list[dict[str, Any]] = [
            {
                "code": e.code,
                "stratum": e.stratum,
                "risk_class": e.risk_class,
                "salt": salt_for(salt_key, e.code),
            }
            for e in sorted(entries, key=lambda e: e.code)
        ]
        exclusions = [[e.credit_code, e.rule_id] for e in record.exclusions]
    else:
        eligible = sorted(
            (
                {
                    "commitment": object_commitment(e, salt_for(salt_key, e.code)),
                    "stratum": e.stratum,
                    "ticket": ticket_hex(object_ticket(seed, e.stratum, e.code)) if seed else "",
                }
                for e in entries
            ),
            key=lambda x: x["commitment"],
        )
        exclusions = []
    bundle = {
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
        "eligible": eligible,
        "exclusions": exclusions,
        "pool": list(record.inspector_pool),
        "assignments": [
            {
                "position": a.position,
                "code": a.credit_code,
                "stratum": a.stratum,
                "ticket": a.ticket,
                "team": [m.badge_number for m in a.team],
            }
            for a in sorted(record.assignments, key=lambda a: a.position)
        ],
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
    return canonical_json(bundle) + b"\n"
