"""Substitution (docs/DRAW-ALGORITHM.md §8.1): ``request_substitution`` logs reason and evidence hash first;
``execute_substitution`` then takes entropy bound to that event's leaf hash and picks the replacement.

The entropy is what no insider knows when the request is logged, as for a draw: a beacon round produced
after the request (by default the first one ``EntropyPolicy.beacon_delay_s`` later), its signature verified
at execute and logged with the execution so that the offline verifier checks it again; a local secret
only in development (``EntropyPolicy.allow_local``).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass

from dualdraw.domain import model
from dualdraw.domain.audit.entries import event_leaf_hash
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.draw.entropy import (
    BEACON,
    ROLE_BEACON,
    ROLE_LOCAL,
    EntropyProblem,
    check_hex,
    check_rounds_after,
    combine,
    validate_declaration,
)
from dualdraw.domain.draw.substitution import REASONS as SUBSTITUTION_REASONS
from dualdraw.domain.draw.substitution import Substitution, pick_replacement, sub_seed
from dualdraw.domain.draw.versions import algorithm_for
from dualdraw.domain.errors import FailedPrecondition, invalid
from dualdraw.service_layer.audit_events import append_event, record_event
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.draw_policy import stored_object_plan
from dualdraw.service_layer.draw_state import (
    entropy_failure,
    executed_draw_record,
    new_local_secret_source,
)
from dualdraw.service_layer.entropy_policy import EntropyPolicy
from dualdraw.service_layer.ports import UnitOfWork


@dataclass(frozen=True)
class SubstitutionRequest:
    draw_id: str
    position: int
    badge_number: str
    reason: str
    evidence_hash: str
    beacon: str = ""
    beacon_round: int = 0


def request_substitution(
    uow: UnitOfWork, request: SubstitutionRequest, caller: Caller, *, entropy: EntropyPolicy
) -> Substitution:
    """Logs the substitution (reason, evidence hash, entropy source) before any entropy for it exists.

    The entropy source is ``entropy.substitution``'s: a beacon round produced after now
    (``BEACON_ROUND_NOT_AFTER_COMMIT`` for a round produced already), or a local secret in development.
    Nothing is written when refused."""
    if request.reason not in SUBSTITUTION_REASONS:
        raise invalid("reason", f"must be one of {', '.join(SUBSTITUTION_REASONS)}", "ENUM_VALUE_UNKNOWN")
    try:
        check_hex(request.evidence_hash, "evidence hash")
        if len(request.evidence_hash) != 64:
            raise EntropyProblem("", "")
    except EntropyProblem:
        raise invalid(
            "evidence_hash", "must be the 64 hex digits of a SHA-256 of the evidence", "SHA256_INVALID"
        ) from None
    secret = b""
    declaration = entropy.substitution(caller.now, request.beacon, request.beacon_round)
    if declaration is None:
        declaration, secret = new_local_secret_source()
    try:
        validate_declaration(declaration)
    except EntropyProblem as exc:
        raise invalid("beacon_round", str(exc), "ENTROPY_SOURCE_INVALID") from None
    try:
        check_rounds_after(declaration, caller.now)
    except EntropyProblem as exc:
        raise entropy_failure(exc) from None
    with uow:
        record = executed_draw_record(uow, request.draw_id)
        assignment = next((a for a in record.assignments if a.position == request.position), None)
        if assignment is None:
            raise invalid(
                "position", f"draw {request.draw_id} has no position {request.position}", "VALUE_OUT_OF_RANGE"
            )
        if request.badge_number not in {m.badge_number for m in assignment.team}:
            raise invalid(
                "badge_number",
                f"{request.badge_number} is not on the team of position {request.position}",
                "NOT_ON_TEAM",
            )
        sub_id = f"s-{uuid.uuid4().hex[:12]}"
        event = append_event(
            uow,
            caller,
            action="draw.substitution.request",
            resource=f"draws/{request.draw_id}",
            after={
                "substitution_id": sub_id,
                "position": request.position,
                "removed_badge": request.badge_number,
                "reason_code": request.reason,
                "evidence_hash": request.evidence_hash,
                "entropy_source": declaration,
            },
        )
        sub = Substitution(
            id=sub_id,
            draw_id=request.draw_id,
            position=request.position,
            removed_badge=request.badge_number,
            reason_code=request.reason,
            evidence_hash=request.evidence_hash,
            entropy_source=canonical_json(declaration).decode("utf-8"),
            requested_at=caller.now,
            actor=caller.actor,
            event_leaf_hash=event_leaf_hash(event).hex(),
        )
        uow.lifecycle.add_substitution(sub, secret.hex())
        uow.commit()
    return sub


def current_loads(assignments: list[model.Assignment]) -> Counter[str]:
    return Counter(m.badge_number for a in assignments for m in a.team)


def execute_substitution(
    uow: UnitOfWork, *, substitution_id: str, beacon_value: str, caller: Caller
) -> Substitution:
    """Takes the entropy of a requested substitution and swaps the replacement into the team."""
    with uow:
        found = uow.lifecycle.get_substitution(substitution_id)
        sub, local_secret = require(found, "substitution", substitution_id)
        uow.lifecycle.lock_draw(sub.draw_id)
        if sub.state != "requested":
            raise FailedPrecondition(f"substitution {sub.id} is {sub.state}", reason="SUBSTITUTION_DONE")
        declaration = json.loads(sub.entropy_source)
        values = {(ROLE_LOCAL, "local"): local_secret}
        if declaration["kind"] == BEACON:
            values = {(ROLE_BEACON, declaration["beacon"]): beacon_value}
        try:
            entropy, _ = combine(declaration, values)
        except EntropyProblem as exc:
            raise entropy_failure(exc) from None
        record = require(uow.draws.get_record(sub.draw_id), "draw", sub.draw_id)
        assignment = next(a for a in record.assignments if a.position == sub.position)
        removed_before = {
            s.removed_badge
            for s in uow.lifecycle.substitutions(sub.draw_id)
            if s.position == sub.position and s.state == "executed"
        } | {sub.removed_badge}
        leader = any(m.badge_number == sub.removed_badge and m.leader for m in assignment.team)
        pool = algorithm_for(record.draw.algorithm_version).substitution_pool(
            record.inspector_pool,
            json.loads(record.draw.manifest_json),
            stored_object_plan(uow, record.draw),
            assignment.credit_code,
            sub.removed_badge,
            leader,
        )
        replacement = pick_replacement(
            sub_seed(bytes.fromhex(record.draw.seed), bytes.fromhex(sub.event_leaf_hash), entropy),
            [m.badge_number for m in assignment.team],
            pool,
            assignment.credit_code,
            current_loads(record.assignments),
            removed_before,
        )
        uow.lifecycle.complete_substitution(
            sub, replacement=replacement, entropy=entropy.hex(), at=caller.now
        )
        record_event(
            uow,
            caller,
            action="draw.substitution.execute",
            resource=f"draws/{sub.draw_id}",
            after={
                "substitution_id": sub.id,
                "replacement_badge": replacement,
                "entropy": entropy.hex(),
                # the verified signature, so that the offline verifier checks it again (§8.1)
                **({"beacon_value": beacon_value} if declaration["kind"] == BEACON else {}),
            },
        )
        uow.commit()
        done, _ = require(uow.lifecycle.get_substitution(substitution_id), "substitution", substitution_id)
    return done
