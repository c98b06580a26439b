"""Follow-ups and objections between protobuf (``follow_ups.proto``) and the domain."""

from __future__ import annotations

import datetime as dt

from dualdraw.domain import follow_ups as fu
from dualdraw.domain import objections as ob
from dualdraw.domain.errors import Violations
from dualdraw.domain.follow_ups import (
    Closing,
    ClosingOutcome,
    Evidence,
    FollowUp,
    FollowUpKind,
    FollowUpState,
    Reinspection,
)
from dualdraw.domain.objections import Objection, ObjectionState
from dualdraw.domain.working_days import HolidayCalendar
from dualdraw.entrypoints.grpc.convert import date_from_pb, date_to_pb, timestamp
from dualdraw.service_layer.follow_ups import PublicFollowUp, follow_up_resource
from dualdraw.service_layer.objections import PublicObjection, objection_resource
from dualdraw.v1 import follow_ups_pb2 as pb

KIND = {
    pb.FOLLOW_UP_KIND_RECTIFICATION: FollowUpKind.RECTIFICATION,
    pb.FOLLOW_UP_KIND_CASE_FILING: FollowUpKind.CASE_FILING,
    pb.FOLLOW_UP_KIND_JUDICIAL_TRANSFER: FollowUpKind.JUDICIAL_TRANSFER,
    pb.FOLLOW_UP_KIND_ABNORMAL_LISTING: FollowUpKind.ABNORMAL_LISTING,
    pb.FOLLOW_UP_KIND_LEAD_TRANSFER: FollowUpKind.LEAD_TRANSFER,
}
KIND_PB = {v: k for k, v in KIND.items()}
STATE_PB = {
    FollowUpState.OPEN: pb.FOLLOW_UP_STATE_OPEN,
    FollowUpState.AWAITING_REINSPECTION: pb.FOLLOW_UP_STATE_AWAITING_REINSPECTION,
    FollowUpState.CLOSED: pb.FOLLOW_UP_STATE_CLOSED,
}
OUTCOME = {
    pb.FOLLOW_UP_OUTCOME_RECTIFIED: ClosingOutcome.RECTIFIED,
    pb.FOLLOW_UP_OUTCOME_NOT_RECTIFIED: ClosingOutcome.NOT_RECTIFIED,
    pb.FOLLOW_UP_OUTCOME_PENALTY_DECIDED: ClosingOutcome.PENALTY_DECIDED,
    pb.FOLLOW_UP_OUTCOME_NO_PENALTY: ClosingOutcome.NO_PENALTY,
    pb.FOLLOW_UP_OUTCOME_TRANSFER_ACCEPTED: ClosingOutcome.TRANSFER_ACCEPTED,
    pb.FOLLOW_UP_OUTCOME_TRANSFER_RETURNED: ClosingOutcome.TRANSFER_RETURNED,
    pb.FOLLOW_UP_OUTCOME_LISTED: ClosingOutcome.LISTED,
    pb.FOLLOW_UP_OUTCOME_LEAD_HANDLED: ClosingOutcome.LEAD_HANDLED,
    pb.FOLLOW_UP_OUTCOME_WITHDRAWN: ClosingOutcome.WITHDRAWN,
}
OUTCOME_PB = {v: k for k, v in OUTCOME.items()}
OBJECTION_STATE_PB = {
    ObjectionState.PENDING: pb.OBJECTION_STATE_PENDING,
    ObjectionState.UPHELD: pb.OBJECTION_STATE_UPHELD,
    ObjectionState.REJECTED: pb.OBJECTION_STATE_REJECTED,
}


def evidence_from_pb(items: list[pb.CitedEvidence]) -> tuple[Evidence, ...]:
    return tuple(Evidence(e.sha256.strip(), e.size_bytes) for e in items)


def _evidence_to_pb(items: tuple[Evidence, ...]) -> list[pb.CitedEvidence]:
    return [pb.CitedEvidence(sha256=e.sha256, size_bytes=e.size) for e in items]


def reinspection_from_pb(r: pb.Reinspection, v: Violations) -> Reinspection | None:
    day = date_from_pb(r.inspect_date, "reinspection.inspect_date", v)
    badges = tuple(b.strip() for b in r.badge_numbers if b.strip())
    return None if day is None else Reinspection(day, badges, r.rectified, r.note.strip())


def closing_from_pb(c: pb.FollowUpClosing, today: dt.date, v: Violations) -> Closing | None:
    outcome = OUTCOME.get(c.outcome)
    if outcome is None:
        v.add("closing.outcome", "is required: one of FollowUpOutcome", reason="FIELD_REQUIRED")
    day = date_from_pb(c.close_date, "closing.close_date", v, required=False) or today
    if outcome is None:
        return None
    return Closing(outcome, c.text.strip(), day, c.decision_number)


def follow_up_to_pb(f: FollowUp) -> pb.FollowUp:
    out = pb.FollowUp(
        name=follow_up_resource(f.id),
        result=f.result_name,
        kind=KIND_PB[f.kind],
        department=f.department_id,
        state=STATE_PB[f.state],
        result_version=f.result_version,
        credit_code=f.credit_code,
        open_date=date_to_pb(f.opened_on),
        due_date=date_to_pb(f.due_on),
        note=f.note,
        evidence=_evidence_to_pb(f.evidence),
        opened_by=f.opened_by,
        revision=f.revision,
        overdue_recorded=f.overdue_recorded,
    )
    if f.reinspection is not None:
        r = f.reinspection
        out.reinspection.CopyFrom(
            pb.Reinspection(
                inspect_date=date_to_pb(r.inspected_on),
                badge_numbers=list(r.badge_numbers),
                rectified=r.rectified,
                note=r.note,
            )
        )
    if f.closing is not None:
        c = f.closing
        out.closing.CopyFrom(
            pb.FollowUpClosing(
                outcome=OUTCOME_PB[c.outcome],
                text=c.text,
                close_date=date_to_pb(c.closed_on),
                decision_number=c.decision_number,
            )
        )
    return out


def objection_to_pb(o: Objection, calendar: HolidayCalendar, period_working_days: int) -> pb.Objection:
    out = pb.Objection(
        name=objection_resource(o.id),
        result=o.result_name,
        result_version=o.result_version,
        credit_code=o.credit_code,
        department=o.department_id,
        receive_date=date_to_pb(o.received_on),
        grounds=o.grounds,
        evidence=_evidence_to_pb(o.evidence),
        filed_by=o.filed_by,
        create_time=timestamp(o.filed_at),
        publish_date=date_to_pb(o.published_on),
        period_end_date=date_to_pb(ob.period_ends(calendar, o.published_on, period_working_days)),
        revision=o.revision,
        state=OBJECTION_STATE_PB[o.state],
    )
    if o.decision is not None:
        out.decide_date.CopyFrom(date_to_pb(o.decision.decided_on))
        out.decided_by = o.decision.decided_by
        out.decision_reason = o.decision.reason
        out.corrected_version = o.decision.corrected_version
    return out


def public_follow_up_to_pb(f: PublicFollowUp) -> pb.PublicFollowUp:
    return pb.PublicFollowUp(
        result=f"draws/{f.draw_id}/assignments/{f.position}/result",
        credit_code=f.credit_code,
        kind=KIND_PB[f.kind],
        state=STATE_PB[f.state],
        open_date=date_to_pb(f.opened_on),
        due_date=date_to_pb(f.due_on),
        outcome=OUTCOME_PB[f.outcome] if f.outcome else pb.FOLLOW_UP_OUTCOME_UNSPECIFIED,
        close_date=date_to_pb(f.closed_on),
        kind_label=fu.KIND_LABELS_ZH[f.kind],
        state_label=fu.STATE_LABELS_ZH[f.state],
        outcome_label=fu.OUTCOME_LABELS_ZH[f.outcome] if f.outcome else "",
    )


def public_objection_to_pb(o: PublicObjection) -> pb.PublicObjection:
    return pb.PublicObjection(
        result=f"draws/{o.draw_id}/assignments/{o.position}/result",
        credit_code=o.credit_code,
        result_version=o.result_version,
        receive_date=date_to_pb(o.received_on),
        grounds=o.grounds,
        state=OBJECTION_STATE_PB[o.state],
        decide_date=date_to_pb(o.decided_on),
        decision_reason=o.decision_reason,
        corrected_version=o.corrected_version,
        state_label=ob.STATE_LABELS_ZH[o.state],
    )
