"""The plan's estimate from the live directory and rules as of the plan date, and its progress per entry."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

from dualdraw.domain import model
from dualdraw.domain.exclusions.model import EvaluationContext, RuleSet
from dualdraw.domain.jurisdiction import DepartmentTree, task_object_filter
from dualdraw.domain.plan.estimate import (
    CooperatingScope,
    EntryEstimate,
    EntryScope,
    Workload,
    estimate_entry,
    shortfalls,
)
from dualdraw.domain.plan.model import PlanEntry, PlanVersion, periods
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.plans import item_version
from dualdraw.service_layer.ports import ExclusionMatcher, UnitOfWork
from dualdraw.service_layer.rule_preview import department_path


@dataclass(frozen=True)
class PlanEstimate:
    plan: PlanVersion
    as_of: dt.date
    entries: list[EntryEstimate]
    shortfalls: list[str]

    @property
    def inspections(self) -> int:
        return sum(e.inspections for e in self.entries)

    @property
    def inspector_days(self) -> Fraction:
        return sum((e.inspector_days for e in self.entries), Fraction(0))

    @property
    def cost(self) -> Fraction:
        return sum((e.cost for e in self.entries), Fraction(0))

    @property
    def testing_fees(self) -> Fraction:
        return sum((e.testing_fees for e in self.entries), Fraction(0))


def estimate_plan(
    uow: UnitOfWork, engine: ExclusionMatcher, rule_set: RuleSet, plan: PlanVersion, as_of: dt.date
) -> PlanEstimate:
    """Per entry: objects in scope, rule exclusions (the real matcher), eligible per risk class, draws per
    period, inspector-days against the inspectors qualified throughout each period, cost; then the named
    shortfalls.
    Team size, days and cost per inspection and testing fees are the entry's item version's, unless the
    entry sets its own."""
    estimates = []
    with uow:
        departments = uow.directory.all_departments()
        tree = DepartmentTree(departments)
        department = require(tree.get(plan.department_id), "department", plan.department_id)
        for entry in plan.entries:
            item = item_version(uow, entry)
            workload = Workload.of(entry, item)
            probe_task = model.Task(
                "", item.code, plan.department_id, entry.ratio, workload.team_size, model.TaskScope()
            )
            flt = task_object_filter(tree, probe_task)
            objects = uow.directory.objects_matching(flt)
            context = EvaluationContext(
                as_of=as_of,
                business_line=item.business_line,
                item_code=item.code,
                department_id=department.id,
                department_level=int(department.level),
                organizer_levels={d.id: int(d.level) for d in departments},
                department_path=department_path(tree, department.id),
                department_region=department.region_code,
            )
            excluded = {
                e.credit_code
                for e in engine.evaluate(rule_set, context, objects, uow.directory.side_facts_matching(flt))
            }
            eligible = Counter(o.risk_class.value for o in objects if o.credit_code not in excluded)
            staff = tree.subtree_ids(plan.department_id) if entry.central else [plan.department_id]
            available = [i for i in uow.directory.inspectors_of(sorted(staff)) if i.available]
            speciality = item.required_speciality
            scope = EntryScope(
                speciality,
                len(objects),
                len(excluded),
                dict(eligible),
                sum(1 for i in available if i.qualified_for(speciality, entry.window_start)),
                tuple(
                    sum(
                        1
                        for i in available
                        if i.qualified_for(speciality, p.start) and i.qualified_for(speciality, p.end)
                    )
                    for p in periods(entry)
                ),
                _cooperating(uow, entry),
            )
            estimates.append(estimate_entry(entry, scope, workload, plan.inspector_days_per_month))
    return PlanEstimate(plan, as_of, estimates, shortfalls(estimates, plan.department_id))


def _cooperating(uow: UnitOfWork, entry: PlanEntry) -> tuple[CooperatingScope, ...]:
    """Each cooperating department with a declared line, and its available inspectors holding the line
    throughout each period of the entry."""
    scopes = []
    for department_id, line in entry.cooperating_lines:
        available = [i for i in uow.directory.inspectors_of([department_id]) if i.available]
        qualified = tuple(
            sum(1 for i in available if i.qualified_for(line, p.start) and i.qualified_for(line, p.end))
            for p in periods(entry)
        )
        scopes.append(CooperatingScope(department_id, line, qualified))
    return tuple(scopes)


@dataclass(frozen=True)
class EntryProgress:
    entry_id: str
    period: int
    drawn: int
    inspected: int
    published: int
    overdue: bool


def plan_progress(uow: UnitOfWork, plan: PlanVersion, today: dt.date) -> list[EntryProgress]:
    """Per entry and period: assignments drawn, with results recorded, published; a period past its end
    without a live draw is overdue. Rehearsals are left out."""
    rows = []
    with uow:
        tasks = {
            (t.plan.entry_id, t.plan.period): t
            for t in uow.plans.tasks_of(plan.plan_id)
            if t.plan and not t.rehearsal
        }
        for entry in plan.entries:
            for period in periods(entry):
                task = tasks.get((entry.id, period.index))
                draw = uow.draws.get(task.draw_id) if task and task.draw_id else None
                drawn = draw.selected_count if draw else 0
                inspected = len(uow.results.current(draw.id)) if draw else 0
                latest = uow.publications.latest(draw.id) if draw else None
                published = len(latest.versions) if latest else 0
                rows.append(
                    EntryProgress(
                        entry.id,
                        period.index,
                        drawn,
                        inspected,
                        published,
                        draw is None and period.end < today,
                    )
                )
    return rows
