"""Recording and correcting inspection results (Art. 12-13): append-only versions, validated, audited.

A result's attachment hashes predate the evidence store: they name files kept elsewhere and are not checked
against it (inspection records, follow-ups and objections cite only uploaded evidence)."""

from __future__ import annotations

from dualdraw.domain.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound, Violations
from dualdraw.domain.model import Assignment
from dualdraw.domain.results import (
    InspectionResult,
    ResultEntry,
    correction_problems,
    result_problems,
)
from dualdraw.service_layer.audit_events import record_event, version_stored_by
from dualdraw.service_layer.context import CHINA_STANDARD_TIME, Caller
from dualdraw.service_layer.ports import PageRequest, UnitOfWork


def result_resource(draw_id: str, position: int) -> str:
    return f"draws/{draw_id}/assignments/{position}/result"


def assignment_of(uow: UnitOfWork, draw_id: str, position: int) -> Assignment:
    """Assignment ``position`` of ``draw_id`` (``NotFound`` for an unknown draw or position)."""
    if uow.draws.get(draw_id) is None:
        raise NotFound("draw", draw_id)
    page = uow.draws.list_assignments(draw_id, PageRequest(size=1, after=str(position - 1)))
    if not page.items or page.items[0].position != position:
        raise NotFound("assignment", f"{draw_id}/{position}")
    return page.items[0]


def _repeated(uow: UnitOfWork, draw_id: str, position: int, caller: Caller) -> InspectionResult | None:
    """The version a repeated request (same request id) stored before (AIP-155)."""
    version = version_stored_by(uow, result_resource(draw_id, position), caller)
    return None if version is None else uow.results.get(draw_id, position, version)


def _store(
    uow: UnitOfWork,
    *,
    draw_id: str,
    position: int,
    entry: ResultEntry,
    caller: Caller,
    correction_reason: str,
    v: Violations,
) -> InspectionResult:
    assignment = assignment_of(uow, draw_id, position)
    draw = uow.draws.get(draw_id)
    assert draw is not None
    drawn_on = draw.created_at.astimezone(CHINA_STANDARD_TIME).date()
    v.items.extend(result_problems(entry, today=caller.today(), drawn_on=drawn_on))
    v.raise_if_any()
    history = uow.results.history(draw_id, position)
    correcting = bool(correction_reason)
    if not correcting and history:
        raise AlreadyExists(
            f"assignment {draw_id}/{position} has a result already; record a correction with a reason",
            reason="RESULT_EXISTS",
            metadata={"record_id": history[-1].record_id},
        )
    if correcting and not history:
        raise NotFound("result", f"{draw_id}/{position}")
    previous = history[-1] if history else None
    if previous is not None and previous.entry == entry:
        raise InvalidArgument(
            [FieldViolation("result", "is identical to the current version", reason="NO_CHANGE")]
        )
    result = InspectionResult(
        draw_id=draw_id,
        position=position,
        version=(previous.version + 1) if previous else 1,
        credit_code=assignment.credit_code,
        entry=entry,
        recorded_by=caller.actor,
        recorded_at=caller.now,
        correction_reason=correction_reason,
    )
    uow.results.add(result)
    record_event(
        uow,
        caller,
        action="result.correct" if correcting else "result.record",
        resource=result_resource(draw_id, position),
        before=previous,
        after=result,
    )
    return result


def record_result(
    uow: UnitOfWork, *, draw_id: str, position: int, entry: ResultEntry, caller: Caller
) -> InspectionResult:
    """Stores the first version of an assignment's result; a second one must be a correction."""
    with uow:
        repeated = _repeated(uow, draw_id, position, caller)
        if repeated is not None:
            return repeated
        result = _store(
            uow,
            draw_id=draw_id,
            position=position,
            entry=entry,
            caller=caller,
            correction_reason="",
            v=Violations(),
        )
        uow.commit()
    return result


def correct_result(
    uow: UnitOfWork,
    *,
    draw_id: str,
    position: int,
    entry: ResultEntry,
    reason: str,
    caller: Caller,
) -> InspectionResult:
    """Stores a new version of a recorded result; the earlier versions stay as they were."""
    v = Violations()
    v.items.extend(correction_problems(reason))
    with uow:
        repeated = _repeated(uow, draw_id, position, caller)
        if repeated is not None:
            return repeated
        result = _store(
            uow,
            draw_id=draw_id,
            position=position,
            entry=entry,
            caller=caller,
            correction_reason=reason.strip(),
            v=v,
        )
        uow.commit()
    return result


def result_history(uow: UnitOfWork, draw_id: str, position: int) -> list[InspectionResult]:
    """Every version of one result, oldest first (``NotFound`` for an unknown assignment)."""
    with uow:
        assignment_of(uow, draw_id, position)
        return uow.results.history(draw_id, position)
