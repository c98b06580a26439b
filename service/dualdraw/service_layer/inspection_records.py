"""Recording and revising inspection records (Art. 12): append-only versions, validated against the
assignment's team and the checklist in force, hashed canonically and committed in the audit log."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from dualdraw.domain.canonical_json import canonical_json, sha256_hex
from dualdraw.domain.checklists import ChecklistRevision, in_force
from dualdraw.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Violations,
)
from dualdraw.domain.evidence import Citation
from dualdraw.domain.inspection_records import (
    ChecklistRef,
    InspectionRecord,
    RecordContent,
    record_from_document,
    record_hash,
    record_id_of,
    record_name,
    record_problems,
)
from dualdraw.domain.item_list import list_as_of
from dualdraw.domain.model import Draw
from dualdraw.domain.results import correction_problems
from dualdraw.service_layer.audit_events import record_event, version_stored_by
from dualdraw.service_layer.context import CHINA_STANDARD_TIME, Caller
from dualdraw.service_layer.evidence import require_cited
from dualdraw.service_layer.ports import Page, PageRequest, UnitOfWork
from dualdraw.service_layer.publication import drawn_on
from dualdraw.service_layer.results import assignment_of

ACTION_CREATE = "inspection_record.create"
ACTION_REVISE = "inspection_record.revise"


def draw_item_version(uow: UnitOfWork, draw: Draw) -> tuple[str, int]:
    """The item code and published item version a draw inspects: its plan entry's version, else the
    version in force on the day of the draw (``FailedPrecondition`` ``ITEM_NOT_PUBLISHED`` when none was)."""
    task = uow.tasks.get(draw.task_id)
    if task is None:
        raise NotFound("task", draw.task_id)
    if task.plan is not None:
        for version in uow.plans.versions(task.plan.plan_id):
            entry = version.entry(task.plan.entry_id) if version.version == task.plan.version else None
            if entry is not None:
                return entry.item_code, entry.item_version
    found = list_as_of(uow.item_versions.history(task.item_code), drawn_on(draw))
    if not found:
        raise FailedPrecondition(
            f"item {task.item_code} had no published version on the day of draw {draw.id}: "
            "no checklist applies",
            reason="ITEM_NOT_PUBLISHED",
            metadata={"item_code": task.item_code},
        )
    return task.item_code, found[0].version


def checklist_for(uow: UnitOfWork, draw: Draw, content: RecordContent) -> ChecklistRevision:
    """The checklist revision in force, on the first day of the inspection, for the draw's item version."""
    item_code, version = draw_item_version(uow, draw)
    day = content.started_at.astimezone(CHINA_STANDARD_TIME).date()
    found = in_force(uow.checklists.history(item_code), version, day)
    if found is None:
        raise FailedPrecondition(
            f"item {item_code} version {version} has no checklist in force on {day}: set one first",
            reason="CHECKLIST_MISSING",
            metadata={"item_code": item_code},
        )
    return found


def _repeated(uow: UnitOfWork, record_id: str, caller: Caller) -> InspectionRecord | None:
    """The version a repeated request (same request id) stored before (AIP-155)."""
    version = version_stored_by(uow, record_name(record_id), caller)
    if version is None:
        return None
    return next((r for r in uow.inspection_records.history(record_id) if r.version == version), None)


def cited_files(content: RecordContent, path: str = "inspection_record") -> list[Citation]:
    """The evidence files a record's content cites: its lab reports' files and its attachments."""
    return [
        Citation(f"{path}.lab_reports[{i}].file", r.file.sha256, r.file.size, r.file.content_type)
        for i, r in enumerate(content.lab_reports)
    ] + [
        Citation(f"{path}.attachments[{i}]", a.sha256, a.size, a.content_type)
        for i, a in enumerate(content.attachments)
    ]


def _store(
    uow: UnitOfWork,
    *,
    draw_id: str,
    position: int,
    content: RecordContent,
    caller: Caller,
    reason: str,
    v: Violations,
) -> InspectionRecord:
    draw = uow.draws.get(draw_id)
    if draw is None:
        raise NotFound("draw", draw_id)
    if draw.state != "executed":
        raise FailedPrecondition(
            f"draw {draw_id} is {draw.state}: only an executed draw's assignments are inspected",
            reason="DRAW_NOT_EXECUTED",
            metadata={"draw_id": draw_id},
        )
    assignment = assignment_of(uow, draw_id, position)
    checklist = checklist_for(uow, draw, content)
    leader = next((m.badge_number for m in assignment.team if m.leader), "")
    v.items.extend(
        record_problems(
            content,
            checklist=checklist,
            team={m.badge_number for m in assignment.team},
            leader=leader,
            now=caller.now,
            drawn_at=draw.executed_at or draw.created_at,
        )
    )
    v.raise_if_any()
    require_cited(uow, cited_files(content))
    record_id = record_id_of(draw_id, position)
    history = uow.inspection_records.history(record_id)
    revising = bool(reason)
    if not revising and history:
        raise AlreadyExists(
            f"assignment {draw_id}/{position} has an inspection record already; revise it with a reason",
            reason="RECORD_EXISTS",
            metadata={"record": record_name(record_id)},
        )
    if revising and not history:
        raise NotFound("inspection record", record_name(record_id))
    previous = history[-1] if history else None
    if previous is not None and previous.content == content:
        raise InvalidArgument(
            [FieldViolation("inspection_record", "is identical to the current version", reason="NO_CHANGE")]
        )
    record = InspectionRecord(
        record_id=record_id,
        version=(previous.version + 1) if previous else 1,
        draw_id=draw_id,
        position=position,
        credit_code=assignment.credit_code,
        checklist=ChecklistRef(checklist.item_code, checklist.item_version, checklist.revision),
        content=content,
        recorded_by=caller.actor,
        recorded_at=caller.now,
        revision_reason=reason,
    )
    record = replace(record, content_hash=record_hash(record))
    uow.inspection_records.add(record)
    record_event(
        uow,
        caller,
        action=ACTION_REVISE if revising else ACTION_CREATE,
        resource=record.name,
        before=previous,
        after=record,
    )
    return record


def create_record(
    uow: UnitOfWork, *, draw_id: str, position: int, content: RecordContent, caller: Caller
) -> InspectionRecord:
    """Stores the first version of an assignment's inspection record; a second one must be a revision."""
    with uow:
        repeated = _repeated(uow, record_id_of(draw_id, position), caller)
        if repeated is not None:
            return repeated
        record = _store(
            uow, draw_id=draw_id, position=position, content=content, caller=caller, reason="", v=Violations()
        )
        uow.commit()
    return record


def parse_record_name(name: str, field: str = "name") -> str:
    """The record id of ``inspectionRecords/{record}`` (``InvalidArgument`` otherwise)."""
    prefix = "inspectionRecords/"
    record_id = name.removeprefix(prefix)
    if not name.startswith(prefix) or not record_id or "/" in record_id:
        raise InvalidArgument(
            [FieldViolation(field, "must be inspectionRecords/{record}", reason="RESOURCE_NAME_INVALID")]
        )
    return record_id


def revise_record(
    uow: UnitOfWork, *, record_id: str, content: RecordContent, reason: str, caller: Caller
) -> InspectionRecord:
    """Stores the next version of a record, with a reason; the earlier versions stay as they were."""
    v = Violations()
    v.items.extend(correction_problems(reason, "reason"))
    with uow:
        repeated = _repeated(uow, record_id, caller)
        if repeated is not None:
            return repeated
        history = uow.inspection_records.history(record_id)
        if not history:
            raise NotFound("inspection record", record_name(record_id))
        record = _store(
            uow,
            draw_id=history[-1].draw_id,
            position=history[-1].position,
            content=content,
            caller=caller,
            reason=reason.strip(),
            v=v,
        )
        uow.commit()
    return record


def record_history(uow: UnitOfWork, record_id: str) -> list[InspectionRecord]:
    """Every version of one record, oldest first (``NotFound`` when there is none)."""
    with uow:
        history = uow.inspection_records.history(record_id)
    if not history:
        raise NotFound("inspection record", record_name(record_id))
    return history


def list_records(
    uow: UnitOfWork, page: PageRequest, *, draw_id: str = "", position: int = 0
) -> Page[InspectionRecord]:
    """The latest version of each record, by record id; of one draw, or one assignment of it."""
    with uow:
        if draw_id and uow.draws.get(draw_id) is None:
            raise NotFound("draw", draw_id)
        return uow.inspection_records.list_current(page, draw_id or None, position or None)


# --- integrity ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordHashMismatch:
    """A stored record version whose content no longer matches its hash or the audit log."""

    record_id: str
    version: int
    what: str


def check_record_hashes(uow: UnitOfWork) -> list[RecordHashMismatch]:
    """Recomputes the canonical hash of every stored record version and compares it with the stored hash
    and with the hash the audit log committed when the version was written (empty: all match)."""
    out: list[RecordHashMismatch] = []
    after: str | None = None
    while True:
        with uow:
            page = uow.inspection_records.all_versions(PageRequest(size=200, after=after))
            logged: dict[tuple[str, int], str] = {}
            for record_id in sorted({row[0] for row in page.items}):
                for event in uow.audit.events_of(record_name(record_id)):
                    if event.action in (ACTION_CREATE, ACTION_REVISE) and event.after_json:
                        after_doc = json.loads(event.after_json)
                        logged[(record_id, int(after_doc["version"]))] = str(after_doc["content_hash"])
        for record_id, version, document_json, stored_hash in page.items:
            recomputed = sha256_hex(canonical_json(json.loads(document_json)))
            if record_hash(record_from_document(json.loads(document_json))) != recomputed:
                out.append(RecordHashMismatch(record_id, version, "the stored document is not canonical"))
            elif recomputed != stored_hash:
                out.append(RecordHashMismatch(record_id, version, "the stored hash differs from the content"))
            elif (record_id, version) not in logged:
                out.append(
                    RecordHashMismatch(record_id, version, "the audit log has no event for this version")
                )
            elif logged[(record_id, version)] != recomputed:
                out.append(RecordHashMismatch(record_id, version, "the audit log committed another hash"))
        if page.next_after is None:
            return out
        after = page.next_after
