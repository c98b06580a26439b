"""The annual plan (Art. 9) binds every draw: plan versions and their audit hashes, one draw per entry and
period, rehearsals, amendments — through the use cases on a real SQLite and PostgreSQL store."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from fractions import Fraction

import pytest

from dualdraw.adapters.store import Store
from dualdraw.domain import model
from dualdraw.domain.errors import FailedPrecondition, InvalidArgument
from dualdraw.domain.exclusions.model import RuleSet
from dualdraw.domain.plan.model import PlanEntry, PlanState
from dualdraw.service_layer import catalogue, plans, publication
from dualdraw.service_layer.catalogue import PlanRequest
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import HIGH_TECH_ZONE
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.service_layer.draws import run_draw
from dualdraw.service_layer.entropy_policy import EntropyPolicy

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)  # 2026-12-01 10:00 in Asia/Shanghai
CALLER = Caller(actor="planner", now=NOW)
NO_RULES = RuleSet.of([])

DEVELOPMENT = EntropyPolicy(allow_local=True)  # development mode: one-step draws use a local secret


class NoExclusions:
    """The rules engine port, excluding nothing: these tests are about the plan, not the rules."""

    def evaluate(self, rule_set, context, objects, side_facts, *, progress=None):  # type: ignore[no-untyped-def]  # the port's signature; test double
        return []


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store.from_url(database_url)
    load_demo(store.unit_of_work)
    publication.publish_item_list(
        store.unit_of_work(),
        effective_from=dt.date(2026, 1, 1),
        change_summary="first list",
        change_legal_basis="Art. 5",
        caller=Caller(actor="planner", now=dt.datetime(2025, 12, 20, tzinfo=dt.UTC)),  # published before 2026
    )
    yield store
    store.dispose()


def published_plan(
    store: Store, *, frequency: int = 1, at: dt.datetime = NOW, item_code: str = "TS-SE-01"
) -> tuple[str, str]:
    """A published plan of the high-tech zone with one entry (TS-SE-01) over 2026; (plan id, entry id)."""
    caller = Caller(actor="planner", now=at)
    plan = plans.create_plan(
        store.unit_of_work(),
        department_id=HIGH_TECH_ZONE,
        year=2026,
        title="2026",
        inspector_days_per_month=2,
        caller=caller,
    )
    entry = PlanEntry(
        id="",
        item_code=item_code,
        item_version=1,
        ratio=Fraction(1, 10),
        window_start=dt.date(2026, 1, 1),
        window_end=dt.date(2026, 12, 31),
        frequency=frequency,
    )
    plan = plans.add_entry(store.unit_of_work(), plan.plan_id, entry, caller)
    plans.approve_plan(store.unit_of_work(), plan.plan_id, caller)
    plans.publish_plan(store.unit_of_work(), plan.plan_id, caller)
    return plan.plan_id, plan.entries[0].id


def planned_task(
    store: Store, plan_id: str, entry_id: str, *, rehearsal: bool = False, period: int = 0, team_size: int = 2
) -> model.Task:
    return catalogue.create_task(
        store.unit_of_work(),
        item_code="",
        department_id=HIGH_TECH_ZONE,
        ratio=None,
        team_size=team_size,
        scope=model.TaskScope(),
        title="",
        caller=CALLER,
        plan=PlanRequest(plan_id, entry_id, period, rehearsal),
        plan_required=True,
    )


def test_a_second_task_for_the_same_entry_and_period_is_refused_naming_the_draw(store: Store) -> None:
    plan_id, entry_id = published_plan(store)
    task = planned_task(store, plan_id, entry_id)
    assert task.ratio == Fraction(1, 10)
    assert task.item_code == "TS-SE-01"
    draw = run_draw(
        store.unit_of_work(),
        NoExclusions(),
        NO_RULES,
        task_id=task.id,
        as_of=None,
        caller=CALLER,
        entropy=DEVELOPMENT,
    ).draw
    manifest = json.loads(draw.manifest_json)
    assert manifest["task"]["plan"] == {"plan_id": plan_id, "version": 1, "entry_id": entry_id, "period": 1}
    assert "rehearsal" not in manifest
    with pytest.raises(FailedPrecondition) as refused:
        planned_task(store, plan_id, entry_id)
    assert refused.value.reason == "PLAN_ENTRY_ALREADY_DRAWN"
    assert refused.value.metadata["draw_id"] == draw.id
    with store.unit_of_work() as uow:
        assert len(uow.plans.tasks_of(plan_id)) == 1


def test_a_task_without_a_published_entry_is_refused(store: Store) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        catalogue.create_task(
            store.unit_of_work(),
            item_code="TS-SE-01",
            department_id=HIGH_TECH_ZONE,
            ratio=Fraction(1, 10),
            team_size=2,
            scope=model.TaskScope(),
            title="",
            caller=CALLER,
            plan_required=True,
        )
    assert refused.value.reason == "PLAN_ENTRY_REQUIRED"
    caller = CALLER
    draft = plans.create_plan(
        store.unit_of_work(),
        department_id=HIGH_TECH_ZONE,
        year=2026,
        title="",
        inspector_days_per_month=2,
        caller=caller,
    )
    with pytest.raises(FailedPrecondition) as unpublished:
        planned_task(store, draft.plan_id, "e1")
    assert unpublished.value.reason == "PLAN_NOT_PUBLISHED"
    plan_id, _ = published_plan(store)
    with pytest.raises(FailedPrecondition) as outside:
        planned_task(store, plan_id, "e9")
    assert outside.value.reason == "PLAN_ENTRY_NOT_IN_FORCE"
    # published after "now" (another item: one entry per item and period in the department's year)
    later_id, later_entry = published_plan(store, at=NOW + dt.timedelta(hours=1), item_code="TS-PQ-01")
    with pytest.raises(FailedPrecondition) as early:
        planned_task(store, later_id, later_entry)
    assert early.value.reason == "PLAN_NOT_PUBLISHED"


def test_a_planned_draw_is_dated_today_and_a_rehearsal_is_marked_never_published_nor_counted(
    store: Store,
) -> None:
    plan_id, entry_id = published_plan(store, frequency=4)  # Q4 is period 4
    task = planned_task(store, plan_id, entry_id)
    with pytest.raises(InvalidArgument):
        run_draw(
            store.unit_of_work(),
            NoExclusions(),
            NO_RULES,
            task_id=task.id,
            as_of=dt.date(2026, 6, 1),
            caller=CALLER,
            entropy=DEVELOPMENT,
        )
    rehearsal = planned_task(store, plan_id, entry_id, rehearsal=True, period=2)
    second = planned_task(store, plan_id, entry_id, rehearsal=True, period=2)  # rehearsals hold no period
    assert rehearsal.plan_slot is None
    assert second.plan_slot is None
    drawn = run_draw(
        store.unit_of_work(),
        NoExclusions(),
        NO_RULES,
        task_id=rehearsal.id,
        as_of=dt.date(2026, 5, 1),
        caller=CALLER,
        entropy=DEVELOPMENT,
    ).draw
    assert json.loads(drawn.manifest_json)["rehearsal"] is True
    with store.unit_of_work() as uow:
        history = uow.draws.inspection_history()
    assert all(p.draw_id != drawn.id for p in history)
    with pytest.raises(FailedPrecondition) as refused:
        publication.publish_draw(store.unit_of_work(), publication.HolidayCalendar(), drawn.id, CALLER)
    assert refused.value.reason == "REHEARSAL_NOT_PUBLISHABLE"
    planned = run_draw(
        store.unit_of_work(),
        NoExclusions(),
        NO_RULES,
        task_id=task.id,
        as_of=None,
        caller=CALLER,
        entropy=DEVELOPMENT,
    )
    assert json.loads(planned.draw.manifest_json)["task"]["plan"]["period"] == 4


def test_an_amendment_needs_a_reason_makes_a_new_version_and_each_transition_is_audited(store: Store) -> None:
    plan_id, entry_id = published_plan(store)
    with pytest.raises(InvalidArgument):
        plans.amend_plan(
            store.unit_of_work(), plan_id, reason=" ", upserts=[], removed_entry_ids=[], caller=CALLER
        )
    new_entry = PlanEntry(
        id="",
        item_code="TS-PQ-01",
        item_version=1,
        ratio=Fraction(1, 20),
        window_start=dt.date(2026, 12, 1),
        window_end=dt.date(2026, 12, 31),
    )
    amended = plans.amend_plan(
        store.unit_of_work(),
        plan_id,
        reason="added a product-quality check",
        upserts=[new_entry],
        removed_entry_ids=[],
        caller=CALLER,
    )
    assert amended.version == 2
    assert amended.state is PlanState.PUBLISHED
    assert [e.id for e in amended.entries] == [entry_id, "e2"]
    task = planned_task(store, plan_id, "e2")
    assert task.plan is not None
    assert task.plan.version == 2
    with store.unit_of_work() as uow:
        events = uow.audit.events_of(f"plans/{plan_id}")
        versions = uow.plans.versions(plan_id)
    actions = [e.action for e in events]
    assert actions == ["plan.create", "plan.add_entry", "plan.approve", "plan.publish", "plan.amend"]
    assert json.loads(events[-1].after_json)["content_hash"] == versions[-1].content_hash()
    assert json.loads(events[-1].after_json)["amendment_reason"] == "added a product-quality check"
    assert versions[0].state is PlanState.PUBLISHED
    assert versions[0].entry("e2") is None


def test_the_estimate_names_a_shortfall_and_progress_counts_the_drawn_period(store: Store) -> None:
    from dualdraw.service_layer.plan_estimates import estimate_plan, plan_progress

    plan_id, entry_id = published_plan(store, frequency=4)
    caller = CALLER
    plan = plans.get_plan(store.unit_of_work(), plan_id)
    estimate = estimate_plan(store.unit_of_work(), NoExclusions(), NO_RULES, plan, dt.date(2026, 1, 1))
    (entry,) = estimate.entries
    assert entry.scope.in_scope > 0
    per_period = sum(entry.periods[0].draws_by_class.values())
    assert per_period == entry.periods[0].inspections > 0
    # the high-tech zone has few special-equipment inspectors: 2 days a month each cannot cover the plan
    amended = plans.amend_plan(
        store.unit_of_work(),
        plan_id,
        reason="full coverage",
        caller=caller,
        removed_entry_ids=[],
        upserts=[
            PlanEntry(
                id=entry_id,
                item_code="TS-SE-01",
                item_version=1,
                ratio=Fraction(1),
                window_start=dt.date(2026, 1, 1),
                window_end=dt.date(2026, 12, 31),
                frequency=4,
                days_per_inspection=Fraction(2),
            )
        ],
    )
    short = estimate_plan(store.unit_of_work(), NoExclusions(), NO_RULES, amended, dt.date(2026, 1, 1))
    assert short.shortfalls
    assert all(s.endswith(f"inspector-days short in {HIGH_TECH_ZONE}") for s in short.shortfalls)
    task = planned_task(store, plan_id, entry_id)
    draw = run_draw(
        store.unit_of_work(),
        NoExclusions(),
        NO_RULES,
        task_id=task.id,
        as_of=None,
        caller=CALLER,
        entropy=DEVELOPMENT,
    ).draw
    progress = plan_progress(store.unit_of_work(), amended, dt.date(2026, 12, 1))
    assert [(p.period, p.drawn, p.overdue) for p in progress] == [
        (1, 0, True),
        (2, 0, True),
        (3, 0, True),
        (4, draw.selected_count, False),
    ]


def test_a_task_racing_for_a_held_period_is_refused_by_the_store_naming_the_holder(store: Store) -> None:
    """Two creations that both passed the use case's check: the unique plan slot refuses the second."""
    plan_id, entry_id = published_plan(store)
    held = planned_task(store, plan_id, entry_id)
    assert held.plan is not None
    late = dataclasses.replace(held, id="t-late")
    with store.unit_of_work() as uow:
        with pytest.raises(FailedPrecondition) as refused:
            uow.tasks.add(late)
        assert uow.tasks.get(held.id) is not None  # the transaction stays usable
    assert refused.value.reason == "PLAN_ENTRY_ALREADY_DRAWN"
    assert refused.value.metadata["task_id"] == held.id
    with store.unit_of_work() as uow:
        assert uow.tasks.get("t-late") is None


def test_the_plan_is_required_unless_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from dualdraw.settings import Settings

    monkeypatch.delenv("DUALDRAW_PLAN_REQUIRED", raising=False)
    assert Settings().plan_required_enabled
    monkeypatch.setenv("DUALDRAW_PLAN_REQUIRED", "off")
    assert not Settings().plan_required_enabled


def _entry(item_code: str, start: dt.date, end: dt.date, **fields: object) -> PlanEntry:
    return PlanEntry("", item_code, 1, Fraction(1, 10), start, end, **fields)  # type: ignore[arg-type]  # test shorthand: overrides by name


def _publish(store: Store, *entries: PlanEntry, title: str = "2026") -> str:
    plan = plans.create_plan(
        store.unit_of_work(),
        department_id=HIGH_TECH_ZONE,
        year=2026,
        title=title,
        inspector_days_per_month=2,
        caller=CALLER,
    )
    for entry in entries:
        plans.add_entry(store.unit_of_work(), plan.plan_id, entry, CALLER)
    plans.approve_plan(store.unit_of_work(), plan.plan_id, CALLER)
    plans.publish_plan(store.unit_of_work(), plan.plan_id, CALLER)
    return plan.plan_id


def test_the_estimate_counts_each_items_workload_and_cost_unless_the_entry_sets_its_own(store: Store) -> None:
    from dualdraw.service_layer.plan_estimates import estimate_plan

    with store.unit_of_work() as uow:
        live = uow.items.get("TS-PQ-01")
        (published,) = uow.item_versions.history("TS-PQ-01")
    assert live is not None
    for item in (live, published.item):  # the item-list row and the published version's snapshot
        assert (item.team_size, item.days_per_inspection, item.cost_per_inspection, item.testing_fee) == (
            2,
            Fraction(3),
            Fraction(400),
            Fraction(2500),
        )
    year = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    plan_id = _publish(
        store,
        _entry("TS-PQ-01", *year),
        _entry(
            "TS-SE-01",
            *year,
            team_size=3,
            days_per_inspection=Fraction(1, 2),
            cost_per_inspection=Fraction(50),
        ),
    )
    plan = plans.get_plan(store.unit_of_work(), plan_id)
    assert [e.to_json().get("team_size") for e in plan.entries] == [None, 3]  # only overrides are stored
    estimate = estimate_plan(store.unit_of_work(), NoExclusions(), NO_RULES, plan, dt.date(2026, 1, 1))
    quality, equipment = estimate.entries
    assert (quality.workload.team_size, quality.workload.days_per_inspection) == (2, Fraction(3))
    assert quality.inspections > 0
    assert quality.inspector_days == quality.inspections * 2 * 3
    assert quality.testing_fees == quality.inspections * 2500
    assert quality.cost == quality.inspections * (400 + 2500)
    assert (equipment.workload.team_size, equipment.workload.testing_fee) == (3, Fraction(0))
    assert equipment.inspections > 0
    assert equipment.inspector_days == equipment.inspections * 3 * Fraction(1, 2)
    assert equipment.cost == equipment.inspections * 50
    assert estimate.cost == quality.cost + equipment.cost
    assert estimate.inspections == quality.inspections + equipment.inspections
    assert estimate.testing_fees == quality.testing_fees
    # a planned task without a team size takes the entry's, else its item version's
    assert planned_task(store, plan_id, "e2", team_size=0).team_size == 3
    assert planned_task(store, plan_id, "e1", team_size=0).team_size == 2


def test_a_second_entry_for_the_same_item_and_period_is_refused_in_the_plan_and_across_plans(
    store: Store,
) -> None:
    first_half = (dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    second_half = (dt.date(2026, 7, 1), dt.date(2026, 12, 31))
    draft = plans.create_plan(
        store.unit_of_work(),
        department_id=HIGH_TECH_ZONE,
        year=2026,
        title="second",
        inspector_days_per_month=2,
        caller=CALLER,
    )
    plans.add_entry(store.unit_of_work(), draft.plan_id, _entry("TS-SE-01", *second_half), CALLER)
    plan_id = _publish(store, _entry("TS-SE-01", *first_half), _entry("TS-PQ-01", *first_half))
    with pytest.raises(FailedPrecondition) as refused:  # in the plan: overlapping days
        plans.amend_plan(
            store.unit_of_work(),
            plan_id,
            reason="twice",
            upserts=[_entry("TS-SE-01", dt.date(2026, 6, 1), dt.date(2026, 8, 31))],
            removed_entry_ids=[],
            caller=CALLER,
        )
    assert refused.value.reason == "PLAN_ENTRY_DUPLICATE"
    assert (refused.value.metadata["plan_id"], refused.value.metadata["entry_id"]) == (plan_id, "e1")
    with pytest.raises(FailedPrecondition) as refused:  # another plan of the department and year
        plans.add_entry(
            store.unit_of_work(),
            draft.plan_id,
            _entry("TS-PQ-01", dt.date(2026, 6, 30), dt.date(2026, 7, 31)),  # one day in common
            CALLER,
        )
    assert refused.value.reason == "PLAN_ENTRY_DUPLICATE"
    assert refused.value.metadata["plan_id"] == plan_id
    plans.approve_plan(store.unit_of_work(), draft.plan_id, CALLER)
    plans.publish_plan(store.unit_of_work(), draft.plan_id, CALLER)  # the second half is not planned yet
    with pytest.raises(FailedPrecondition) as refused:
        _publish(store, _entry("TS-SE-01", dt.date(2026, 12, 1), dt.date(2026, 12, 31)), title="third")
    assert refused.value.reason == "PLAN_ENTRY_DUPLICATE"
    assert refused.value.metadata["plan_id"] == draft.plan_id


def test_removing_an_entry_and_planning_its_item_again_buys_no_second_draw(store: Store) -> None:
    plan_id, entry_id = published_plan(store)
    held = planned_task(store, plan_id, entry_id)
    plans.amend_plan(
        store.unit_of_work(),
        plan_id,
        reason="re-planned",
        upserts=[_entry("TS-SE-01", dt.date(2026, 11, 1), dt.date(2026, 12, 31))],
        removed_entry_ids=[entry_id],
        caller=CALLER,
    )
    with pytest.raises(FailedPrecondition) as refused:
        planned_task(store, plan_id, "e2")
    assert refused.value.reason == "PLAN_ENTRY_ALREADY_DRAWN"
    assert refused.value.metadata["task_id"] == held.id
    assert planned_task(store, plan_id, "e2", rehearsal=True, period=1).rehearsal


def test_a_planned_draw_uses_its_item_version_not_a_revision_published_for_a_later_day(store: Store) -> None:
    plan_id, entry_id = published_plan(store)
    with store.unit_of_work() as uow:
        item = uow.items.get("TS-SE-01")
    assert item is not None
    revised = dataclasses.replace(item, required_speciality="boilers", business_line="boilers")
    publication.revise_item(
        store.unit_of_work(),
        revised,
        effective_from=dt.date(2027, 1, 1),
        change_summary="锅炉专项",
        change_legal_basis="Art. 5",
        caller=CALLER,
    )
    with store.unit_of_work() as uow:  # the item-list row changed at publication; version 1 is in force
        assert uow.items.get("TS-SE-01") == revised
    task = planned_task(store, plan_id, entry_id)
    draw = run_draw(
        store.unit_of_work(),
        NoExclusions(),
        NO_RULES,
        task_id=task.id,
        as_of=None,
        caller=CALLER,
        entropy=DEVELOPMENT,
    ).draw
    manifest = json.loads(draw.manifest_json)["task"]
    assert (manifest["required_speciality"], manifest["business_line"]) == (
        item.required_speciality,
        item.business_line,
    )
