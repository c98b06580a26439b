"""The rules every new draw applies (pure parts): the bureau defaults and a plan entry's rules over a task's
own policy, and which objects another level's draws take out before entropy."""

from __future__ import annotations

import datetime as dt

import pytest

from dualdraw.domain.draw.coordination import (
    JOINED_RULE_ID,
    OTHER_LEVEL_RULE_ID,
    other_level_exclusions,
    other_levels,
)
from dualdraw.domain.inspection_history import PastInspection
from dualdraw.domain.policy import DrawRules, TaskPolicy

AS_OF = dt.date(2026, 6, 1)
LEVELS = other_levels("city", ["province", "city"], ["city", "district"])


def past(draw: str, department: str, code: str, *, item: str = "I1", day: dt.date = AS_OF) -> PastInspection:
    return PastInspection(draw, department, False, day - dt.timedelta(days=1), code, item_code=item)


def test_other_levels_are_the_departments_above_and_below() -> None:
    assert {"province", "district"} == LEVELS


def test_only_another_levels_draws_of_the_same_item_and_year_count() -> None:
    history = [
        past("d-prov", "province", "c1"),
        past("d-dist", "district", "c2"),
        past("d-own", "city", "c3"),  # the same level: the frequency cap's business
        past("d-other-item", "province", "c4", item="I2"),
        past("d-last-year", "province", "c5", day=dt.date(2026, 1, 1)),  # drawn on 2025-12-31
        past("d-sibling", "town", "c6"),
    ]
    codes = ["c1", "c2", "c3", "c4", "c5", "c6", "c7"]
    policy = TaskPolicy(other_level="exclude", enabled=True)
    out = other_level_exclusions(policy, "I1", AS_OF, codes, history, LEVELS)
    assert [(e.credit_code, e.rule_id, e.evidence) for e in out] == [
        ("c1", OTHER_LEVEL_RULE_ID, ("d-prov",)),
        ("c2", OTHER_LEVEL_RULE_ID, ("d-dist",)),
    ]
    assert "draw d-prov of department province" in out[0].reason
    joined = other_level_exclusions(
        TaskPolicy(other_level="join", enabled=True), "I1", AS_OF, codes, history, LEVELS
    )
    assert {e.rule_id for e in joined} == {JOINED_RULE_ID}
    assert not other_level_exclusions(policy, "I1", AS_OF, ["c7"], history, LEVELS)


def test_a_task_outside_a_plan_takes_the_bureau_defaults_where_it_sets_nothing() -> None:
    bureau = DrawRules(frequency_cap=2, complaint_threshold=4, other_level="join")
    plain = bureau.policy_for(TaskPolicy())
    assert plain.enabled
    assert (plain.frequency_cap, plain.complaint_threshold, plain.other_level) == (2, 4, "join")
    assert plain.raise_on_serious_violation
    assert bureau.policy_for(TaskPolicy(), item_frequency_cap=0).frequency_cap == 0  # the item's cap wins
    own = bureau.policy_for(TaskPolicy(frequency_cap=5, other_level="exclude", enabled=True))
    assert (own.frequency_cap, own.other_level) == (5, "exclude")


def test_a_planned_task_takes_the_entrys_rules_and_may_only_repeat_them() -> None:
    entry = DrawRules(frequency_cap=1, complaint_threshold=2, raise_to="D")
    drawn = entry.planned_policy(TaskPolicy(frequency_cap=3, cross_office=True, enabled=True))
    assert (drawn.frequency_cap, drawn.complaint_threshold, drawn.raise_to) == (1, 2, "D")
    assert drawn.cross_office  # team rules stay the task's
    assert not entry.mismatches(TaskPolicy(frequency_cap=1, raise_to="D", enabled=True), "p", "e1")
    assert not entry.mismatches(TaskPolicy(cross_office=True, enabled=True), "p", "e1")  # unset: fine
    stricter = entry.mismatches(TaskPolicy(complaint_threshold=1, enabled=True), "p", "e1")
    assert [v.field for v in stricter] == ["p.complaint_threshold"]


def test_rules_round_trip_and_fill_missing_keys_with_the_defaults() -> None:
    rules = DrawRules(
        frequency_cap=0, complaint_threshold=0, raise_on_serious_violation=False, other_level="join"
    )
    assert DrawRules.from_json(rules.to_json()) == rules
    assert DrawRules.from_json({}) == DrawRules()
    assert DrawRules().to_json() == {
        "frequency_cap": 1,
        "complaint_threshold": 3,
        "raise_window_days": 365,
        "raise_on_serious_violation": True,
        "raise_to": "",
        "other_level": "exclude",
    }


def test_the_bureau_defaults_come_from_the_settings_and_a_bad_one_stops_the_start() -> None:
    from dualdraw.bootstrap import bureau_rules
    from dualdraw.settings import Settings

    assert bureau_rules(Settings()) == DrawRules()
    chosen = Settings(
        default_frequency_cap=2,
        default_complaint_threshold=0,
        default_raise_on_serious_violation="off",
        default_other_level="join",
    )
    assert bureau_rules(chosen) == DrawRules(
        frequency_cap=2, complaint_threshold=0, raise_on_serious_violation=False, other_level="join"
    )
    with pytest.raises(ValueError, match="DUALDRAW_DEFAULT_OTHER_LEVEL"):
        bureau_rules(Settings(default_other_level="merge"))
