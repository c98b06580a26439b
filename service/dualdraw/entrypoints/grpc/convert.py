"""Proto <-> domain conversion. Parsing from proto checks syntax (dates, enums, required fields) and records
every problem in a ``Violations`` collector under the request's field path; semantic checks live in the use
cases."""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Callable
from fractions import Fraction
from typing import TypeVar

from google.protobuf.timestamp_pb2 import Timestamp
from google.type import date_pb2, decimal_pb2

from dualdraw.domain import model
from dualdraw.domain.draw.algorithm import format_ratio, is_decimal_text, parse_ratio
from dualdraw.domain.errors import Violations
from dualdraw.domain.inspection_history import JointInspection
from dualdraw.domain.plan.model import workload_problems
from dualdraw.domain.policy import MAX_ITEM_FREQUENCY_CAP, Raise, TaskPolicy
from dualdraw.entrypoints.grpc import resource_names as names
from dualdraw.service_layer.draw_abandon import ABANDON_REASONS
from dualdraw.service_layer.entropy_policy import entropy_note
from dualdraw.v1 import audit_pb2, directory_pb2, draws_pb2, items_pb2, tasks_pb2

E = TypeVar("E")
_D = TypeVar("_D", bound=Fraction | None)

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
DEPARTMENT_LEVEL: dict[int, model.DepartmentLevel] = {
    directory_pb2.DEPARTMENT_LEVEL_PROVINCE: model.DepartmentLevel.PROVINCE,
    directory_pb2.DEPARTMENT_LEVEL_CITY: model.DepartmentLevel.CITY,
    directory_pb2.DEPARTMENT_LEVEL_DISTRICT: model.DepartmentLevel.DISTRICT,
}
DRAW_STATE_PB: dict[str, draws_pb2.DrawState.ValueType] = {
    "committed": draws_pb2.DRAW_STATE_COMMITTED,
    "executed": draws_pb2.DRAW_STATE_EXECUTED,
    "abandoned": draws_pb2.DRAW_STATE_ABANDONED,
}
EXCLUSION_CATEGORY_PB: dict[str, draws_pb2.ExclusionCategory.ValueType] = {
    model.ExclusionCategory.STATUTORY_METHOD: draws_pb2.EXCLUSION_CATEGORY_STATUTORY_METHOD,
    model.ExclusionCategory.COMPLAINT_HANDLING: draws_pb2.EXCLUSION_CATEGORY_COMPLAINT_HANDLING,
    model.ExclusionCategory.RISK_UNSUITABLE: draws_pb2.EXCLUSION_CATEGORY_RISK_UNSUITABLE,
    model.ExclusionCategory.HIGHER_LEVEL_CAMPAIGN: draws_pb2.EXCLUSION_CATEGORY_HIGHER_LEVEL_CAMPAIGN,
    model.SystemExclusionCategory.FREQUENCY_CAP: draws_pb2.EXCLUSION_CATEGORY_FREQUENCY_CAP,
    model.SystemExclusionCategory.OTHER_LEVEL: draws_pb2.EXCLUSION_CATEGORY_OTHER_LEVEL,
}
ABANDON_REASON_PB: dict[str, draws_pb2.AbandonReason.ValueType] = {
    code: draws_pb2.AbandonReason.Value(f"ABANDON_REASON_{code}") for code in ABANDON_REASONS
}


def abandon_reason_pb(code: str) -> draws_pb2.AbandonReason.ValueType:
    """The proto value of a stored abandon reason code; "" (a draw not abandoned) is UNSPECIFIED."""
    return ABANDON_REASON_PB[code] if code else draws_pb2.ABANDON_REASON_UNSPECIFIED


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
DEPARTMENT_LEVEL_PB: dict[model.DepartmentLevel, directory_pb2.DepartmentLevel.ValueType] = {
    model.DepartmentLevel.PROVINCE: directory_pb2.DEPARTMENT_LEVEL_PROVINCE,
    model.DepartmentLevel.CITY: directory_pb2.DEPARTMENT_LEVEL_CITY,
    model.DepartmentLevel.DISTRICT: directory_pb2.DEPARTMENT_LEVEL_DISTRICT,
}


def risk_class_pb(text: str) -> directory_pb2.RiskClass.ValueType:
    """The proto value of a domain class letter ("A".."D"); "" (none: a default applies) is UNSPECIFIED."""
    if not text:
        return directory_pb2.RISK_CLASS_UNSPECIFIED
    return RISK_CLASS_PB[model.RiskClass(text)]  # type: ignore[return-value]  # the table holds the enum's ints


OTHER_LEVEL_PB: dict[str, tasks_pb2.OtherLevelHandling.ValueType] = {
    "exclude": tasks_pb2.OTHER_LEVEL_HANDLING_EXCLUDE,
    "join": tasks_pb2.OTHER_LEVEL_HANDLING_JOIN,
}


def other_level_pb(text: str) -> tasks_pb2.OtherLevelHandling.ValueType:
    """The proto value of a domain handling word; "" (none: a default applies) is UNSPECIFIED."""
    return OTHER_LEVEL_PB.get(text, tasks_pb2.OTHER_LEVEL_HANDLING_UNSPECIFIED)


def other_level_text(value: int) -> str:
    """The domain word of an optional proto handling: UNSPECIFIED is "", an unknown value is kept as its
    number so the domain's check refuses it (ENUM_VALUE_UNKNOWN)."""
    if value == tasks_pb2.OTHER_LEVEL_HANDLING_UNSPECIFIED:
        return ""
    return next((word for word, number in OTHER_LEVEL_PB.items() if number == value), str(value))


def risk_class_text(value: int) -> str:
    """The domain letter of an optional proto class: UNSPECIFIED (a default applies) is "", an unknown value
    is kept as its number so the domain's check refuses it."""
    if value == directory_pb2.RISK_CLASS_UNSPECIFIED:
        return ""
    known = RISK_CLASS.get(value)
    return known.value if known is not None else str(value)


# -- small parsers -------------------------------------------------------------------------------------------


def required(value: str, path: str, v: Violations) -> str:
    text = value.strip()
    if not text:
        v.add(path, "is required", reason="FIELD_REQUIRED")
    return text


def parse_enum(value: int, table: dict[int, E], path: str, v: Violations) -> E:
    """The domain value of a proto enum. On a violation the result is a placeholder that must not be used."""
    if value not in table:
        v.add(
            path,
            "must be set to one of the defined values" if value == 0 else f"unknown value {value}",
            reason="ENUM_VALUE_UNKNOWN",
        )
        return next(iter(table.values()))
    return table[value]


_AMOUNT = re.compile(r"[0-9]{1,9}(\.[0-9]{1,6})?(/[1-9][0-9]{0,8})?")


def fraction_text(value: Fraction) -> str:
    """A fraction as the shortest exact text: ``"3"``, ``"1.5"``, else ``"7/3"``."""
    if value.denominator == 1:
        return str(value.numerator)
    try:
        return format_ratio(value) if 0 < value <= 1 else _decimal(value)
    except ValueError:
        return f"{value.numerator}/{value.denominator}"


def _decimal(value: Fraction) -> str:
    whole = value.numerator // value.denominator
    rest = value - whole
    return f"{whole}{format_ratio(rest)[1:]}"


def parse_amount(text: str, path: str, default: _D, v: Violations) -> Fraction | _D:
    """A non-negative decimal or fraction string (``"1.5"``, ``"3/2"``); empty: ``default``."""
    if not text:
        return default
    if not _AMOUNT.fullmatch(text):
        v.add(
            path,
            f"must be a non-negative decimal or fraction such as 1.5 or 3/2, got {text!r}",
            reason="VALUE_OUT_OF_RANGE",
        )
        return default
    return Fraction(text)


def share_text(value: Fraction) -> str:
    """A share in [0, 1] as decimal text rounded half-even to 6 decimals, trailing zeros dropped ("0.5",
    "0.333333", "0", "1")."""
    rounded = (decimal.Decimal(value.numerator) / decimal.Decimal(value.denominator)).quantize(
        decimal.Decimal("0.000001"), rounding=decimal.ROUND_HALF_EVEN
    )
    text = format(rounded, "f").rstrip("0").rstrip(".")
    return text or "0"


def parse_ratio_field(value: str, path: str, v: Violations) -> Fraction | None:
    try:
        return parse_ratio(value)
    except ValueError as exc:
        reason = "RATIO_OUT_OF_RANGE" if is_decimal_text(value) else "RATIO_INVALID"
        v.add(path, str(exc), reason=reason)
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


# -- items and tasks -----------------------------------------------------------------------------------------


def item_from_pb(pb: items_pb2.InspectionItem, path: str, v: Violations) -> model.InspectionItem | None:
    n = len(v.items)
    code = required(pb.code, f"{path}.code", v)
    name = required(pb.display_name, f"{path}.display_name", v)
    basis = required(pb.legal_basis, f"{path}.legal_basis", v)
    line = required(pb.business_line, f"{path}.business_line", v)
    speciality = required(pb.required_speciality, f"{path}.required_speciality", v)
    kind = parse_enum(pb.kind, ITEM_KIND, f"{path}.kind", v)
    ratio = parse_ratio_field(pb.default_ratio.value, f"{path}.default_ratio", v)
    dept = required(pb.department_id, f"{path}.department_id", v)
    if not 0 <= pb.frequency_cap <= MAX_ITEM_FREQUENCY_CAP:
        v.add(
            f"{path}.frequency_cap",
            f"must be 0 (not set: the default 1) to {MAX_ITEM_FREQUENCY_CAP}",
            reason="VALUE_OUT_OF_RANGE",
        )
    team_size = pb.team_size or 2
    days = parse_amount(pb.days_per_inspection.value, f"{path}.days_per_inspection", Fraction(1), v)
    cost = parse_amount(pb.cost_per_inspection.value, f"{path}.cost_per_inspection", Fraction(0), v)
    fee = parse_amount(pb.testing_fee.value, f"{path}.testing_fee", Fraction(0), v)
    v.items.extend(workload_problems(team_size, days, cost, path, fee).items)
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
            unqualified_assistant=pb.unqualified_assistant,
            team_size=team_size,
            days_per_inspection=days,
            cost_per_inspection=cost,
            testing_fee=fee,
        ),
    )


def item_to_pb(i: model.InspectionItem) -> items_pb2.InspectionItem:
    return items_pb2.InspectionItem(
        name=names.ITEMS.format(i.code),
        code=i.code,
        display_name=i.name,
        legal_basis=i.legal_basis,
        business_line=i.business_line,
        target_scope=i.target_scope,
        required_speciality=i.required_speciality,
        kind=ITEM_KIND_PB[i.kind],  # type: ignore[arg-type]  # enum values are ints
        default_ratio=decimal_pb2.Decimal(value=format_ratio(i.default_ratio)),
        department_id=i.department_id,
        create_time=timestamp(i.created_at),
        frequency_cap=i.frequency_cap or 0,
        unqualified_assistant=i.unqualified_assistant,
        team_size=i.team_size,
        days_per_inspection=decimal_pb2.Decimal(value=fraction_text(i.days_per_inspection)),
        cost_per_inspection=decimal_pb2.Decimal(value=fraction_text(i.cost_per_inspection)),
        testing_fee=decimal_pb2.Decimal(value=fraction_text(i.testing_fee)),
    )


def task_to_pb(t: model.Task) -> tasks_pb2.Task:
    return tasks_pb2.Task(
        name=names.task_name(t.id),
        id=t.id,
        item_code=t.item_code,
        department_id=t.department_id,
        ratio=decimal_to_pb(format_ratio(t.ratio)),
        team_size=t.team_size,
        scope=tasks_pb2.TaskScope(region_code=t.scope.region_code or "", industries=list(t.scope.industries)),
        title=t.title,
        create_time=timestamp(t.created_at),
        draw_id=t.draw_id or "",
        policy=policy_to_pb(TaskPolicy.loads(t.policy_json)) if t.policy_json else None,
        plan_id=t.plan.plan_id if t.plan else "",
        plan_entry_id=t.plan.entry_id if t.plan else "",
        plan_period=t.plan.period if t.plan else 0,
        plan_version=t.plan.version if t.plan else 0,
        rehearsal=t.rehearsal,
    )


# -- draws and audit -----------------------------------------------------------------------------------------


def draw_to_pb(d: model.Draw) -> draws_pb2.Draw:
    return draws_pb2.Draw(
        name=names.draw_name(d.id),
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
        as_of=date_to_pb(d.as_of),
        in_scope_count=d.in_scope_count,
        excluded_count=d.excluded_count,
        eligible_count=d.eligible_count,
        selected_count=d.selected_count,
        team_size=d.team_size,
        ratio=decimal_to_pb(format_ratio(d.ratio)),
        eligible_digest=d.eligible_digest,
        inspector_pool_digest=d.inspector_pool_digest,
        state=DRAW_STATE_PB[d.state],
        state_reason=abandon_reason_pb(d.state_reason),
        state_note=d.state_note,
        entropy_note=entropy_note(d),
        rehearsal=d.rehearsal,
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
        from_class=risk_class_pb(r.from_class),
        to_class=risk_class_pb(r.to_class),
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
        risk = parse_enum(cr.risk_class, RISK_CLASS, f"task.policy.class_ratios[{i}].risk_class", v)
        cls = risk.value
        if cr.risk_class not in RISK_CLASS:
            continue
        if cls in ratios:
            v.add(
                f"task.policy.class_ratios[{i}].risk_class",
                f"class {cls} listed twice",
                reason="DUPLICATE_VALUE",
            )
            continue
        r = parse_ratio_field(cr.ratio.value, f"task.policy.class_ratios[{i}].ratio", v)
        if r is not None:
            ratios[cls] = r
    return TaskPolicy(
        class_ratios=ratios,
        complaint_threshold=p.complaint_threshold,
        raise_window_days=p.raise_window_days or 365,
        raise_on_serious_violation=p.raise_on_serious_violation,
        raise_to=risk_class_text(p.raise_to),
        frequency_cap=0 if p.no_frequency_cap else (p.frequency_cap or None),
        campaign=p.campaign,
        central=p.central,
        cross_office=p.cross_office,
        recent_cycles=p.recent_cycles,
        workload_cap=p.workload_cap,
        cooperating_department_ids=tuple(d.strip() for d in p.cooperating_department_ids),
        cooperating_team_size=p.cooperating_team_size or 1,
        cooperating_lines={k.strip(): v.strip() for k, v in sorted(p.cooperating_lines.items())},
        other_level=other_level_text(p.other_level),
        enabled=True,
    )


def policy_to_pb(policy: TaskPolicy) -> tasks_pb2.TaskPolicy:
    return tasks_pb2.TaskPolicy(
        class_ratios=[
            tasks_pb2.ClassRatio(risk_class=risk_class_pb(c), ratio=decimal_to_pb(format_ratio(r)))
            for c, r in sorted(policy.class_ratios.items())
        ],
        complaint_threshold=policy.complaint_threshold,
        raise_window_days=policy.raise_window_days,
        raise_on_serious_violation=policy.raise_on_serious_violation,
        raise_to=risk_class_pb(policy.raise_to),
        frequency_cap=policy.frequency_cap or 0,
        no_frequency_cap=policy.frequency_cap == 0,
        campaign=policy.campaign,
        central=policy.central,
        cross_office=policy.cross_office,
        recent_cycles=policy.recent_cycles,
        workload_cap=policy.workload_cap,
        cooperating_department_ids=list(policy.cooperating_department_ids),
        cooperating_team_size=policy.cooperating_team_size,
        cooperating_lines=dict(policy.cooperating_lines),
        other_level=other_level_pb(policy.other_level),
    )


def exclusion_to_pb(draw_id: str, e: model.Exclusion, object_names: dict[str, str]) -> draws_pb2.Exclusion:
    return draws_pb2.Exclusion(
        draw_id=draw_id,
        credit_code=e.credit_code,
        object_name=object_names.get(e.credit_code, ""),
        rule_id=e.rule_id,
        category=EXCLUSION_CATEGORY_PB[e.category],
        reason=e.reason,
        legal_basis=e.legal_basis,
        evidence=list(e.evidence),
    )


def audit_event_to_pb(e: model.AuditEvent) -> audit_pb2.AuditEvent:
    return audit_pb2.AuditEvent(
        name=names.AUDIT_EVENTS.format(e.sequence),
        sequence=e.sequence,
        occur_time=timestamp(e.occurred_at),
        actor=e.actor,
        action=e.action,
        resource=e.resource,
        before_json=e.before_json,
        after_json=e.after_json,
        request_id=e.request_id,
    )


def date_to_pb(day: dt.date | None) -> date_pb2.Date | None:
    """``day`` as a ``google.type.Date``; ``None`` (the field left unset) for no day."""
    return None if day is None else date_pb2.Date(year=day.year, month=day.month, day=day.day)


def date_from_pb(value: date_pb2.Date, path: str, v: Violations, *, required: bool = True) -> dt.date | None:
    """The day a ``google.type.Date`` holds; ``None`` when unset (a violation at ``path`` when ``required``)
    or not a calendar day (always a violation)."""
    if value.year == 0 and value.month == 0 and value.day == 0:
        if required:
            v.add(path, "is required", reason="FIELD_REQUIRED")
        return None
    try:
        return dt.date(value.year, value.month, value.day)
    except ValueError:
        v.add(path, "is not a calendar date (year, month and day all set)", reason="DATE_INVALID")
        return None


def decimal_to_pb(text: str) -> decimal_pb2.Decimal | None:
    """Exact decimal text (``fraction_text``, ``format_ratio``) as a ``google.type.Decimal``; ``None`` (the
    field left unset) for ""."""
    return decimal_pb2.Decimal(value=text) if text else None
