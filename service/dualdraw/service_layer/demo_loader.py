"""Loads the bundled demo directory (``dualdraw.service_layer.demo_directory``) into an empty database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from fractions import Fraction

from dualdraw.domain.object_columns import ObjectColumns
from dualdraw.domain.plan.model import PlanEntry, PlanVersion
from dualdraw.service_layer import catalogue, checklists, directory, plans, publication
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import HIGH_TECH_ZONE, demo_checklists, demo_directory
from dualdraw.service_layer.demo_experts import load_demo_experts
from dualdraw.service_layer.directory import DirectoryBatch
from dualdraw.service_layer.ports import UnitOfWork

DEMO_ACTOR = "demo-loader"


def load_demo(unit_of_work: Callable[[], UnitOfWork], *, only_if_empty: bool = True) -> dict[str, int] | None:
    """Imports the demo directory, item list, experts and testing institutions (``demo_experts``); returns the
    counts, or ``None`` when data existed already."""
    if only_if_empty:
        with unit_of_work() as uow:
            if uow.directory.count_objects() > 0:
                return None
    demo = demo_directory()
    caller = Caller(actor=DEMO_ACTOR)
    batch = DirectoryBatch(
        departments=list(demo.departments),
        objects=ObjectColumns.of(demo.objects),
        inspectors=list(demo.inspectors),
        complaints=list(demo.complaints),
        campaigns=list(demo.campaigns),
        risk_assessments=list(demo.risk_assessments),
        statutory_designations=list(demo.statutory_designations),
    )
    counts = directory.import_directory(unit_of_work(), batch, caller)
    for item in demo.items:
        catalogue.create_item(unit_of_work(), item, caller)
    counts["items"] = len(demo.items)
    counts.update(load_demo_experts(unit_of_work, caller))
    return counts


def load_demo_plan(unit_of_work: Callable[[], UnitOfWork], *, now: dt.datetime | None = None) -> PlanVersion:
    """Publishes the item list (when nothing is published yet, in force from today: never earlier than its
    publication) and the high-tech zone's annual plan for the current year (UTC+8), published now:

    - ``e1``: special-equipment users (TS-SE-01) at 0.1, once in the year: the demo's planned draw;
    - the demo items' checklists for their published versions, in force from today (when they have none);
    - ``e2``: product quality (TS-PQ-01, a sampling item of three days per inspection and testing fees) at
      0.2, every quarter: more inspector-days than the branch's product-quality inspectors have, so the
      estimate names a shortfall.
    """
    caller = Caller(actor=DEMO_ACTOR) if now is None else Caller(actor=DEMO_ACTOR, now=now)
    year = caller.today().year
    with unit_of_work() as uow:
        listed = bool(uow.item_versions.all())
    if not listed:
        publication.publish_item_list(
            unit_of_work(),
            effective_from=caller.today(),
            change_summary="首次公布随机抽查事项清单",
            change_legal_basis="《市场监管领域全面推行部门联合“双随机、一公开”监管工作细则》第五条",
            caller=caller,
        )
    load_demo_checklists(unit_of_work, caller)
    plan = plans.create_plan(
        unit_of_work(),
        department_id=HIGH_TECH_ZONE,
        year=year,
        title=f"高新区{year}年度双随机抽查工作计划",
        inspector_days_per_month=2,
        caller=caller,
    )
    whole_year = (dt.date(year, 1, 1), dt.date(year, 12, 31))
    for entry in (
        PlanEntry("", "TS-SE-01", 1, Fraction(1, 10), *whole_year),
        PlanEntry("", "TS-PQ-01", 1, Fraction(1, 5), *whole_year, frequency=4),
    ):
        plans.add_entry(unit_of_work(), plan.plan_id, entry, caller)
    plans.approve_plan(unit_of_work(), plan.plan_id, caller)
    return plans.publish_plan(unit_of_work(), plan.plan_id, caller)


def load_demo_checklists(unit_of_work: Callable[[], UnitOfWork], caller: Caller) -> int:
    """Gives each published demo item without a checklist its demo checklist, in force from today (so the
    demo's inspections can be recorded); returns how many were set."""
    made = 0
    for code, checklist in demo_checklists().items():
        with unit_of_work() as uow:
            skip = not uow.item_versions.history(code) or bool(uow.checklists.history(code))
        if skip:
            continue
        checklists.set_checklist(
            unit_of_work(),
            item_code=code,
            checklist=checklist,
            item_version=0,
            effective_from=None,
            change_reason="首次制定检查内容和方式",
            caller=caller,
        )
        made += 1
    return made
