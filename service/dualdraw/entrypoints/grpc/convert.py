"""Proto <-> domain conversion. Parsing from proto checks syntax (dates, enums, required fields) and records
every problem in a ``Violations`` collector under the request's field path; semantic checks live in the use
cases."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from dualdraw.domain import model
from dualdraw.domain.draw.algorithm import format_ratio, parse_ratio
from dualdraw.domain.errors import Violations
from dualdraw.domain.policy import MAX_ITEM_FREQUENCY_CAP, JointInspection, Raise, TaskPolicy
from dualdraw.service_layer.directory import Transfer, TransferKind
from dualdraw.v1 import audit_pb2, directory_pb2, draws_pb2, items_pb2, tasks_pb2

E = TypeVar("E")

RISK_CLASS: dict[int, model.RiskClass] = {
    directory_pb2.RISK_CLASS_A: model.RiskClass.A,
    directory_pb2.RISK_CLASS_B: model.RiskClass.B,
    directory_pb2.RISK_CLASS_C: model.RiskClass.C,
    directory_pb2.RISK_CLASS_D: model.RiskClass.D,
}
OBJECT_STATUS: dict[int, model.ObjectStatus] = {
    directory_pb2.OBJECT_STATUS_ACTIVE: model.ObjectStatus.ACTIVE,
    directory_pb2.OBJECT_STATUS_SUSPENDED: model.ObjectStatus.SUSPENDED,
    directory_pb2.OBJECT_STATUS_DEREGISTERED: model.ObjectStatus.DEREGISTERED,
}
COMPLAINT_STATUS: dict[int, model.ComplaintStatus] = {
    directory_pb2.COMPLAINT_STATUS_RECEIVED: model.ComplaintStatus.RECEIVED,
    directory_pb2.COMPLAINT_STATUS_HANDLING: model.ComplaintStatus.HANDLING,
    directory_pb2.COMPLAINT_STATUS_CLOSED: model.ComplaintStatus.CLOSED,
}
RISK_CONCLUSION: dict[int, model.RiskConclusion] = {
    directory_pb2.RISK_CONCLUSION_SUITABLE: model.RiskConclusion.SUITABLE,
    directory_pb2.RISK_CONCLUSION_UNSUITABLE: model.RiskConclusion.UNSUITABLE,
}
ITEM_KIND: dict[int, model.ItemKind] = {
    items_pb2.ITEM_KIND_GENERAL: model.ItemKind.GENERAL,
    items_pb2.ITEM_KIND_KEY: model.ItemKind.KEY,
}


def _invert(table: dict[int, E]) -> dict[E, int]:
    return {v: k for k, v in table.items()}


RISK_CLASS_PB = _invert(RISK_CLASS)
OBJECT_STATUS_PB = _invert(OBJECT_STATUS)
COMPLAINT_STATUS_PB = _invert(COMPLAINT_STATUS)
RISK_CONCLUSION_PB = _invert(RISK_CONCLUSION)
ITEM_KIND_PB = _invert(ITEM_KIND)


# -- small parsers -------------------------------------------------------------------------------------------


def required(value: str, path: str, v: Violations) -> str:
    text = value.strip()
    if not text:
        v.add(path, "is required")
    return text


def parse_optional_date(value: str, path: str, v: Violations) -> dt.date | None:
    """``None`` for an empty field; a malformed date is a violation (and ``None``)."""
    if not value:
        return None
    if len(value) == len("YYYY-MM-DD"):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    v.add(path, f"{value!r} is not a date in the form YYYY-MM-DD")
    return None


def parse_date(value: str, path: str, v: Violations) -> dt.date:
    """A required date. On a violation the result is a placeholder that must not be used."""
    if not value:
        v.add(path, "is required (YYYY-MM-DD)")
        return dt.date.min
    return parse_optional_date(value, path, v) or dt.date.min


def parse_enum(value: int, table: dict[int, E], path: str, v: Violations) -> E:
    """The domain value of a proto enum. On a violation the result is a placeholder that must not be used."""
    if value not in table:
        v.add(path, "must be set to one of the defined values" if value == 0 else f"unknown value {value}")
        return next(iter(table.values()))
    return table[value]


def parse_ratio_field(value: str, path: str, v: Violations) -> Fraction | None:
    try:
        return parse_ratio(value)
    except ValueError as exc:
        v.add(path, str(exc))
        return None


def fmt_date(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def timestamp(value: dt.datetime | None) -> Timestamp:
    ts = Timestamp()
    if value is not None:
        ts.FromDatetime(value.astimezone(dt.UTC))
    return ts


def _all_ok(v: Violations, before: int, build: Callable[[], E]) -> E | None:
    """Builds the record only when no violation was added since ``before``."""
    return build() if len(v.items) == before else None


# -- directory -----------------------------------------------------------------------------------------------


RECORD_KINDS: dict[int, TransferKind] = {
    directory_pb2.RECORD_KIND_OBJECT: "object",
    directory_pb2.RECORD_KIND_INSPECTOR: "inspector",
    directory_pb2.RECORD_KIND_DEPARTMENT: "department",
}


def record_kind_from_pb(kind: int) -> TransferKind | None:
    """The kind of record a ``TransferRecordRequest`` moves (``None``: unspecified or unknown)."""
    return RECORD_KINDS.get(kind)


def transfer_to_pb(t: Transfer) -> directory_pb2.TransferRecordResponse:
    kind = next(k for k, name in RECORD_KINDS.items() if name == t.kind)
    return directory_pb2.TransferRecordResponse(
        kind=kind,  # type: ignore[arg-type]  # enum values are ints
        key=t.key,
        from_department_id=t.from_department_id,
        to_department_id=t.to_department_id,
        moved=t.moved,
    )


def department_from_pb(pb: directory_pb2.Department, path: str, v: Violations) -> model.Department | None:
    n = len(v.items)
    id_ = required(pb.id, f"{path}.id", v)
    name = required(pb.name, f"{path}.name", v)
    level = model.DepartmentLevel.PROVINCE
    try:
        level = model.DepartmentLevel(pb.level)
    except ValueError:
        v.add(f"{path}.level", "must be 1 (province), 2 (city) or 3 (district)")
    region = required(pb.region_code, f"{path}.region_code", v)
    return _all_ok(v, n, lambda: model.Department(id_, name, pb.parent_id or None, level, region))


def department_to_pb(d: model.Department) -> directory_pb2.Department:
    return directory_pb2.Department(
        id=d.id, name=d.name, parent_id=d.parent_id or "", level=int(d.level), region_code=d.region_code
    )


def object_from_pb(
    pb: directory_pb2.InspectionObject, path: str, v: Violations
) -> model.InspectionObject | None:
    record = well_formed_object(pb)
    if record is not None:
        return record
    n = len(v.items)
    code = required(pb.credit_code, f"{path}.credit_code", v).upper()
    name = required(pb.name, f"{path}.name", v)
    region = required(pb.region_code, f"{path}.region_code", v)
    dept = required(pb.registering_department_id, f"{path}.registering_department_id", v)
    risk = parse_enum(pb.risk_class, RISK_CLASS, f"{path}.risk_class", v)
    status = parse_enum(pb.status, OBJECT_STATUS, f"{path}.status", v)
    return _all_ok(
        v,
        n,
        lambda: model.InspectionObject(
            credit_code=code,
            name=name,
            region_code=region,
            registering_department_id=dept,
            industry=pb.industry.strip(),
            business_lines=_business_lines(pb.business_lines),
            risk_class=risk,
            status=status,
            office=pb.office.strip(),
        ),
    )


def well_formed_object(pb: directory_pb2.InspectionObject) -> model.InspectionObject | None:
    """``object_from_pb`` of a record without problems, else ``None`` (then ``object_from_pb`` names them).

    A million of these per import: each field is read once, and no field path is built.
    """
    code, name, region = pb.credit_code.strip(), pb.name.strip(), pb.region_code.strip()
    dept = pb.registering_department_id.strip()
    risk, status = RISK_CLASS.get(pb.risk_class), OBJECT_STATUS.get(pb.status)
    if code and name and region and dept and risk is not None and status is not None:
        return model.InspectionObject(
            credit_code=code.upper(),
            name=name,
            region_code=region,
            registering_department_id=dept,
            industry=pb.industry.strip(),
            business_lines=_business_lines(pb.business_lines),
            risk_class=risk,
            status=status,
            office=pb.office.strip(),
        )
    return None


def _business_lines(values: Sequence[str]) -> tuple[str, ...]:
    """The distinct non-blank lines, trimmed and sorted (most objects have one)."""
    if len(values) == 1:
        return _one_line(values[0])
    return _lines(tuple(values))


def _one_line(value: str) -> tuple[str, ...]:
    only = value.strip()
    return (only,) if only else ()


@functools.lru_cache(maxsize=4096)
def _lines(values: tuple[str, ...]) -> tuple[str, ...]:
    """Cached: many objects list the same few combinations of business lines."""
    return tuple(sorted({b.strip() for b in values if b.strip()}))


def object_to_pb(o: model.InspectionObject) -> directory_pb2.InspectionObject:
    return directory_pb2.InspectionObject(
        credit_code=o.credit_code,
        name=o.name,
        region_code=o.region_code,
        registering_department_id=o.registering_department_id,
        industry=o.industry,
        business_lines=list(o.business_lines),
        risk_class=RISK_CLASS_PB[o.risk_class],  # type: ignore[arg-type]  # enum values are ints
        status=OBJECT_STATUS_PB[o.status],  # type: ignore[arg-type]  # enum values are ints
        office=o.office,
    )


def inspector_from_pb(pb: directory_pb2.Inspector, path: str, v: Violations) -> model.Inspector | None:
    n = len(v.items)
    badge = required(pb.badge_number, f"{path}.badge_number", v)
    name = required(pb.name, f"{path}.name", v)
    dept = required(pb.department_id, f"{path}.department_id", v)
    specialities = []
    for i, s in enumerate(pb.specialities):
        sp = f"{path}.specialities[{i}]"
        code = required(s.code, f"{sp}.code", v)
        expires = parse_optional_date(s.certificate_expires_on, f"{sp}.certificate_expires_on", v)
        specialities.append(model.Speciality(code, expires))
    conflicts = frozenset(c.strip().upper() for c in pb.conflicts if c.strip())
    return _all_ok(
        v,
        n,
        lambda: model.Inspector(
            badge, name, dept, pb.office.strip(), tuple(specialities), pb.available, conflicts
        ),
    )


def inspector_to_pb(i: model.Inspector) -> directory_pb2.Inspector:
    return directory_pb2.Inspector(
        badge_number=i.badge_number,
        name=i.name,
        department_id=i.department_id,
        office=i.office,
        specialities=[
            directory_pb2.Speciality(code=s.code, certificate_expires_on=fmt_date(s.certificate_expires_on))
            for s in i.specialities
        ],
        available=i.available,
        conflicts=sorted(i.conflicts),
    )


def complaint_from_pb(pb: directory_pb2.Complaint, path: str, v: Violations) -> model.Complaint | None:
    n = len(v.items)
    id_ = required(pb.id, f"{path}.id", v)
    code = required(pb.credit_code, f"{path}.credit_code", v).upper()
    status = parse_enum(pb.status, COMPLAINT_STATUS, f"{path}.status", v)
    received = parse_date(pb.received_on, f"{path}.received_on", v)
    closed = parse_optional_date(pb.closed_on, f"{path}.closed_on", v)
    return _all_ok(
        v,
        n,
        lambda: model.Complaint(id_, code, status, received, closed, pb.summary),
    )


def complaint_to_pb(c: model.Complaint) -> directory_pb2.Complaint:
    return directory_pb2.Complaint(
        id=c.id,
        credit_code=c.credit_code,
        status=COMPLAINT_STATUS_PB[c.status],  # type: ignore[arg-type]  # enum values are ints
        received_on=fmt_date(c.received_on),
        closed_on=fmt_date(c.closed_on),
        summary=c.summary,
    )


def campaign_from_pb(pb: directory_pb2.Campaign, path: str, v: Violations) -> model.Campaign | None:
    n = len(v.items)
    id_ = required(pb.id, f"{path}.id", v)
    name = required(pb.name, f"{path}.name", v)
    org = required(pb.organizer_department_id, f"{path}.organizer_department_id", v)
    region = required(pb.region_code, f"{path}.region_code", v)
    starts = parse_date(pb.starts_on, f"{path}.starts_on", v)
    ends = parse_date(pb.ends_on, f"{path}.ends_on", v)
    return _all_ok(
        v,
        n,
        lambda: model.Campaign(
            id_,
            name,
            org,
            region,
            pb.industry.strip(),
            pb.business_line.strip(),
            starts,
            ends,
        ),
    )


def campaign_to_pb(c: model.Campaign) -> directory_pb2.Campaign:
    return directory_pb2.Campaign(
        id=c.id,
        name=c.name,
        organizer_department_id=c.organizer_department_id,
        region_code=c.region_code,
        industry=c.industry,
        business_line=c.business_line,
        starts_on=fmt_date(c.starts_on),
        ends_on=fmt_date(c.ends_on),
    )


def risk_assessment_from_pb(
    pb: directory_pb2.RiskAssessment, path: str, v: Violations
) -> model.RiskAssessment | None:
    n = len(v.items)
    id_ = required(pb.id, f"{path}.id", v)
    code = required(pb.credit_code, f"{path}.credit_code", v).upper()
    conclusion = parse_enum(pb.conclusion, RISK_CONCLUSION, f"{path}.conclusion", v)
    assessed = parse_date(pb.assessed_on, f"{path}.assessed_on", v)
    valid_until = parse_optional_date(pb.valid_until, f"{path}.valid_until", v)
    return _all_ok(
        v,
        n,
        lambda: model.RiskAssessment(id_, code, conclusion, assessed, valid_until, pb.note),
    )


def risk_assessment_to_pb(r: model.RiskAssessment) -> directory_pb2.RiskAssessment:
    return directory_pb2.RiskAssessment(
        id=r.id,
        credit_code=r.credit_code,
        conclusion=RISK_CONCLUSION_PB[r.conclusion],  # type: ignore[arg-type]  # enum values are ints
        assessed_on=fmt_date(r.assessed_on),
        valid_until=fmt_date(r.valid_until),
        note=r.note,
    )


def designation_from_pb(
    pb: directory_pb2.StatutoryDesignation, path: str, v: Violations
) -> model.StatutoryDesignation | None:
    n = len(v.items)
    id_ = required(pb.id, f"{path}.id", v)
    code = required(pb.credit_code, f"{path}.credit_code", v).upper()
    line = required(pb.business_line, f"{path}.business_line", v)
    method = required(pb.method, f"{path}.method", v)
    valid_from = parse_date(pb.valid_from, f"{path}.valid_from", v)
    valid_to = parse_optional_date(pb.valid_to, f"{path}.valid_to", v)
    return _all_ok(
        v,
        n,
        lambda: model.StatutoryDesignation(id_, code, line, method, pb.legal_basis, valid_from, valid_to),
    )


def designation_to_pb(d: model.StatutoryDesignation) -> directory_pb2.StatutoryDesignation:
    return directory_pb2.StatutoryDesignation(
        id=d.id,
        credit_code=d.credit_code,
        business_line=d.business_line,
        method=d.method,
        legal_basis=d.legal_basis,
        valid_from=fmt_date(d.valid_from),
        valid_to=fmt_date(d.valid_to),
    )


# -- items and tasks -----------------------------------------------------------------------------------------


def item_from_pb(pb: items_pb2.InspectionItem, path: str, v: Violations) -> model.InspectionItem | None:
    n = len(v.items)
    code = required(pb.code, f"{path}.code", v)
    name = required(pb.name, f"{path}.name", v)
    basis = required(pb.legal_basis, f"{path}.legal_basis", v)
    line = required(pb.business_line, f"{path}.business_line", v)
    speciality = required(pb.required_speciality, f"{path}.required_speciality", v)
    kind = parse_enum(pb.kind, ITEM_KIND, f"{path}.kind", v)
    ratio = parse_ratio_field(pb.default_ratio, f"{path}.default_ratio", v)
    dept = required(pb.department_id, f"{path}.department_id", v)
    if not 0 <= pb.frequency_cap <= MAX_ITEM_FREQUENCY_CAP:
        v.add(f"{path}.frequency_cap", f"must be 0 (not set: the default 1) to {MAX_ITEM_FREQUENCY_CAP}")
    if ratio is None:
        return None
    return _all_ok(
        v,
        n,
        lambda: model.InspectionItem(
            code,
            name,
            basis,
            line,
            pb.target_scope,
            speciality,
            kind,
            ratio,
            dept,
            frequency_cap=pb.frequency_cap or None,
        ),
    )


def item_to_pb(i: model.InspectionItem) -> items_pb2.InspectionItem:
    return items_pb2.InspectionItem(
        code=i.code,
        name=i.name,
        legal_basis=i.legal_basis,
        business_line=i.business_line,
        target_scope=i.target_scope,
        required_speciality=i.required_speciality,
        kind=ITEM_KIND_PB[i.kind],  # type: ignore[arg-type]  # enum values are ints
        default_ratio=format_ratio(i.default_ratio),
        department_id=i.department_id,
        create_time=timestamp(i.created_at),
        frequency_cap=i.frequency_cap or 0,
    )


def task_to_pb(t: model.Task) -> tasks_pb2.Task:
    return tasks_pb2.Task(
        id=t.id,
        item_code=t.item_code,
        department_id=t.department_id,
        ratio=format_ratio(t.ratio),
        team_size=t.team_size,
        scope=tasks_pb2.TaskScope(region_code=t.scope.region_code or "", industries=list(t.scope.industries)),
        title=t.title,
        create_time=timestamp(t.created_at),
        draw_id=t.draw_id or "",
        policy=policy_to_pb(TaskPolicy.loads(t.policy_json)) if t.policy_json else None,
    )


# -- draws and audit -----------------------------------------------------------------------------------------


def draw_to_pb(d: model.Draw) -> draws_pb2.Draw:
    return draws_pb2.Draw(
        id=d.id,
        task_id=d.task_id,
        create_time=timestamp(d.created_at),
        actor=d.actor,
        algorithm_version=d.algorithm_version,
        seed=d.seed,
        entropy_source=d.entropy_source,
        entropy=d.entropy,
        manifest_hash=d.manifest_hash,
        rule_set_hash=d.rule_set_hash,
        rule_set_version=d.rule_set_version,
        as_of=fmt_date(d.as_of),
        in_scope_count=d.in_scope_count,
        excluded_count=d.excluded_count,
        eligible_count=d.eligible_count,
        selected_count=d.selected_count,
        team_size=d.team_size,
        ratio=format_ratio(d.ratio),
        eligible_digest=d.eligible_digest,
        inspector_pool_digest=d.inspector_pool_digest,
        state=d.state,
        state_reason=d.state_reason,
        state_note=d.state_note,
    )


def assignment_to_pb(
    draw_id: str,
    a: model.Assignment,
    object_names: dict[str, str],
    inspector_names: dict[str, str],
    department_of_object: dict[str, str] | None = None,
    department_of_inspector: dict[str, str] | None = None,
) -> draws_pb2.Assignment:
    objects = department_of_object or {}
    inspectors = department_of_inspector or {}
    return draws_pb2.Assignment(
        draw_id=draw_id,
        position=a.position,
        credit_code=a.credit_code,
        object_name=object_names.get(a.credit_code, ""),
        ticket=a.ticket,
        stratum=a.stratum,
        team=[
            draws_pb2.TeamMember(
                badge_number=m.badge_number,
                name=inspector_names.get(m.badge_number, ""),
                leader=m.leader,
                department_id=inspectors.get(m.badge_number),
            )
            for m in a.team
        ],
        department_id=objects.get(a.credit_code),
    )


def raise_to_pb(draw_id: str, r: Raise) -> draws_pb2.Raise:
    return draws_pb2.Raise(
        draw_id=draw_id,
        credit_code=r.credit_code,
        from_class=r.from_class,
        to_class=r.to_class,
        reason=r.reason,
        evidence=list(r.evidence),
    )


def joint_inspection_to_pb(j: JointInspection) -> draws_pb2.JointInspection:
    return draws_pb2.JointInspection(
        credit_code=j.credit_code,
        year=j.year,
        draw_ids=[p.draw_id for p in j.parts],
        positions=[p.position for p in j.parts],
        department_ids=list(j.department_ids),
        team=[draws_pb2.TeamMember(badge_number=b, leader=n == 0) for n, b in enumerate(j.team)],
    )


def policy_from_pb(pb: tasks_pb2.Task, v: Violations) -> TaskPolicy | None:
    """The task's policy; ``None`` when the request has none (a ``dualdraw-draw/1`` task)."""
    if not pb.HasField("policy"):
        return None
    p = pb.policy
    ratios: dict[str, Fraction] = {}
    for i, cr in enumerate(p.class_ratios):
        cls = cr.risk_class.strip().upper()
        if cls in ratios:
            v.add(f"task.policy.class_ratios[{i}].risk_class", f"class {cls} listed twice")
            continue
        r = parse_ratio_field(cr.ratio, f"task.policy.class_ratios[{i}].ratio", v)
        if r is not None:
            ratios[cls] = r
    return TaskPolicy(
        class_ratios=ratios,
        complaint_threshold=p.complaint_threshold,
        raise_window_days=p.raise_window_days or 365,
        raise_on_serious_violation=p.raise_on_serious_violation,
        raise_to=p.raise_to.strip().upper(),
        frequency_cap=0 if p.no_frequency_cap else (p.frequency_cap or None),
        campaign=p.campaign,
        central=p.central,
        cross_office=p.cross_office,
        recent_cycles=p.recent_cycles,
        workload_cap=p.workload_cap,
        cooperating_department_ids=tuple(d.strip() for d in p.cooperating_department_ids),
        cooperating_team_size=p.cooperating_team_size or 1,
        enabled=True,
    )


def policy_to_pb(policy: TaskPolicy) -> tasks_pb2.TaskPolicy:
    return tasks_pb2.TaskPolicy(
        class_ratios=[
            tasks_pb2.ClassRatio(risk_class=c, ratio=format_ratio(r))
            for c, r in sorted(policy.class_ratios.items())
        ],
        complaint_threshold=policy.complaint_threshold,
        raise_window_days=policy.raise_window_days,
        raise_on_serious_violation=policy.raise_on_serious_violation,
        raise_to=policy.raise_to,
        frequency_cap=policy.frequency_cap or 0,
        no_frequency_cap=policy.frequency_cap == 0,
        campaign=policy.campaign,
        central=policy.central,
        cross_office=policy.cross_office,
        recent_cycles=policy.recent_cycles,
        workload_cap=policy.workload_cap,
        cooperating_department_ids=list(policy.cooperating_department_ids),
        cooperating_team_size=policy.cooperating_team_size,
    )


def exclusion_to_pb(draw_id: str, e: model.Exclusion, object_names: dict[str, str]) -> draws_pb2.Exclusion:
    return draws_pb2.Exclusion(
        draw_id=draw_id,
        credit_code=e.credit_code,
        object_name=object_names.get(e.credit_code, ""),
        rule_id=e.rule_id,
        category=str(e.category),
        reason=e.reason,
        legal_basis=e.legal_basis,
        evidence=list(e.evidence),
    )


def audit_event_to_pb(e: model.AuditEvent) -> audit_pb2.AuditEvent:
    return audit_pb2.AuditEvent(
        sequence=e.sequence,
        occur_time=timestamp(e.occurred_at),
        actor=e.actor,
        action=e.action,
        resource=e.resource,
        before_json=e.before_json,
        after_json=e.after_json,
        request_id=e.request_id,
    )
