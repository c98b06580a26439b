"""The plan's caps and raises bind every planned draw (Art. 8, 9): an entry's rules are checked and stored
with the plan version, a draw takes them from the version in force when it commits, and a task may repeat
but never change them — through the use cases on a real SQLite and PostgreSQL store."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from fractions import Fraction

import pytest

from dualdraw.adapters.store import Store
from dualdraw.domain import model
from dualdraw.domain.errors import InvalidArgument
from dualdraw.domain.exclusions.model import RuleSet
from dualdraw.domain.plan.model import PlanEntry
from dualdraw.domain.policy import DrawRules, TaskPolicy
from dualdraw.service_layer import catalogue, plans, publication
from dualdraw.service_layer.catalogue import PlanRequest
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import HIGH_TECH_ZONE
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.service_layer.draws import run_draw
from dualdraw.service_layer.entropy_policy import EntropyPolicy

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)  # 2026-12-01 10:00 in Asia/Shanghai
DEVELOPMENT = EntropyPolicy(allow_local=True)  # development mode: one-step draws use a local secret
CALLER = Caller(actor="planner", now=NOW)
RULES = DrawRules(
    frequency_cap=2,
    complaint_threshold=1,
    raise_window_days=30,
    raise_on_serious_violation=False,
    raise_to="D",
    other_level="join",
)


class NoExclusions:
    """The rules engine port, excluding nothing: these tests are about the plan's rules."""

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


def entry(rules: DrawRules = RULES) -> PlanEntry:
    return PlanEntry(
        id="",
        item_code="TS-SE-01",
        item_version=1,
        ratio=Fraction(1, 10),
        window_start=dt.date(2026, 1, 1),
        window_end=dt.date(2026, 12, 31),
        class_ratios=(("D", Fraction(1, 2)),),
        rules=rules,
    )


def published_plan(store: Store) -> tuple[str, str]:
    plan = plans.create_plan(
        store.unit_of_work(),
        department_id=HIGH_TECH_ZONE,
        year=2026,
        title="2026",
        inspector_days_per_month=2,
        caller=CALLER,
    )
    plan = plans.add_entry(store.unit_of_work(), plan.plan_id, entry(), CALLER)
    plans.approve_plan(store.unit_of_work(), plan.plan_id, CALLER)
    plans.publish_plan(store.unit_of_work(), plan.plan_id, CALLER)
    return plan.plan_id, plan.entries[0].id


def planned_task(store: Store, plan_id: str, entry_id: str, policy: TaskPolicy | None = None) -> model.Task:
    return catalogue.create_task(
        store.unit_of_work(),
        item_code="",
        department_id=HIGH_TECH_ZONE,
        ratio=None,
        team_size=2,
        scope=model.TaskScope(),
        title="",
        caller=CALLER,
        policy=policy,
        plan=PlanRequest(plan_id, entry_id),
        plan_required=True,
    )


def test_an_entrys_rules_are_checked_and_stored_with_the_plan_version(store: Store) -> None:
    plan_id, entry_id = published_plan(store)
    stored = plans.get_plan(store.unit_of_work(), plan_id).entry(entry_id)
    assert stored is not None
    assert stored.rules == RULES
    draft = plans.create_plan(
        store.unit_of_work(), department_id=HIGH_TECH_ZONE, year=2026, title="x", inspector_days_per_month=2,
        caller=CALLER,
    )  # fmt: skip
    bad = DrawRules(frequency_cap=-1, raise_to="E", other_level="merge")
    with pytest.raises(InvalidArgument) as refused:
        plans.add_entry(store.unit_of_work(), draft.plan_id, entry(bad), CALLER)
    fields = {v.field for v in refused.value.violations}
    assert {"entry.rules.frequency_cap", "entry.rules.raise_to", "entry.rules.other_level"} <= fields


def test_a_planned_draw_applies_the_rules_of_the_entry_in_force_when_it_commits(store: Store) -> None:
    plan_id, entry_id = published_plan(store)
    task = planned_task(store, plan_id, entry_id)
    assert TaskPolicy.loads(task.policy_json).frequency_cap == 2  # the task shows the rules it draws with
    later = Caller(actor="planner", now=NOW + dt.timedelta(hours=1))
    amended = dataclasses.replace(entry(dataclasses.replace(RULES, frequency_cap=0)), id=entry_id)
    plans.amend_plan(
        store.unit_of_work(), plan_id, reason="no cap for this line", upserts=[amended], removed_entry_ids=[],
        caller=later,
    )  # fmt: skip
    draw = run_draw(
        store.unit_of_work(),
        NoExclusions(),
        RuleSet.of([]),
        task_id=task.id,
        as_of=None,
        caller=later,
        entropy=DEVELOPMENT,
    ).draw
    policy = json.loads(draw.manifest_json)["task"]["policy"]
    assert policy["frequency_cap"] == 0  # the amendment in force, not the version the task was bound to
    assert (policy["complaint_threshold"], policy["raise_window_days"]) == (1, 30)
    assert (policy["raise_on_serious_violation"], policy["raise_to"], policy["other_level"]) == (
        False,
        "D",
        "join",
    )
    assert policy["class_ratios"] == {"D": "1/2"}


def test_a_planned_task_may_repeat_the_entrys_rules_but_not_change_them(store: Store) -> None:
    plan_id, entry_id = published_plan(store)
    for asked, field in [
        (TaskPolicy(frequency_cap=1, enabled=True), "frequency_cap"),  # stricter: still not the plan's
        (TaskPolicy(complaint_threshold=5, enabled=True), "complaint_threshold"),
        (TaskPolicy(other_level="exclude", enabled=True), "other_level"),
        (TaskPolicy(central=True, enabled=True), "central"),
    ]:
        with pytest.raises(InvalidArgument) as refused:
            planned_task(store, plan_id, entry_id, asked)
        assert [v.field for v in refused.value.violations] == [f"task.policy.{field}"]
    task = planned_task(
        store, plan_id, entry_id, TaskPolicy(frequency_cap=2, cross_office=True, enabled=True)
    )
    kept = TaskPolicy.loads(task.policy_json)
    assert (kept.frequency_cap, kept.cross_office, kept.other_level) == (2, True, "join")
