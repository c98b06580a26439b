"""A joint plan entry declares the line each cooperating department's members hold: checked with the entry,
taken by every draw of the entry, and a planned task may repeat the lines but not change them."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from fractions import Fraction

from dualdraw.domain.plan.estimate import CooperatingScope, EntryScope, Workload, estimate_entry, shortfalls
from dualdraw.domain.plan.model import PlanEntry, entry_problems
from dualdraw.domain.policy import TaskPolicy

YEAR = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
JOINT = PlanEntry(
    "e1",
    "SE",
    1,
    Fraction(1, 10),
    *YEAR,
    cooperating_department_ids=("fire",),
    cooperating_lines=(("fire", "fire_safety"),),
)


def _reasons(entry: PlanEntry) -> dict[str, str]:
    return {x.field: x.reason for x in entry_problems(entry, 2026, "entry").items}


def test_every_cooperating_department_has_one_line_and_no_other_department_has_one() -> None:
    assert _reasons(JOINT) == {}
    assert _reasons(
        PlanEntry("e1", "SE", 1, Fraction(1, 10), *YEAR, cooperating_department_ids=("fire",))
    ) == {"entry.cooperating_lines[fire]": "FIELD_REQUIRED"}
    blank = PlanEntry(
        "e1", "SE", 1, Fraction(1, 10), *YEAR, cooperating_department_ids=("fire",),
        cooperating_lines=(("fire", " "),),
    )  # fmt: skip
    assert _reasons(blank) == {"entry.cooperating_lines[fire]": "FIELD_REQUIRED"}
    stray = PlanEntry("e1", "SE", 1, Fraction(1, 10), *YEAR, cooperating_lines=(("health", "drugs"),))
    assert _reasons(stray) == {"entry.cooperating_lines[health]": "FIELDS_CONFLICT"}


def test_the_lines_are_in_the_entrys_content_only_when_declared() -> None:
    plain = PlanEntry("e1", "SE", 1, Fraction(1, 10), *YEAR)
    assert "cooperating_lines" not in plain.to_json()  # stored plan versions keep their content hash
    assert JOINT.to_json()["cooperating_lines"] == {"fire": "fire_safety"}
    assert PlanEntry.from_json(JOINT.to_json()) == JOINT


def test_a_draw_of_the_entry_takes_its_lines() -> None:
    policy = JOINT.draw_policy(TaskPolicy())
    assert policy.cooperating_department_ids == ("fire",)
    assert dict(policy.cooperating_lines) == {"fire": "fire_safety"}
    assert policy.to_json()["cooperating_lines"] == {"fire": "fire_safety"}
    # an entry stored before entries declared lines leaves them to the task
    older = PlanEntry("e1", "SE", 1, Fraction(1, 10), *YEAR, cooperating_department_ids=("fire",))
    task = TaskPolicy(enabled=True, cooperating_department_ids=("fire",), cooperating_lines={"fire": "x"})
    assert dict(older.draw_policy(task).cooperating_lines) == {"fire": "x"}


def test_a_task_may_repeat_the_entrys_lines_but_not_change_them() -> None:
    same = TaskPolicy(
        enabled=True, cooperating_department_ids=("fire",), cooperating_lines={"fire": "fire_safety"}
    )
    assert JOINT.policy_mismatches(same) == []
    other = TaskPolicy(enabled=True, cooperating_department_ids=("fire",), cooperating_lines={"fire": "food"})
    (mismatch,) = JOINT.policy_mismatches(other)
    assert (mismatch.field, mismatch.reason) == ("task.policy.cooperating_lines", "PLAN_ENTRY_MISMATCH")


def test_the_estimate_names_a_cooperating_departments_shortfall_in_its_line() -> None:
    workload = Workload(
        team_size=2, days_per_inspection=Fraction(1), cost_per_inspection=Fraction(0), testing_fee=Fraction(0)
    )
    fire = CooperatingScope("fire", "fire_safety", (1,))
    scope = EntryScope("special_equipment", 40, 0, {"B": 40}, 100, (100,), (fire,))
    estimate = estimate_entry(JOINT, scope, workload, inspector_days_per_month=2)
    (period,) = estimate.cooperating
    assert (period.department_id, period.line, period.inspector_days) == ("fire", "fire_safety", 4)
    assert period.available_inspector_days == Fraction(365 * 2, 30)  # one inspector, 2 days a month
    assert shortfalls([estimate], "city") == []
    busy = estimate_entry(
        JOINT, replace(scope, eligible_by_class={"B": 400}), workload, inspector_days_per_month=2
    )
    assert shortfalls([busy], "city") == [
        "fire_safety, 2026-01-01..2026-12-31: 16 inspector-days short in fire"
    ]
