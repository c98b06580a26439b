"""Rows <-> domain records: the tables as Core ``Table`` objects and the mapping of each record to and from
its row. Nothing here talks to the database.

Large reads (objects, exclusions) select ``OBJECT_COLUMNS`` / ``EXCLUSION_COLUMNS`` and unpack rows by
position, several times faster than reading a ``Row``'s attributes, which matters at a million rows.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction
from itertools import chain
from typing import Any, cast, overload

import sqlalchemy as sa

from dualdraw.adapters.store.models import (
    AssignmentMemberRow,
    AssignmentRow,
    AuditCheckpointRow,
    AuditEventRow,
    AuditLogHeadRow,
    Base,
    CampaignRow,
    ChecklistRevisionRow,
    ComplaintRow,
    DepartmentRow,
    DirectoryFilingRecordsRow,
    DirectoryFilingRow,
    DrawCommitmentRow,
    DrawEligibleRow,
    DrawEntropyInputRow,
    DrawRaiseRow,
    DrawRow,
    EvidenceRow,
    ExclusionRow,
    ExpertDrawRow,
    ExpertRequirementRow,
    ExpertRow,
    ExpertSelectionRow,
    InspectionItemRow,
    InspectionRecordRow,
    InspectionResultRow,
    InspectorConflictRow,
    InspectorRow,
    InspectorSpecialityRow,
    ItemVersionRow,
    ObjectProfileRow,
    ObjectRow,
    OutboxMessageRow,
    PlanVersionRow,
    PublicationRow,
    PublishedResultRow,
    RiskAssessmentRow,
    RuleSetRow,
    StatutoryDesignationRow,
    SubstitutionRow,
    TaskRow,
    TestingInstitutionRow,
)
from dualdraw.adapters.store.object_profiles import PROFILE_NAMES, ProfileKeys
from dualdraw.domain.model import (
    AuditEvent,
    Campaign,
    Complaint,
    ComplaintStatus,
    Department,
    DepartmentLevel,
    Draw,
    Exclusion,
    ExclusionCategory,
    InspectionItem,
    InspectionObject,
    ItemKind,
    ObjectProfile,
    ObjectStatus,
    PlanRef,
    RiskAssessment,
    RiskClass,
    RiskConclusion,
    StatutoryDesignation,
    SystemExclusionCategory,
    Task,
    TaskScope,
)
from dualdraw.domain.object_columns import ObjectColumns

Row = sa.Row[*tuple[Any, ...]]  # a row of any shape
Values = dict[str, Any]  # a row to write, by column name


def table_of(row_class: type[Base]) -> sa.Table:
    """The Core table of a mapped class (typed as ``Table``, which declarative tables always are)."""
    return cast(sa.Table, row_class.__table__)


DEPARTMENTS = table_of(DepartmentRow)
OBJECTS = table_of(ObjectRow)
OBJECT_PROFILES = table_of(ObjectProfileRow)
INSPECTORS = table_of(InspectorRow)
SPECIALITIES = table_of(InspectorSpecialityRow)
CONFLICTS = table_of(InspectorConflictRow)
COMPLAINTS = table_of(ComplaintRow)
CAMPAIGNS = table_of(CampaignRow)
RISK_ASSESSMENTS = table_of(RiskAssessmentRow)
DESIGNATIONS = table_of(StatutoryDesignationRow)
ITEMS = table_of(InspectionItemRow)
TASKS = table_of(TaskRow)
DRAWS = table_of(DrawRow)
DRAW_ELIGIBLE = table_of(DrawEligibleRow)
EXCLUSIONS = table_of(ExclusionRow)
ASSIGNMENTS = table_of(AssignmentRow)
MEMBERS = table_of(AssignmentMemberRow)
RAISES = table_of(DrawRaiseRow)
AUDIT = table_of(AuditEventRow)
AUDIT_HEAD = table_of(AuditLogHeadRow)
CHECKPOINTS = table_of(AuditCheckpointRow)
DRAW_COMMITMENTS = table_of(DrawCommitmentRow)
ENTROPY_INPUTS = table_of(DrawEntropyInputRow)
SUBSTITUTIONS = table_of(SubstitutionRow)
RESULTS = table_of(InspectionResultRow)
PUBLICATIONS = table_of(PublicationRow)
PUBLISHED = table_of(PublishedResultRow)
ITEM_VERSIONS = table_of(ItemVersionRow)
CHECKLIST_REVISIONS = table_of(ChecklistRevisionRow)
INSPECTION_RECORDS = table_of(InspectionRecordRow)
PLAN_VERSIONS = table_of(PlanVersionRow)
DIRECTORY_FILINGS = table_of(DirectoryFilingRow)
FILING_RECORDS = table_of(DirectoryFilingRecordsRow)
RULE_SETS = table_of(RuleSetRow)
OUTBOX = table_of(OutboxMessageRow)
EVIDENCE = table_of(EvidenceRow)
EXPERTS = table_of(ExpertRow)
INSTITUTIONS = table_of(TestingInstitutionRow)
EXPERT_REQUIREMENTS = table_of(ExpertRequirementRow)
EXPERT_DRAWS = table_of(ExpertDrawRow)
EXPERT_SELECTIONS = table_of(ExpertSelectionRow)

# Enum lookups by value, faster than calling the enum for every row of a large read.
_RISK_CLASS = {m.value: m for m in RiskClass}
_OBJECT_STATUS = {m.value: m for m in ObjectStatus}


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dump_strings(values: Sequence[str]) -> str:
    """A JSON array of ``values`` (a tuple or list), compact and not ASCII-escaped."""
    return _JSON.encode(values)


_ESCAPED_IN_JSON = re.compile(r'[\x00-\x1f"\\]')
"""What ``dump_strings`` escapes (ASCII escaping off): the quote, the backslash and control characters."""


def dump_string_lists(lists: Sequence[Sequence[str]]) -> list[str]:
    """``dump_strings`` of each of ``lists``; when no string of any needs escaping (one scan of them all),
    each array is joined directly, without an encoder call per list."""
    if _ESCAPED_IN_JSON.search("".join(chain.from_iterable(lists))):
        return list(map(dump_strings, lists))
    return ['["' + '","'.join(values) + '"]' if values else "[]" for values in lists]


@functools.lru_cache(maxsize=4096)
def load_strings(text: str) -> tuple[str, ...]:
    """The tuple a ``dump_strings`` text encodes; cached, since many rows share the same few lists."""
    return tuple(json.loads(text))


def department_values(d: Department) -> Values:
    return {
        "id": d.id,
        "name": d.name,
        "parent_id": d.parent_id,
        "level": int(d.level),
        "region_code": d.region_code,
    }


def to_department(r: Row) -> Department:
    return Department(r.id, r.name, r.parent_id, DepartmentLevel(r.level), r.region_code)


def object_row(o: InspectionObject, keys: ProfileKeys) -> tuple[str, ...]:
    """The row of ``o`` (``OBJECT_NAMES``), as a tuple (imports write millions of rows); its profile is
    named through ``keys``, which then holds it."""
    values = (
        o.region_code,
        o.registering_department_id,
        o.industry,
        _dump_tuple(o.business_lines),
        _RISK_CLASS_VALUES[o.risk_class],
        _STATUS_VALUES[o.status],
        o.office,
    )
    return (o.credit_code, o.name, *values, keys[values])


def object_rows(objects: ObjectColumns, keys: ProfileKeys) -> ColumnRows:
    """``object_row`` of every object, in the columns' order, each made only when read (no object made,
    C-level passes only). The profile keys are all computed now (``keys`` then holds every profile the
    rows name, to store first); the rows themselves are zipped from the columns a block at a time as
    ``COPY`` reads them, beside the database storing the blocks before: no list of a million rows (~130
    MB), and the making overlaps the writing."""
    lines = list(map(_dump_tuple, objects.business_lines))
    risk_classes = list(map(_RISK_CLASS_VALUES.__getitem__, objects.risk_classes))
    statuses = list(map(_STATUS_VALUES.__getitem__, objects.statuses))
    profiles = (
        objects.region_codes,
        objects.registering_department_ids,
        objects.industries,
        lines,
        risk_classes,
        statuses,
        objects.offices,
    )
    profile_keys = list(map(keys.__getitem__, zip(*profiles, strict=True)))
    return ColumnRows((objects.credit_codes, objects.names, *profiles, profile_keys))


class ColumnRows(Sequence[tuple[Any, ...]]):
    """Rows made from equal-length columns when they are read: iterating zips them afresh each time."""

    def __init__(self, columns: Sequence[Sequence[Any]]) -> None:
        self._columns = columns
        self._length = len(columns[0]) if columns else 0
        if any(len(column) != self._length for column in columns):
            raise ValueError("columns of different lengths")

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return zip(*self._columns, strict=True)

    @overload
    def __getitem__(self, index: int) -> tuple[Any, ...]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[Any, ...]]: ...

    def __getitem__(self, index: int | slice) -> tuple[Any, ...] | list[tuple[Any, ...]]:
        if isinstance(index, slice):
            return list(zip(*(column[index] for column in self._columns), strict=True))
        return tuple(column[index] for column in self._columns)


# ``.value`` of an enum member is a Python-level property (a sixth of ``object_row``); dict look-ups are not.
_RISK_CLASS_VALUES = {member: member.value for member in RiskClass}
_STATUS_VALUES = {member: member.value for member in ObjectStatus}


_dump_tuple = functools.lru_cache(maxsize=4096)(dump_strings)
"""Cached: most objects share one of a few lists of business lines."""

OBJECT_COLUMNS = tuple(OBJECTS.c[name] for name in ("credit_code", "name", *PROFILE_NAMES))


OBJECT_NAMES = (*(column.name for column in OBJECT_COLUMNS), "profile_key")
"""The columns of a written object row (``object_row``): those read, and its profile's key."""
PROFILE_ROW_NAMES = ("profile_key", *PROFILE_NAMES)
"""The columns of an ``object_profiles`` row (``ProfileKeys.rows``)."""


def to_object(r: Row) -> InspectionObject:
    """An object from a row of ``OBJECT_COLUMNS``."""
    return to_objects([r])[0]


def to_objects(rows: Iterable[Row]) -> list[InspectionObject]:
    """``to_object`` of each row; a business-line list is parsed once per distinct text (a directory of a
    million objects has a few hundred), and equal region codes, departments, industries and offices are
    one shared string each: the driver makes a new string per cell, ~160 MB of a 1M draw's memory."""
    parsed: dict[str, tuple[str, ...]] = {}
    shared: dict[str, str] = {}
    share = shared.setdefault  # the first string seen with each value stands for all equal ones
    risk_classes, statuses = _RISK_CLASS, _OBJECT_STATUS
    objects = []
    for credit_code, name, region_code, department_id, industry, lines, risk_class, status, office in rows:
        business_lines = parsed.get(lines)
        if business_lines is None:
            business_lines = parsed[lines] = load_strings(lines)
        objects.append(
            InspectionObject(
                credit_code,
                name,
                share(region_code, region_code),
                share(department_id, department_id),
                share(industry, industry),
                business_lines,
                risk_classes[risk_class],
                statuses[status],
                share(office, office),
            )
        )
    return objects


DRAW_OBJECT_COLUMNS = (OBJECTS.c.credit_code, OBJECTS.c.profile_key)
"""What a draw reads of each object: its credit code and its profile's key (``to_profiles``)."""
PROFILE_COLUMNS = tuple(OBJECT_PROFILES.c[name] for name in PROFILE_ROW_NAMES)


def to_profiles(rows: Iterable[Sequence[Any]]) -> dict[str, ObjectProfile]:
    """Key → profile, from rows of ``PROFILE_COLUMNS``."""
    return {
        key: ObjectProfile(
            region_code,
            department_id,
            industry,
            load_strings(lines),
            _RISK_CLASS[risk_class],
            _OBJECT_STATUS[status],
            office,
        )
        for key, region_code, department_id, industry, lines, risk_class, status, office in rows
    }


def complaint_values(c: Complaint) -> Values:
    return {
        "id": c.id,
        "credit_code": c.credit_code,
        "status": c.status.value,
        "received_on": c.received_on,
        "closed_on": c.closed_on,
        "summary": c.summary,
    }


def to_complaint(r: Row) -> Complaint:
    return Complaint(r.id, r.credit_code, ComplaintStatus(r.status), r.received_on, r.closed_on, r.summary)


def campaign_values(c: Campaign) -> Values:
    return {
        "id": c.id,
        "name": c.name,
        "organizer_department_id": c.organizer_department_id,
        "region_code": c.region_code,
        "industry": c.industry,
        "business_line": c.business_line,
        "starts_on": c.starts_on,
        "ends_on": c.ends_on,
    }


def to_campaign(r: Row) -> Campaign:
    return Campaign(
        r.id,
        r.name,
        r.organizer_department_id,
        r.region_code,
        r.industry,
        r.business_line,
        r.starts_on,
        r.ends_on,
    )


def risk_assessment_values(a: RiskAssessment) -> Values:
    return {
        "id": a.id,
        "credit_code": a.credit_code,
        "conclusion": a.conclusion.value,
        "assessed_on": a.assessed_on,
        "valid_until": a.valid_until,
        "note": a.note,
    }


def to_risk_assessment(r: Row) -> RiskAssessment:
    return RiskAssessment(
        r.id, r.credit_code, RiskConclusion(r.conclusion), r.assessed_on, r.valid_until, r.note
    )


def designation_values(s: StatutoryDesignation) -> Values:
    return {
        "id": s.id,
        "credit_code": s.credit_code,
        "business_line": s.business_line,
        "method": s.method,
        "legal_basis": s.legal_basis,
        "valid_from": s.valid_from,
        "valid_to": s.valid_to,
    }


def to_designation(r: Row) -> StatutoryDesignation:
    return StatutoryDesignation(
        r.id, r.credit_code, r.business_line, r.method, r.legal_basis, r.valid_from, r.valid_to
    )


def item_values(i: InspectionItem) -> Values:
    return {
        "code": i.code,
        "name": i.name,
        "legal_basis": i.legal_basis,
        "business_line": i.business_line,
        "target_scope": i.target_scope,
        "required_speciality": i.required_speciality,
        "kind": i.kind.value,
        "default_ratio_numerator": i.default_ratio.numerator,
        "default_ratio_denominator": i.default_ratio.denominator,
        "department_id": i.department_id,
        "created_at": i.created_at,
        "frequency_cap": i.frequency_cap,
        "unqualified_assistant": i.unqualified_assistant,
        "team_size": i.team_size,
        "days_per_inspection_numerator": i.days_per_inspection.numerator,
        "days_per_inspection_denominator": i.days_per_inspection.denominator,
        "cost_per_inspection_numerator": i.cost_per_inspection.numerator,
        "cost_per_inspection_denominator": i.cost_per_inspection.denominator,
        "testing_fee_numerator": i.testing_fee.numerator,
        "testing_fee_denominator": i.testing_fee.denominator,
    }


def to_item(r: Row) -> InspectionItem:
    return InspectionItem(
        code=r.code,
        name=r.name,
        legal_basis=r.legal_basis,
        business_line=r.business_line,
        target_scope=r.target_scope,
        required_speciality=r.required_speciality,
        kind=ItemKind(r.kind),
        default_ratio=Fraction(r.default_ratio_numerator, r.default_ratio_denominator),
        department_id=r.department_id,
        created_at=r.created_at,
        frequency_cap=r.frequency_cap,
        unqualified_assistant=bool(r.unqualified_assistant),
        team_size=r.team_size,
        days_per_inspection=Fraction(r.days_per_inspection_numerator, r.days_per_inspection_denominator),
        cost_per_inspection=Fraction(r.cost_per_inspection_numerator, r.cost_per_inspection_denominator),
        testing_fee=Fraction(r.testing_fee_numerator, r.testing_fee_denominator),
    )


def task_values(t: Task) -> Values:
    return {
        "id": t.id,
        "item_code": t.item_code,
        "department_id": t.department_id,
        "ratio_numerator": t.ratio.numerator,
        "ratio_denominator": t.ratio.denominator,
        "team_size": t.team_size,
        "scope_region_code": t.scope.region_code,
        "scope_industries_json": dump_strings(t.scope.industries),
        "title": t.title,
        "created_at": t.created_at,
        "draw_id": t.draw_id,
        "policy_json": t.policy_json,
        "plan_id": t.plan.plan_id if t.plan else None,
        "plan_version": t.plan.version if t.plan else None,
        "plan_entry_id": t.plan.entry_id if t.plan else None,
        "plan_period": t.plan.period if t.plan else None,
        "plan_slot": t.plan_slot,
        "rehearsal": t.rehearsal,
    }


def to_task(r: Row) -> Task:
    return Task(
        id=r.id,
        item_code=r.item_code,
        department_id=r.department_id,
        ratio=Fraction(r.ratio_numerator, r.ratio_denominator),
        team_size=r.team_size,
        scope=TaskScope(r.scope_region_code, load_strings(r.scope_industries_json)),
        title=r.title,
        created_at=r.created_at,
        draw_id=r.draw_id,
        policy_json=r.policy_json,
        plan=None
        if r.plan_id is None
        else PlanRef(r.plan_id, r.plan_version, r.plan_entry_id, r.plan_period),
        rehearsal=bool(r.rehearsal),
    )


def draw_values(d: Draw) -> Values:
    return {
        "id": d.id,
        "task_id": d.task_id,
        "created_at": d.created_at,
        "actor": d.actor,
        "algorithm_version": d.algorithm_version,
        "seed": d.seed,
        "entropy_source": d.entropy_source,
        "entropy": d.entropy,
        "manifest_hash": d.manifest_hash,
        "manifest_json": d.manifest_json,
        "rule_set_hash": d.rule_set_hash,
        "rule_set_version": d.rule_set_version,
        "as_of": d.as_of,
        "in_scope_count": d.in_scope_count,
        "excluded_count": d.excluded_count,
        "eligible_count": d.eligible_count,
        "selected_count": d.selected_count,
        "team_size": d.team_size,
        "ratio_numerator": d.ratio.numerator,
        "ratio_denominator": d.ratio.denominator,
        "eligible_digest": d.eligible_digest,
        "inspector_pool_digest": d.inspector_pool_digest,
        "state": d.state,
        "state_reason": d.state_reason,
        "state_note": d.state_note,
        "executed_at": d.executed_at,
    }


def to_draw(r: Row) -> Draw:
    return Draw(
        id=r.id,
        task_id=r.task_id,
        created_at=r.created_at,
        actor=r.actor,
        algorithm_version=r.algorithm_version,
        seed=r.seed,
        entropy_source=r.entropy_source,
        entropy=r.entropy,
        manifest_hash=r.manifest_hash,
        manifest_json=r.manifest_json,
        rule_set_hash=r.rule_set_hash,
        rule_set_version=r.rule_set_version,
        as_of=r.as_of,
        in_scope_count=r.in_scope_count,
        excluded_count=r.excluded_count,
        eligible_count=r.eligible_count,
        selected_count=r.selected_count,
        team_size=r.team_size,
        ratio=Fraction(r.ratio_numerator, r.ratio_denominator),
        eligible_digest=r.eligible_digest,
        inspector_pool_digest=r.inspector_pool_digest,
        state=r.state,
        state_reason=r.state_reason,
        state_note=r.state_note,
        executed_at=r.executed_at,
    )


EXCLUSION_COLUMNS = tuple(
    EXCLUSIONS.c[name]
    for name in ("credit_code", "rule_id", "category", "reason", "legal_basis", "evidence_json")
)
_EXCLUSION_CATEGORY: dict[str, ExclusionCategory | SystemExclusionCategory] = {
    m.value: m for m in [*ExclusionCategory, *SystemExclusionCategory]
}


def to_exclusion(r: Row) -> Exclusion:
    """An exclusion from a row of ``EXCLUSION_COLUMNS``."""
    credit_code, rule_id, category, reason, legal_basis, evidence = r
    return Exclusion(
        credit_code=credit_code,
        rule_id=rule_id,
        category=_EXCLUSION_CATEGORY[category],
        reason=reason,
        legal_basis=legal_basis,
        evidence=load_strings(evidence),
    )


def to_audit_event(r: Row) -> AuditEvent:
    return AuditEvent(
        r.sequence, r.occurred_at, r.actor, r.action, r.resource, r.before_json, r.after_json, r.request_id
    )
