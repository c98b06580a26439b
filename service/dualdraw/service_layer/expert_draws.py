"""Experts and testing institutions (docs/DRAW-ALGORITHM.md §8.2): their directories, items' requirements of
them, and the logged follow-up draw that picks them for an executed draw's assignments.

``commit_expert_draw`` freezes the inputs (candidates' lines, objects, the requirement, the entropy source)
and logs ``expert_draw.commit`` with their hash before any entropy exists; ``execute_expert_draw`` takes the
entropy — a beacon round produced after the commit, verified; a local secret only in development — and
logs ``expert_draw.execute`` with the result's hash. ``verify_expert_draw`` re-derives a stored one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.credit_code import check_credit_code
from dualdraw.domain.draw.entropy import (
    BEACON,
    ROLE_BEACON,
    ROLE_LOCAL,
    EntropyProblem,
    check_rounds_after,
    combine,
    validate_declaration,
)
from dualdraw.domain.draw.expert_draw import (
    AVOIDANCE_DAYS,
    EXPERT,
    INSTITUTION,
    KINDS,
    Expert,
    ExpertDraw,
    ExpertDrawProblem,
    Requirement,
    TestingInstitution,
    build_inputs,
    candidate_line,
    check_servable,
    inputs_hash,
    result_hash,
    select,
    selections_of,
    verify,
)
from dualdraw.domain.errors import FailedPrecondition, FieldViolation, NotFound, Violations, invalid
from dualdraw.service_layer.audit_events import record_event
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.draw_state import (
    EXECUTED,
    entropy_failure,
    executed_draw_record,
    new_local_secret_source,
)
from dualdraw.service_layer.entropy_policy import LOCAL_SECRET_MARK, EntropyPolicy
from dualdraw.service_layer.ports import Page, PageRequest, UnitOfWork

COMMITTED = "committed"
MAX_COUNT = 20


# --- the directories ------------------------------------------------------------------------------------


def _check_entry(path: str, entry: Expert | TestingInstitution, department_id: str, v: Violations) -> None:
    if not entry.id.strip():
        v.add(f"{path}.id", "is required", reason="FIELD_REQUIRED")
    elif any(c in entry.id for c in "\t\n\r"):  # the id keys the record in a directory filing's lines
        v.add(f"{path}.id", "must not hold a tab or a line break", reason="CONTROL_CHARACTERS")
    if not entry.display_name.strip():
        v.add(f"{path}.display_name", "is required", reason="FIELD_REQUIRED")
    if entry.department_id != department_id:
        v.add(
            f"{path}.department_id",
            f"must be the importing department {department_id}: a department imports only its own records",
            reason="FIELDS_CONFLICT",
        )
    if not entry.qualifications:
        v.add(f"{path}.qualifications", "needs at least one", reason="FIELD_REQUIRED")
    for j, q in enumerate(entry.qualifications):
        if not q.code.strip():
            v.add(f"{path}.qualifications[{j}].code", "is required", reason="FIELD_REQUIRED")
    if isinstance(entry, Expert):
        if entry.employer_credit_code:
            check_credit_code(entry.employer_credit_code, f"{path}.employer_credit_code", v)
    else:
        check_credit_code(entry.credit_code, f"{path}.credit_code", v)
    for j, code in enumerate(sorted(entry.conflicts)):
        check_credit_code(code, f"{path}.conflicts[{j}]", v)


def import_experts(
    uow: UnitOfWork,
    department_id: str,
    experts: Sequence[Expert],
    institutions: Sequence[TestingInstitution],
    caller: Caller,
) -> dict[str, int]:
    """Upserts experts and testing institutions of ``department_id`` in one audited transaction.

    Every record must name ``department_id``; a stored record of another department is never replaced
    (``DEPARTMENT_CHANGE_NEEDS_TRANSFER``). Raises ``InvalidArgument`` naming every bad field; nothing is
    written then."""
    v = Violations()
    if not department_id:
        v.add("department_id", "is required", reason="FIELD_REQUIRED")
    batches: list[tuple[str, str, Sequence[Expert | TestingInstitution]]] = [
        ("experts", EXPERT, experts),
        ("institutions", INSTITUTION, institutions),
    ]
    for name, _, entries in batches:
        seen: set[str] = set()
        for i, entry in enumerate(entries):
            _check_entry(f"{name}[{i}]", entry, department_id, v)
            if entry.id in seen:
                v.add(f"{name}[{i}].id", f"{entry.id} twice", reason="DUPLICATE_VALUE")
            seen.add(entry.id)
    v.raise_if_any()
    with uow:
        if uow.directory.get_department(department_id) is None:
            raise invalid("department_id", f"no department {department_id}", "UNKNOWN_DEPARTMENT")
        moved = [
            FieldViolation(
                f"{name}[{i}].id",
                f"{e.id} belongs to {owner}: a department writes only its own records",
                reason="DEPARTMENT_CHANGE_NEEDS_TRANSFER",
            )
            for name, kind, entries in batches
            for owners in [uow.experts.owners(kind, [e.id for e in entries])]
            for i, e in enumerate(entries)
            if (owner := owners.get(e.id, department_id)) != department_id
        ]
        if moved:
            raise FailedPrecondition(
                f"{len(moved)} record(s) belong to another department; nothing imported",
                reason="DEPARTMENT_CHANGE_NEEDS_TRANSFER",
                violations=moved,
            )
        uow.experts.upsert_experts(experts)
        uow.experts.upsert_institutions(institutions)
        counts = {"experts": len(experts), "institutions": len(institutions)}
        record_event(
            uow,
            caller,
            action="experts.import",
            resource=f"departments/{department_id}",
            after={
                "counts": counts,
                "experts": sorted(e.id for e in experts),
                "institutions": sorted(i.id for i in institutions),
            },
        )
        uow.commit()
    return counts


def list_experts(uow: UnitOfWork, page: PageRequest, department_id: str = "") -> Page[Expert]:
    with uow:
        return uow.experts.list_experts(page, [department_id] if department_id else None)


def list_institutions(
    uow: UnitOfWork, page: PageRequest, department_id: str = ""
) -> Page[TestingInstitution]:
    with uow:
        return uow.experts.list_institutions(page, [department_id] if department_id else None)


# --- requirements ---------------------------------------------------------------------------------------


def _check_kind(kind: str, field: str = "kind") -> None:
    if kind not in KINDS:
        raise invalid(field, f"must be one of {', '.join(KINDS)}", "ENUM_VALUE_UNKNOWN")


def set_requirement(uow: UnitOfWork, requirement: Requirement, caller: Caller) -> Requirement:
    """Sets (``count`` ≥ 1) or clears (``count`` 0) what item ``item_code`` needs of ``kind``; audited as
    ``expert_requirement.set``."""
    _check_kind(requirement.kind, "requirement.kind")
    if not 0 <= requirement.count <= MAX_COUNT:
        raise invalid("requirement.count", f"must be 0 (none) to {MAX_COUNT}", "VALUE_OUT_OF_RANGE")
    if requirement.count and not requirement.qualification.strip():
        raise invalid("requirement.qualification", "is required", "FIELD_REQUIRED")
    with uow:
        if uow.items.get(requirement.item_code) is None:
            raise invalid("requirement.item_code", f"no item {requirement.item_code}", "UNKNOWN_ITEM")
        before = next(
            (r for r in uow.experts.requirements(requirement.item_code) if r.kind == requirement.kind), None
        )
        uow.experts.set_requirement(requirement, caller.now)
        record_event(
            uow,
            caller,
            action="expert_requirement.set",
            resource=f"items/{requirement.item_code}",
            before=dataclasses.asdict(before) if before else None,
            after=dataclasses.asdict(requirement),
        )
        uow.commit()
    return requirement


def requirements_of(uow: UnitOfWork, item_code: str) -> list[Requirement]:
    with uow:
        return uow.experts.requirements(item_code)


# --- the draw -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpertDrawRequest:
    draw_id: str
    kind: str = EXPERT
    beacon: str = ""
    beacon_round: int = 0


def _problem(exc: ExpertDrawProblem) -> FailedPrecondition:
    return FailedPrecondition(str(exc), reason=exc.reason, metadata=exc.metadata)


def commit_expert_draw(
    uow: UnitOfWork, request: ExpertDrawRequest, caller: Caller, *, entropy: EntropyPolicy
) -> ExpertDraw:
    """Freezes and logs the inputs of an expert draw for executed draw ``request.draw_id``.

    The entropy is a beacon round produced after now (``BEACON_ROUND_NOT_AFTER_COMMIT`` otherwise) or, on
    a development server when no beacon is named, a local secret — then the draw is executed at once.
    Refused before any entropy exists, nothing written: ``DRAW_NOT_EXECUTED``, ``NO_EXPERT_REQUIREMENT``,
    ``TOO_FEW_EXPERTS``."""
    _check_kind(request.kind)
    secret = b""
    declaration = entropy.substitution(caller.now, request.beacon, request.beacon_round)
    if declaration is None:
        declaration, secret = new_local_secret_source()
    try:
        validate_declaration(declaration)
        check_rounds_after(declaration, caller.now)
    except EntropyProblem as exc:
        raise entropy_failure(exc) from None
    with uow:
        record = executed_draw_record(uow, request.draw_id)
        item_code = str(json.loads(record.draw.manifest_json)["task"]["item_code"])
        requirement = next((r for r in uow.experts.requirements(item_code) if r.kind == request.kind), None)
        if requirement is None:
            raise FailedPrecondition(
                f"item {item_code} needs no {request.kind}: set its requirement first",
                reason="NO_EXPERT_REQUIREMENT",
                metadata={"item_code": item_code, "kind": request.kind},
            )
        objects = [(a.position, a.credit_code) for a in record.assignments]
        codes = [c for _, c in objects]
        as_of = record.draw.as_of
        served = uow.experts.served(request.kind, codes, as_of - dt.timedelta(days=AVOIDANCE_DAYS), as_of)
        lines = [
            candidate_line(e, requirement.qualification, codes, served.get(e.id, ()))
            for e in uow.experts.holders(request.kind, requirement.qualification)
        ]
        expert_draw_id = f"x-{uuid.uuid4().hex[:12]}"
        inputs = build_inputs(
            expert_draw_id=expert_draw_id,
            draw_id=request.draw_id,
            draw_seed=record.draw.seed,
            as_of=as_of,
            requested_at=caller.now,
            requirement=requirement,
            objects=objects,
            candidates=lines,
            entropy_source=declaration,
        )
        try:
            check_servable(inputs)
        except ExpertDrawProblem as exc:
            raise _problem(exc) from None
        digest = inputs_hash(inputs)
        record_event(
            uow,
            caller,
            action="expert_draw.commit",
            resource=f"draws/{request.draw_id}",
            after={
                "expert_draw_id": expert_draw_id,
                "inputs_hash": digest,
                "requirement": dataclasses.asdict(requirement),
                "entropy_source": declaration,
            },
        )
        xd = ExpertDraw(
            id=expert_draw_id,
            draw_id=request.draw_id,
            kind=request.kind,
            as_of=as_of,
            inputs_json=canonical_json(inputs).decode("utf-8"),
            inputs_hash=digest,
            entropy_source=canonical_json(declaration).decode("utf-8"),
            requested_at=caller.now,
            actor=caller.actor,
        )
        uow.experts.add_draw(xd, secret.hex())
        uow.commit()
    if secret:
        return execute_expert_draw(uow, expert_draw_id=expert_draw_id, beacon_value="", caller=caller)
    return xd


def execute_expert_draw(
    uow: UnitOfWork, *, expert_draw_id: str, beacon_value: str, caller: Caller
) -> ExpertDraw:
    """Takes the entropy of a committed expert draw (the beacon round's signature, verified; or the stored
    local secret) and stores and logs its result (``EXPERT_DRAW_DONE`` when executed already)."""
    with uow:
        found = uow.experts.get_draw(expert_draw_id)
        xd, local_secret = require(found, "expert_draw", expert_draw_id)
        uow.lifecycle.lock_draw(xd.draw_id)
        if xd.state != COMMITTED:
            raise FailedPrecondition(f"expert draw {xd.id} is {xd.state}", reason="EXPERT_DRAW_DONE")
        declaration = json.loads(xd.entropy_source)
        values = {(ROLE_LOCAL, "local"): local_secret}
        if declaration["kind"] == BEACON:
            values = {(ROLE_BEACON, declaration["beacon"]): beacon_value}
        try:
            entropy, _ = combine(declaration, values)
        except EntropyProblem as exc:
            raise entropy_failure(exc) from None
        try:
            result = select(json.loads(xd.inputs_json), entropy)
        except ExpertDrawProblem as exc:
            raise _problem(exc) from None
        done = dataclasses.replace(
            xd,
            state=EXECUTED,
            entropy=entropy.hex(),
            seed=result["seed"],
            result_json=canonical_json(result).decode("utf-8"),
            result_hash=result_hash(result),
            executed_at=caller.now,
            beacon_value=beacon_value if declaration["kind"] == BEACON else "",
        )
        uow.experts.complete_draw(done, selections_of(result), caller.now)
        record_event(
            uow,
            caller,
            action="expert_draw.execute",
            resource=f"draws/{xd.draw_id}",
            after={
                "expert_draw_id": xd.id,
                "entropy": entropy.hex(),
                "seed": result["seed"],
                "result_hash": done.result_hash,
                **({"beacon_value": beacon_value} if declaration["kind"] == BEACON else {}),
            },
        )
        uow.commit()
    return done


def get_expert_draw(uow: UnitOfWork, expert_draw_id: str) -> ExpertDraw:
    with uow:
        found = uow.experts.get_draw(expert_draw_id)
    return require(found, "expert_draw", expert_draw_id)[0]


def expert_draws_of(uow: UnitOfWork, draw_id: str) -> list[ExpertDraw]:
    with uow:
        if uow.draws.get(draw_id) is None:
            raise NotFound("draw", draw_id)
        return uow.experts.draws_of(draw_id)


def entropy_note_of(xd: ExpertDraw) -> str:
    """``LOCAL_SECRET_MARK`` for an expert draw with a local secret (development only), else ""."""
    return LOCAL_SECRET_MARK if json.loads(xd.entropy_source).get("kind") != BEACON else ""


def _events(uow: UnitOfWork, draw_id: str, expert_draw_id: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for event in uow.audit.events_of(f"draws/{draw_id}"):
        if event.action.startswith("expert_draw."):
            after = json.loads(event.after_json or "null") or {}
            if after.get("expert_draw_id") == expert_draw_id:
                found[event.action] = {**after, "_occurred_at": event.occurred_at}
    return found


def verify_expert_draw(uow: UnitOfWork, expert_draw_id: str) -> str:
    """ "" when the stored expert draw re-derives exactly (§8.2, "Verifying"), else the first difference as
    ``<part>: <detail>``: inputs and result against each other and against the logged hashes, the entropy
    against its declaration, and the selection rows against the result."""
    with uow:
        xd, local_secret = require(uow.experts.get_draw(expert_draw_id), "expert_draw", expert_draw_id)
        events = _events(uow, xd.draw_id, xd.id)
        rows = uow.experts.selections(xd.id)
        record = require(uow.draws.get_record(xd.draw_id), "draw", xd.draw_id)
    inputs = json.loads(xd.inputs_json)
    objects = [
        {"credit_code": a.credit_code, "position": a.position}
        for a in sorted(record.assignments, key=lambda a: a.position)
    ]
    if (inputs.get("expert_draw_id"), inputs.get("draw_id")) != (xd.id, xd.draw_id):
        return "inputs: another expert draw's or draw's"
    if inputs.get("draw_seed") != record.draw.seed or inputs.get("objects") != objects:
        return "inputs: seed or objects differ from the draw's"
    commit = events.get("expert_draw.commit")
    if commit is None:
        return "log: no expert_draw.commit event"
    if (
        inputs_hash(json.loads(xd.inputs_json)) != xd.inputs_hash
        or commit.get("inputs_hash") != xd.inputs_hash
    ):
        return "inputs: hash differs from the logged commit"
    declaration = json.loads(xd.entropy_source)
    if (
        json.loads(xd.inputs_json).get("entropy_source") != declaration
        or commit.get("entropy_source") != declaration
    ):
        return "inputs: entropy source differs from the logged commit"
    if xd.state != EXECUTED:
        return ""
    execute = events.get("expert_draw.execute")
    if execute is None:
        return "log: no expert_draw.execute event"
    if not execute["_occurred_at"] >= commit["_occurred_at"]:
        return "log: executed before its commit"
    if (
        result_hash(json.loads(xd.result_json)) != xd.result_hash
        or execute.get("result_hash") != xd.result_hash
    ):
        return "result: hash differs from the logged execute"
    values = {(ROLE_LOCAL, "local"): local_secret}
    if declaration["kind"] == BEACON:
        values = {(ROLE_BEACON, declaration["beacon"]): str(execute.get("beacon_value", ""))}
        try:
            check_rounds_after(declaration, commit["_occurred_at"])
        except EntropyProblem as exc:
            return f"entropy: {exc}"
    try:
        entropy, _ = combine(declaration, values)
    except EntropyProblem as exc:
        return f"entropy: {exc}"
    if entropy.hex() != json.loads(xd.result_json).get("entropy") or entropy.hex() != execute.get("entropy"):
        return "entropy: differs from its declaration's value"
    if problem := verify(xd.inputs_json, xd.result_json):
        return problem
    if selections_of(json.loads(xd.result_json)) != rows:
        return "rows: the stored selections differ from the result"
    return ""
