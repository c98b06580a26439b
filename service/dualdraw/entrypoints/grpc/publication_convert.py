"""Proto conversion for results, publications, item versions and the public read model."""

from __future__ import annotations

import datetime as dt

from dualdraw.domain.errors import Violations
from dualdraw.domain.item_list import ItemVersion
from dualdraw.domain.publication import (
    DepartmentRedraws,
    PublicAbandonedDraw,
    Publication,
    PublicationDue,
    PublicDraw,
    PublicResult,
)
from dualdraw.domain.results import OUTCOME_LABELS_ZH, InspectionResult, Outcome, ResultEntry
from dualdraw.entrypoints.grpc.convert import (
    abandon_reason_pb,
    date_from_pb,
    date_to_pb,
    decimal_to_pb,
    item_to_pb,
    parse_enum,
    timestamp,
)
from dualdraw.entrypoints.grpc.resource_names import result_name
from dualdraw.v1 import public_pb2, publication_pb2, results_pb2

OUTCOME: dict[int, Outcome] = {
    results_pb2.OUTCOME_NO_PROBLEM: Outcome.NO_PROBLEM,
    results_pb2.OUTCOME_PROBLEM_CORRECTED: Outcome.PROBLEM_CORRECTED,
    results_pb2.OUTCOME_CASE_OPENED: Outcome.CASE_OPENED,
    results_pb2.OUTCOME_NOT_FOUND_AT_ADDRESS: Outcome.NOT_FOUND_AT_ADDRESS,
    results_pb2.OUTCOME_NO_RELEVANT_ACTIVITY: Outcome.NO_RELEVANT_ACTIVITY,
}
OUTCOME_PB: dict[Outcome, results_pb2.Outcome.ValueType] = {
    v: results_pb2.Outcome.ValueType(k) for k, v in OUTCOME.items()
}


def entry_from_pb(pb: results_pb2.InspectionResult, v: Violations, path: str = "result") -> ResultEntry:
    """The recorded fields; violations are added to ``v`` (the entry is then a placeholder)."""
    if not pb.draw_id:
        v.add(f"{path}.draw_id", "is required", reason="FIELD_REQUIRED")
    if pb.position < 1:
        v.add(f"{path}.position", "must be a position of the draw (1 or more)", reason="VALUE_OUT_OF_RANGE")
    return ResultEntry(
        outcome=parse_enum(pb.outcome, OUTCOME, f"{path}.outcome", v),
        inspected_on=date_from_pb(pb.inspected_on, f"{path}.inspected_on", v) or dt.date.min,
        findings=pb.findings,
        attachment_sha256=tuple(a.strip().lower() for a in pb.attachment_sha256),
        penalty_decision_number=pb.penalty_decision_number.strip(),
        referred_to_judicial=pb.referred_to_judicial,
        referral_note=pb.referral_note.strip(),
    )


def result_to_pb(r: InspectionResult) -> results_pb2.InspectionResult:
    e = r.entry
    return results_pb2.InspectionResult(
        name=result_name(r.draw_id, r.position),
        draw_id=r.draw_id,
        position=r.position,
        version=r.version,
        credit_code=r.credit_code,
        outcome=OUTCOME_PB[e.outcome],
        inspected_on=date_to_pb(e.inspected_on),
        findings=e.findings,
        attachment_sha256=list(e.attachment_sha256),
        penalty_decision_number=e.penalty_decision_number,
        referred_to_judicial=e.referred_to_judicial,
        referral_note=e.referral_note,
        recorded_by=r.recorded_by,
        record_time=timestamp(r.recorded_at),
        correction_reason=r.correction_reason,
        record_id=r.record_id,
    )


def publication_to_pb(p: Publication) -> publication_pb2.Publication:
    return publication_pb2.Publication(
        draw_id=p.draw_id,
        revision=p.revision,
        sequence=p.sequence,
        publish_time=timestamp(p.published_at),
        published_by=p.published_by,
        inspection_end_date=date_to_pb(p.inspection_ended_on),
        deadline=date_to_pb(p.deadline),
        verification=p.verification,
        result_count=len(p.versions),
        on_time=p.on_time,
    )


def pending_to_pb(d: PublicationDue) -> publication_pb2.PendingPublication:
    return publication_pb2.PendingPublication(
        draw_id=d.draw_id,
        task_id=d.task_id,
        inspection_end_date=date_to_pb(d.inspection_ended_on),
        deadline=date_to_pb(d.deadline),
        overdue_working_days=d.overdue_working_days,
        unpublished_results=d.unpublished_results,
        overdue=d.overdue_working_days > 0,
        unrecorded_results=d.unrecorded_results,
    )


def item_version_to_pb(v: ItemVersion) -> publication_pb2.ItemVersion:
    return publication_pb2.ItemVersion(
        code=v.code,
        version=v.version,
        item=item_to_pb(v.item),
        effective_from=date_to_pb(v.effective_from),
        publish_time=timestamp(v.published_at),
        published_by=v.published_by,
        change_summary=v.change_summary,
        change_legal_basis=v.change_legal_basis,
        changed_fields=list(v.changed_fields),
    )


def public_draw_to_pb(d: PublicDraw) -> public_pb2.PublicDraw:
    return public_pb2.PublicDraw(
        draw_id=d.draw_id,
        task_id=d.task_id,
        task_title=d.task_title,
        item_code=d.item_code,
        item_name=d.item_name,
        department_id=d.department_id,
        department_name=d.department_name,
        draw_time=timestamp(d.drawn_at),
        as_of=date_to_pb(d.as_of),
        algorithm_version=d.algorithm_version,
        seed=d.seed,
        entropy_source=d.entropy_source,
        entropy=d.entropy,
        manifest_hash=d.manifest_hash,
        rule_set_hash=d.rule_set_hash,
        rule_set_version=d.rule_set_version,
        in_scope_count=d.in_scope_count,
        excluded_count=d.excluded_count,
        eligible_count=d.eligible_count,
        selected_count=d.selected_count,
        ratio=decimal_to_pb(d.ratio),
        team_size=d.team_size,
        eligible_digest=d.eligible_digest,
        inspector_pool_digest=d.inspector_pool_digest,
        verification=d.verification,
        publish_time=timestamp(d.published_at),
        revision=d.revision,
        inspection_end_date=date_to_pb(d.inspection_ended_on),
        deadline=date_to_pb(d.deadline),
    )


def public_task_to_pb(d: PublicDraw, ratio: str, team_size: int) -> public_pb2.PublicTask:
    return public_pb2.PublicTask(
        task_id=d.task_id,
        title=d.task_title,
        item_code=d.item_code,
        item_name=d.item_name,
        department_id=d.department_id,
        department_name=d.department_name,
        ratio=decimal_to_pb(ratio),
        team_size=team_size,
        draw_id=d.draw_id,
    )


def public_result_to_pb(r: PublicResult) -> public_pb2.PublicResult:
    return public_pb2.PublicResult(
        record_id=r.record_id,
        draw_id=r.draw_id,
        task_id=r.task_id,
        position=r.position,
        version=r.version,
        credit_code=r.credit_code,
        object_name=r.object_name,
        region_code=r.region_code,
        item_code=r.item_code,
        item_name=r.item_name,
        department_id=r.department_id,
        department_name=r.department_name,
        inspected_on=date_to_pb(r.inspected_on),
        outcome=OUTCOME_PB[r.outcome],
        outcome_label=OUTCOME_LABELS_ZH[r.outcome],
        findings=r.findings,
        penalty_decision_number=r.penalty_decision_number,
        referred_to_judicial=r.referred_to_judicial,
        attachment_sha256=list(r.attachment_sha256),
        team=[
            public_pb2.PublicInspector(badge_number=m.badge_number, name=m.name, leader=m.leader)
            for m in r.team
        ],
        publish_time=timestamp(r.published_at),
        correction_reason=r.correction_reason,
        supersedes=r.supersedes,
        deadline=date_to_pb(r.deadline),
        on_time=r.on_time,
    )


def abandoned_draw_to_pb(d: PublicAbandonedDraw) -> public_pb2.AbandonedDraw:
    return public_pb2.AbandonedDraw(
        draw_id=d.draw_id,
        task_id=d.task_id,
        task_title=d.task_title,
        item_code=d.item_code,
        department_id=d.department_id,
        department_name=d.department_name,
        draw_time=timestamp(d.drawn_at),
        abandon_time=timestamp(d.abandoned_at),
        manifest_hash=d.manifest_hash,
        seed=d.seed,
        selected_count=d.selected_count,
        reason=abandon_reason_pb(d.reason),
        note=d.note,
        replaced_by_draw_id=d.replaced_by,
        replacement_published=d.replacement_published,
        entropy_source=d.entropy_source,
        entropy_note=d.entropy_note,
    )


def department_redraws_to_pb(r: DepartmentRedraws) -> public_pb2.DepartmentRedraws:
    return public_pb2.DepartmentRedraws(
        department_id=r.department_id,
        department_name=r.department_name,
        draws=r.draws,
        abandoned=r.abandoned,
        tasks_with_abandons=r.tasks_with_abandons,
        abandoned_by_reason=r.abandoned_by_reason,
    )
