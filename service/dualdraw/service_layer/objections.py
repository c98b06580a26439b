"""Enterprise objections (异议) to published results: filed by staff on the enterprise's behalf within the
period, decided once, public with their decisions. Events ``objection.file`` and ``objection.decide``
(resource ``objections/{id}``) are recorded in the same transaction as the change."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Collection
from dataclasses import dataclass

from dualdraw.domain import follow_ups as fu
from dualdraw.domain import objections as ob
from dualdraw.domain.errors import FailedPrecondition, NotFound, Violations
from dualdraw.domain.follow_ups import Evidence
from dualdraw.domain.objections import Decision, Objection, ObjectionState
from dualdraw.domain.publication import Publication
from dualdraw.domain.working_days import HolidayCalendar
from dualdraw.service_layer.audit_events import record_event
from dualdraw.service_layer.context import CHINA_STANDARD_TIME, Caller
from dualdraw.service_layer.evidence import require_cited
from dualdraw.service_layer.follow_ups import assignment_of, draw_department, evidence_citations
from dualdraw.service_layer.ports import Page, PageRequest, UnitOfWork


def objection_resource(objection_id: str) -> str:
    return f"objections/{objection_id}"


def _first_published(uow: UnitOfWork, latest: Publication, position: int, version: int) -> Publication:
    """The earliest revision of the draw's publication that carries ``(position, version)``."""
    first = latest
    earlier = uow.publications.previous(latest)
    while earlier is not None and (position, version) in earlier.versions:
        first = earlier
        earlier = uow.publications.previous(earlier)
    return first


@dataclass(frozen=True)
class FileRequest:
    """What staff record of an objection received from an enterprise."""

    draw_id: str
    position: int
    received_on: dt.date
    grounds: str
    evidence: tuple[Evidence, ...] = ()


def file_objection(
    uow: UnitOfWork,
    calendar: HolidayCalendar,
    request: FileRequest,
    caller: Caller,
    period_working_days: int = ob.DEFAULT_OBJECTION_WORKING_DAYS,
) -> Objection:
    """Files an objection to the published version of a result. Refused when the result is not published
    (``RESULT_NOT_PUBLISHED``) or the objection was received after the period (``OBJECTION_PERIOD_ENDED``)."""
    v = Violations()
    fu.text_problems(request.grounds, "objection.grounds", v, required=True)
    fu.evidence_problems(request.evidence, "objection.evidence", v)
    if request.received_on > caller.today():
        v.add("objection.received_on", f"{request.received_on} is in the future", reason="DATE_IN_FUTURE")
    v.raise_if_any()
    with uow:
        assignment = assignment_of(uow, request.draw_id, request.position)
        require_cited(uow, evidence_citations(request.evidence, "objection.evidence"))
        latest = uow.publications.latest(request.draw_id)
        version = dict(latest.versions).get(request.position) if latest else None
        if latest is None or version is None:
            raise FailedPrecondition(
                f"the result {request.draw_id}/{request.position} is not published: an objection is to a "
                "published result",
                reason="RESULT_NOT_PUBLISHED",
                metadata={"draw_id": request.draw_id, "position": str(request.position)},
            )
        first = _first_published(uow, latest, request.position, version)
        published_on = first.published_at.astimezone(CHINA_STANDARD_TIME).date()
        if request.received_on < published_on:
            v.add(
                "objection.received_on",
                f"is before the result was published ({published_on})",
                reason="DATE_ORDER",
            )
            v.raise_if_any()
        ob.require_in_period(calendar, published_on, request.received_on, period_working_days)
        objection = Objection(
            id=f"o-{secrets.token_hex(6)}",
            draw_id=request.draw_id,
            position=request.position,
            result_version=version,
            credit_code=assignment.credit_code,
            department_id=draw_department(uow, request.draw_id),
            received_on=request.received_on,
            grounds=request.grounds.strip(),
            evidence=request.evidence,
            filed_by=caller.actor,
            filed_at=caller.now,
            published_on=published_on,
        )
        uow.objections.add(objection)
        record_event(
            uow, caller, action="objection.file", resource=objection_resource(objection.id), after=objection
        )
        uow.commit()
    return objection


def decide_objection(
    uow: UnitOfWork, objection_id: str, *, upheld: bool, reason: str, corrected_version: int, caller: Caller
) -> Objection:
    """Decides a pending objection: upheld links the corrected result version (record the correction
    first), rejected says why."""
    v = Violations()
    fu.text_problems(reason, "reason", v, required=True)
    if not upheld and corrected_version:
        v.add("corrected_version", "only an upheld objection links a correction", reason="FIELDS_CONFLICT")
    if upheld and corrected_version < 1:
        v.add("corrected_version", "an upheld objection names the corrected version", reason="FIELD_REQUIRED")
    v.raise_if_any()
    with uow:
        before = uow.objections.get(objection_id)
        if before is None:
            raise NotFound("objection", objection_id)
        history = uow.results.history(before.draw_id, before.position)
        decision = Decision(upheld, reason.strip(), caller.today(), caller.actor, corrected_version)
        after = ob.decide(before, decision, history[-1].version if history else 0)
        uow.objections.replace(after, before.revision)
        record_event(
            uow,
            caller,
            action="objection.decide",
            resource=objection_resource(after.id),
            before=before,
            after=after,
        )
        uow.commit()
    return after


def get_objection(uow: UnitOfWork, objection_id: str) -> Objection:
    with uow:
        found = uow.objections.get(objection_id)
    if found is None:
        raise NotFound("objection", objection_id)
    return found


def list_objections(
    uow: UnitOfWork, page: PageRequest, department_ids: Collection[str] | None = None, draw_id: str = ""
) -> Page[Objection]:
    with uow:
        return uow.objections.list(page, department_ids, draw_id or None)


# --- the public read model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicObjection:
    """An objection as the public sees it: the result and version objected to, when it was received, the
    grounds, and the decision with its reason and the corrected version. Evidence and staff stay inside."""

    draw_id: str
    position: int
    credit_code: str
    result_version: int
    received_on: dt.date
    grounds: str
    state: ObjectionState
    decided_on: dt.date | None
    decision_reason: str
    corrected_version: int


def public_objections(uow: UnitOfWork, *, draw_id: str = "") -> list[PublicObjection]:
    """Objections to published results (every draw with a publication, or one)."""
    with uow:
        publications = uow.publications.latest_all()
        if draw_id:
            publications = {draw_id: publications[draw_id]} if draw_id in publications else {}
        keys = [(d, p) for d, pub in publications.items() for p, _v in pub.versions]
        found = uow.objections.of_results(keys)
    return [
        PublicObjection(
            o.draw_id,
            o.position,
            o.credit_code,
            o.result_version,
            o.received_on,
            o.grounds,
            o.state,
            o.decision.decided_on if o.decision else None,
            o.decision.reason if o.decision else "",
            o.decision.corrected_version if o.decision else 0,
        )
        for o in found
    ]
