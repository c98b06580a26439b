"""Annual plans between protobuf (plans.proto) and the domain (``dualdraw.domain.plan``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from fractions import Fraction

from google.type import decimal_pb2

from dualdraw.domain.draw.algorithm import format_ratio
from dualdraw.domain.errors import Violations
from dualdraw.domain.plan.estimate import EntryEstimate, PeriodEstimate
from dualdraw.domain.plan.model import PlanEntry, PlanState, PlanVersion
from dualdraw.domain.policy import DEFAULT_RAISE_WINDOW_DAYS, EXCLUDE, DrawRules
from dualdraw.entrypoints.grpc.convert import (
    RISK_CLASS,
    date_from_pb,
    date_to_pb,
    decimal_to_pb,
    fraction_text,
    other_level_pb,
    other_level_text,
    parse_amount,
    parse_enum,
    parse_ratio_field,
    risk_class_pb,
    risk_class_text,
    timestamp,
)
from dualdraw.entrypoints.grpc.resource_names import plan_name
from dualdraw.service_layer.plan_estimates import EntryProgress, PlanEstimate
from dualdraw.service_layer.published_plan_progress import PeriodState, PublishedPeriodProgress
from dualdraw.v1 import plans_pb2, public_pb2, tasks_pb2

STATE = {
    PlanState.DRAFT: plans_pb2.PLAN_STATE_DRAFT,
    PlanState.APPROVED: plans_pb2.PLAN_STATE_APPROVED,
    PlanState.PUBLISHED: plans_pb2.PLAN_STATE_PUBLISHED,
}


def entry_from_pb(pb: plans_pb2.PlanEntry, path: str, v: Violations) -> PlanEntry:
    """The domain entry; malformed fields are violations under ``path`` (the entry's own checks follow in
    the use case)."""
    ratio = parse_ratio_field(pb.ratio.value, f"{path}.ratio", v)
    class_ratios = []
    for i, cr in enumerate(pb.class_ratios):
        risk = parse_enum(cr.risk_class, RISK_CLASS, f"{path}.class_ratios[{i}].risk_class", v)
        r = parse_ratio_field(cr.ratio.value, f"{path}.class_ratios[{i}].ratio", v)
        if r is not None and cr.risk_class in RISK_CLASS:
            class_ratios.append((risk.value, r))
    return PlanEntry(
        id=pb.id.strip(),
        item_code=pb.item_code.strip(),
        item_version=pb.item_version,
        ratio=ratio or Fraction(1),
        window_start=date_from_pb(pb.window_start, f"{path}.window_start", v) or dt.date.min,
        window_end=date_from_pb(pb.window_end, f"{path}.window_end", v) or dt.date.min,
        frequency=pb.frequency or 1,
        class_ratios=tuple(sorted(class_ratios)),
        cooperating_department_ids=tuple(sorted({d.strip() for d in pb.cooperating_department_ids})),
        cooperating_lines=tuple(sorted((k.strip(), v.strip()) for k, v in pb.cooperating_lines.items())),
        central=pb.central,
        team_size=pb.team_size or None,
        days_per_inspection=parse_amount(
            pb.days_per_inspection.value, f"{path}.days_per_inspection", None, v
        ),
        cost_per_inspection=parse_amount(
            pb.cost_per_inspection.value, f"{path}.cost_per_inspection", None, v
        ),
        rules=rules_from_pb(pb.rules) if pb.HasField("rules") else DrawRules(),
    )


def rules_from_pb(pb: plans_pb2.PlanRules) -> DrawRules:
    """Every field as given once the message is set (0: no cap, threshold off); checked by the use case."""
    return DrawRules(
        frequency_cap=pb.frequency_cap,
        complaint_threshold=pb.complaint_threshold,
        raise_window_days=pb.raise_window_days or DEFAULT_RAISE_WINDOW_DAYS,
        raise_on_serious_violation=pb.raise_on_serious_violation,
        raise_to=risk_class_text(pb.raise_to),
        other_level=other_level_text(pb.other_level) or EXCLUDE,
    )


def rules_to_pb(r: DrawRules) -> plans_pb2.PlanRules:
    return plans_pb2.PlanRules(
        frequency_cap=r.frequency_cap,
        complaint_threshold=r.complaint_threshold,
        raise_window_days=r.raise_window_days,
        raise_on_serious_violation=r.raise_on_serious_violation,
        raise_to=risk_class_pb(r.raise_to),
        other_level=other_level_pb(r.other_level),
    )


def entry_to_pb(e: PlanEntry) -> plans_pb2.PlanEntry:
    return plans_pb2.PlanEntry(
        id=e.id,
        item_code=e.item_code,
        item_version=e.item_version,
        ratio=decimal_to_pb(format_ratio(e.ratio)),
        class_ratios=[
            tasks_pb2.ClassRatio(risk_class=risk_class_pb(c), ratio=decimal_to_pb(format_ratio(r)))
            for c, r in e.class_ratios
        ],
        window_start=date_to_pb(e.window_start),
        window_end=date_to_pb(e.window_end),
        frequency=e.frequency,
        cooperating_department_ids=list(e.cooperating_department_ids),
        cooperating_lines=dict(e.cooperating_lines),
        central=e.central,
        team_size=e.team_size or 0,
        days_per_inspection=_amount(e.days_per_inspection),
        cost_per_inspection=_amount(e.cost_per_inspection),
        rules=rules_to_pb(e.rules),
    )


def _amount(value: Fraction | None) -> decimal_pb2.Decimal | None:
    """An exact amount as a ``google.type.Decimal`` (``n/d`` when it has no finite decimal form); ``None``
    (unset) for no amount."""
    return None if value is None else decimal_to_pb(fraction_text(value))


def plan_to_pb(p: PlanVersion, *, public: bool = False) -> plans_pb2.Plan:
    """A plan version; ``public`` leaves out who created it (staff names are not published)."""
    return plans_pb2.Plan(
        name=plan_name(p.plan_id),
        id=p.plan_id,
        version=p.version,
        department_id=p.department_id,
        year=p.year,
        title=p.title,
        state=STATE[p.state],
        entries=[entry_to_pb(e) for e in p.entries],
        inspector_days_per_month=p.inspector_days_per_month,
        amendment_reason=p.amendment_reason,
        content_hash=p.content_hash(),
        create_time=timestamp(p.created_at),
        created_by="" if public else p.created_by,
        approve_time=timestamp(p.approved_at) if p.approved_at else None,
        publish_time=timestamp(p.published_at) if p.published_at else None,
    )


def _counts(counts: Mapping[str, int]) -> list[plans_pb2.RiskClassCount]:
    return [plans_pb2.RiskClassCount(risk_class=risk_class_pb(c), count=n) for c, n in sorted(counts.items())]


def _period_to_pb(p: PeriodEstimate) -> plans_pb2.PeriodEstimate:
    return plans_pb2.PeriodEstimate(
        period=p.period.index,
        start=date_to_pb(p.period.start),
        end=date_to_pb(p.period.end),
        draws=_counts(p.draws_by_class),
        inspections=p.inspections,
        inspector_days=_amount(p.inspector_days),
        qualified_inspectors=p.qualified_inspectors,
        available_inspector_days=_amount(p.available_inspector_days),
        cost=_amount(p.cost),
        shortfall_days=_amount(p.shortfall_days),
        testing_fees=_amount(p.testing_fees),
    )


def _entry_estimate_to_pb(e: EntryEstimate) -> plans_pb2.EntryEstimate:
    return plans_pb2.EntryEstimate(
        entry_id=e.entry.id,
        item_code=e.entry.item_code,
        speciality=e.scope.speciality,
        in_scope=e.scope.in_scope,
        excluded=e.scope.excluded,
        eligible=_counts(e.scope.eligible_by_class),
        qualified_inspectors=e.scope.qualified_inspectors,
        periods=[_period_to_pb(p) for p in e.periods],
        inspections=e.inspections,
        inspector_days=_amount(e.inspector_days),
        cost=_amount(e.cost),
        testing_fees=_amount(e.testing_fees),
        team_size=e.workload.team_size,
        days_per_inspection=_amount(e.workload.days_per_inspection),
        cost_per_inspection=_amount(e.workload.cost_per_inspection),
        testing_fee=_amount(e.workload.testing_fee),
    )


def estimate_to_pb(e: PlanEstimate) -> plans_pb2.PlanEstimate:
    return plans_pb2.PlanEstimate(
        plan_id=e.plan.plan_id,
        version=e.plan.version,
        as_of=date_to_pb(e.as_of),
        entries=[_entry_estimate_to_pb(x) for x in e.entries],
        shortfalls=e.shortfalls,
        inspections=e.inspections,
        inspector_days=_amount(e.inspector_days),
        cost=_amount(e.cost),
        testing_fees=_amount(e.testing_fees),
    )


def progress_to_pb(plan: PlanVersion, rows: list[EntryProgress], as_of: dt.date) -> plans_pb2.PlanProgress:
    return plans_pb2.PlanProgress(
        plan_id=plan.plan_id,
        version=plan.version,
        as_of=date_to_pb(as_of),
        entries=[
            plans_pb2.EntryProgress(
                entry_id=r.entry_id,
                period=r.period,
                drawn=r.drawn,
                inspected=r.inspected,
                published=r.published,
                overdue=r.overdue,
            )
            for r in rows
        ],
    )


PERIOD_STATE = {
    PeriodState.UPCOMING: public_pb2.PUBLISHED_PERIOD_STATE_UPCOMING,
    PeriodState.OPEN: public_pb2.PUBLISHED_PERIOD_STATE_OPEN,
    PeriodState.PUBLISHED: public_pb2.PUBLISHED_PERIOD_STATE_PUBLISHED,
    PeriodState.OVERDUE: public_pb2.PUBLISHED_PERIOD_STATE_OVERDUE,
}


def published_progress_to_pb(
    plan: PlanVersion, rows: list[PublishedPeriodProgress], as_of: dt.date
) -> public_pb2.PublishedPlanProgress:
    return public_pb2.PublishedPlanProgress(
        plan_id=plan.plan_id,
        version=plan.version,
        as_of_date=date_to_pb(as_of),
        periods=[
            public_pb2.PublishedPeriodProgress(
                entry_id=r.entry_id,
                item_code=r.item_code,
                period=r.period,
                start_date=date_to_pb(r.start),
                end_date=date_to_pb(r.end),
                planned_draws=r.planned_draws,
                published_draws=r.draws_published,
                drawn_objects=r.objects_drawn,
                published_results=r.results_published,
                on_time_results=r.results_on_time,
                abandoned_draws=r.abandoned_draws,
                state=PERIOD_STATE[r.state],
            )
            for r in rows
        ],
    )
