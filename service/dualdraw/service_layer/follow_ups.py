"""Following a result to closure (Art. 13): open, change and close follow-ups, list the overdue ones per
department, and the overdue sweep. Every change is one transaction with its audit event
(``follow_up.open`` / ``.update`` / ``.close`` / ``.overdue``, resource ``followUps/{id}``).

The overdue sweep runs when the overdue list is read (``overdue_follow_ups``), not on a timer: the list is
what a department acts on, so an event is recorded at the latest when anyone could act on it, with no
background thread to run beside each server replica and no double events between replicas (the record's
flag is set under its revision check). A deployment that wants the events without anyone reading the list
runs ``dualdraw follow-ups overdue`` from cron. The event carries the due date, so a late sweep loses nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from dualdraw.domain import follow_ups as fu
from dualdraw.domain.errors import Aborted, NotFound, Violations, invalid
from dualdraw.domain.evidence import Citation
from dualdraw.domain.follow_ups import (
    Closing,
    ClosingOutcome,
    Evidence,
    FollowUp,
    FollowUpKind,
    FollowUpState,
    Reinspection,
)
from dualdraw.domain.model import Assignment
from dualdraw.domain.working_days import HolidayCalendar
from dualdraw.service_layer.audit_events import record_event
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.evidence import require_cited
from dualdraw.service_layer.ports import Page, PageRequest, UnitOfWork

RESULT_NAME = re.compile(r"^draws/([^/]+)/assignments/([1-9][0-9]{0,8})/result$")
SWEEPER = "dualdraw:overdue-sweep"


def follow_up_resource(follow_up_id: str) -> str:
    return f"followUps/{follow_up_id}"


def parse_result_name(name: str, path: str) -> tuple[str, int]:
    """``(draw_id, position)`` of ``draws/{draw}/assignments/{position}/result``; ``InvalidArgument`` else."""
    match = RESULT_NAME.match(name.strip())
    if match is None:
        raise invalid(path, "must be draws/{draw}/assignments/{position}/result", "RESOURCE_NAME_INVALID")
    return match.group(1), int(match.group(2))


def parse_id(name: str, collection: str, path: str) -> str:
    """The id of ``{collection}/{id}`` (a bare id is taken as is); ``InvalidArgument`` when empty."""
    value = name.strip().removeprefix(f"{collection}/")
    if not value or "/" in value:
        raise invalid(path, f"must be {collection}/{{id}}", "RESOURCE_NAME_INVALID")
    return value


def evidence_citations(evidence: tuple[Evidence, ...], path: str) -> list[Citation]:
    """The evidence files a follow-up or objection request cites, at ``path[i]``."""
    return [
        Citation(f"{path}[{i}]", e.sha256, e.size, size_field="size_bytes") for i, e in enumerate(evidence)
    ]


def assignment_of(uow: UnitOfWork, draw_id: str, position: int) -> Assignment:
    if uow.draws.get(draw_id) is None:
        raise NotFound("draw", draw_id)
    page = uow.draws.list_assignments(draw_id, PageRequest(size=1, after=str(position - 1)))
    if not page.items or page.items[0].position != position:
        raise NotFound("assignment", f"{draw_id}/{position}")
    return page.items[0]


def draw_department(uow: UnitOfWork, draw_id: str) -> str:
    draw = uow.draws.get(draw_id)
    task = uow.tasks.get(draw.task_id) if draw else None
    if task is None:
        raise NotFound("draw", draw_id)
    return task.department_id


@dataclass(frozen=True)
class OpenRequest:
    """What staff give to open a follow-up of a result."""

    draw_id: str
    position: int
    kind: FollowUpKind
    owner_department_id: str = ""
    """Required for a lead passed to another department (that department); empty otherwise."""
    note: str = ""
    evidence: tuple[Evidence, ...] = ()
    due_in_working_days: int = 0
    """0: the kind's configured number of working days."""


def open_follow_up(
    uow: UnitOfWork,
    calendar: HolidayCalendar,
    request: OpenRequest,
    caller: Caller,
    due_days: Mapping[FollowUpKind, int] | None = None,
) -> FollowUp:
    """Opens a follow-up of the current version of a recorded result, due ``due_in_working_days`` (else the
    kind's number of) working days after today."""
    v = Violations()
    fu.text_problems(request.note, "follow_up.note", v)
    fu.evidence_problems(request.evidence, "follow_up.evidence", v)
    lead = request.kind is FollowUpKind.LEAD_TRANSFER
    if lead and not request.owner_department_id:
        v.add("follow_up.department", "a lead names the department it is passed to", reason="FIELD_REQUIRED")
    if not lead and request.owner_department_id:
        v.add(
            "follow_up.department",
            "only a lead passed to another department names its owner; the others belong to the drawing one",
            reason="FIELDS_CONFLICT",
        )
    if not 0 <= request.due_in_working_days <= 365:
        v.add("follow_up.due_in_working_days", "0..365 (0: the default)", reason="VALUE_OUT_OF_RANGE")
    v.raise_if_any()
    with uow:
        assignment_of(uow, request.draw_id, request.position)
        require_cited(uow, evidence_citations(request.evidence, "follow_up.evidence"))
        history = uow.results.history(request.draw_id, request.position)
        if not history:
            raise NotFound("result", f"{request.draw_id}/{request.position}")
        current = history[-1]
        fu.require_follows(request.kind, current.entry.outcome)
        owner = request.owner_department_id or draw_department(uow, request.draw_id)
        if uow.directory.get_department(owner) is None:
            raise invalid("follow_up.department", f"unknown department {owner!r}", "UNKNOWN_DEPARTMENT")
        today = caller.today()
        days = request.due_in_working_days or fu.due_days(request.kind, due_days)
        follow_up = FollowUp(
            id=f"f-{secrets.token_hex(6)}",
            kind=request.kind,
            draw_id=request.draw_id,
            position=request.position,
            result_version=current.version,
            credit_code=current.credit_code,
            department_id=owner,
            state=FollowUpState.OPEN,
            opened_on=today,
            due_on=fu.due_on(calendar, today, days),
            note=request.note.strip(),
            evidence=request.evidence,
            opened_by=caller.actor,
        )
        uow.follow_ups.add(follow_up)
        record_event(
            uow, caller, action="follow_up.open", resource=follow_up_resource(follow_up.id), after=follow_up
        )
        uow.commit()
    return follow_up


def get_follow_up(uow: UnitOfWork, follow_up_id: str) -> FollowUp:
    with uow:
        found = uow.follow_ups.get(follow_up_id)
    if found is None:
        raise NotFound("follow-up", follow_up_id)
    return found


def _change(
    uow: UnitOfWork,
    follow_up_id: str,
    caller: Caller,
    action: str,
    how: Callable[[UnitOfWork, FollowUp], FollowUp],
) -> FollowUp:
    """Reads the follow-up, applies ``how`` (a domain transition), stores it under the revision check and
    records ``action``."""
    with uow:
        before = uow.follow_ups.get(follow_up_id)
        if before is None:
            raise NotFound("follow-up", follow_up_id)
        after = how(uow, before)
        uow.follow_ups.replace(after, before.revision)
        record_event(
            uow, caller, action=action, resource=follow_up_resource(after.id), before=before, after=after
        )
        uow.commit()
    return after


def add_evidence(
    uow: UnitOfWork, follow_up_id: str, evidence: tuple[Evidence, ...], note: str, caller: Caller
) -> FollowUp:
    """Adds evidence files (and replaces the note when one is given) to a follow-up that is not closed."""
    v = Violations()
    fu.evidence_problems(evidence, "evidence", v)
    fu.text_problems(note, "note", v)
    if not evidence and not note.strip():
        v.add("evidence", "give evidence or a note", reason="FIELD_REQUIRED")
    v.raise_if_any()

    def cited(u: UnitOfWork, f: FollowUp) -> FollowUp:
        require_cited(u, evidence_citations(evidence, "evidence"))
        return f

    return _change(
        uow,
        follow_up_id,
        caller,
        "follow_up.update",
        lambda u, f: cited(u, fu.add_evidence(f, evidence, note.strip())),
    )


def await_reinspection(uow: UnitOfWork, follow_up_id: str, caller: Caller) -> FollowUp:
    """A rectification order moves to awaiting its re-inspection (the enterprise reports it rectified)."""
    return _change(uow, follow_up_id, caller, "follow_up.update", lambda _u, f: fu.await_reinspection(f))


def record_reinspection(
    uow: UnitOfWork, follow_up_id: str, reinspection: Reinspection, caller: Caller
) -> FollowUp:
    """Records the re-inspection of a rectification order, made by members of the team that inspected."""
    v = Violations()
    if reinspection.inspected_on > caller.today():
        v.add("reinspection.inspected_on", "is in the future", reason="DATE_IN_FUTURE")
    fu.text_problems(reinspection.note, "reinspection.note", v)
    if not reinspection.badge_numbers:
        v.add("reinspection.badge_numbers", "name the inspectors who re-inspected", reason="FIELD_REQUIRED")
    v.raise_if_any()

    def apply(u: UnitOfWork, f: FollowUp) -> FollowUp:
        team = frozenset(m.badge_number for m in assignment_of(u, f.draw_id, f.position).team)
        return fu.record_reinspection(f, reinspection, team)

    return _change(uow, follow_up_id, caller, "follow_up.update", apply)


def close_follow_up(uow: UnitOfWork, follow_up_id: str, closing: Closing, caller: Caller) -> FollowUp:
    """Closes a follow-up with its recorded outcome (see ``domain.follow_ups.close``)."""
    v = Violations()
    fu.closing_problems(closing, caller.today(), v)
    v.raise_if_any()
    return _change(uow, follow_up_id, caller, "follow_up.close", lambda _u, f: fu.close(f, closing))


def list_follow_ups(
    uow: UnitOfWork,
    page: PageRequest,
    department_ids: Collection[str] | None = None,
    draw_id: str = "",
    open_only: bool = False,
) -> Page[FollowUp]:
    with uow:
        return uow.follow_ups.list(page, department_ids, draw_id or None, open_only)


def overdue_follow_ups(
    uow: UnitOfWork, today: dt.date, department_ids: Collection[str] | None, caller: Caller
) -> list[FollowUp]:
    """Follow-ups past due and not closed, by owning department and due date; first records
    ``follow_up.overdue`` once for each that had none (the sweep, see the module docstring)."""
    sweep_overdue(uow, today, caller)
    with uow:
        return uow.follow_ups.overdue(today, department_ids)


def sweep_overdue(uow: UnitOfWork, today: dt.date, caller: Caller) -> int:
    """Records ``follow_up.overdue`` for every follow-up past due on ``today`` that has not had it yet,
    and marks it; returns how many. Safe to run concurrently: a follow-up changed meanwhile is skipped
    (the next sweep takes it)."""
    sweeper = Caller(actor=SWEEPER, request_id="", now=caller.now)
    with uow:
        due = [f for f in uow.follow_ups.overdue(today) if not f.overdue_recorded]
        recorded = 0
        for f in due:
            marked = dataclasses.replace(f, overdue_recorded=True, revision=f.revision + 1)
            try:
                uow.follow_ups.replace(marked, f.revision)
            except Aborted:  # changed (or swept by another replica) since it was read: the next sweep sees it
                continue
            recorded += 1
            record_event(
                uow,
                sweeper,
                action="follow_up.overdue",
                resource=follow_up_resource(f.id),
                before=f,
                after=marked,
            )
        if recorded:
            uow.commit()
    return recorded


# --- the public read model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicFollowUp:
    """A follow-up as the public sees it: what kind, where it stands, when due, how it closed. Notes,
    evidence, re-inspectors, owners and decision texts stay inside."""

    draw_id: str
    position: int
    credit_code: str
    kind: FollowUpKind
    state: FollowUpState
    opened_on: dt.date
    due_on: dt.date
    outcome: ClosingOutcome | None
    closed_on: dt.date | None


def public_follow_ups(uow: UnitOfWork, *, draw_id: str = "") -> list[PublicFollowUp]:
    """Follow-ups of published results (the latest publication of each draw), optionally of one draw."""
    with uow:
        publications = uow.publications.latest_all()
        if draw_id:
            publications = {draw_id: publications[draw_id]} if draw_id in publications else {}
        keys = [(d, p) for d, pub in publications.items() for p, _v in pub.versions]
        found = uow.follow_ups.of_results(keys)
    return [
        PublicFollowUp(
            f.draw_id,
            f.position,
            f.credit_code,
            f.kind,
            f.state,
            f.opened_on,
            f.due_on,
            f.closing.outcome if f.closing else None,
            f.closing.closed_on if f.closing else None,
        )
        for f in found
    ]
