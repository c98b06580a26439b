"""The department tree and what a task may draw from."""

from __future__ import annotations

from fractions import Fraction

import pytest

from dualdraw.domain.errors import InvalidArgument, NotFound
from dualdraw.domain.jurisdiction import (
    DepartmentTree,
    department_tree_problems,
    scope_problems,
    task_object_filter,
)
from dualdraw.domain.model import Department, DepartmentLevel, Task, TaskScope

P, C, D = DepartmentLevel.PROVINCE, DepartmentLevel.CITY, DepartmentLevel.DISTRICT
HEBEI = Department("HB", "河北省局", None, P, "130000")
TANGSHAN = Department("TS", "唐山市局", "HB", C, "130200")
LUNAN = Department("LN", "路南区分局", "TS", D, "130202")
LUBEI = Department("LB", "路北区分局", "TS", D, "130203")
QINHUANGDAO = Department("QHD", "秦皇岛市局", "HB", C, "130300")
TREE = [HEBEI, TANGSHAN, LUNAN, LUBEI, QINHUANGDAO]


def _task(department_id: str, region: str | None = None, industries: tuple[str, ...] = ()) -> Task:
    return Task("t1", "TS-SE-01", department_id, Fraction(1, 10), 2, TaskScope(region, industries))


def test_tree_navigation() -> None:
    tree = DepartmentTree(TREE)
    assert tree.subtree_ids("TS") == {"TS", "LN", "LB"}
    assert tree.subtree_ids("HB") == {"HB", "TS", "LN", "LB", "QHD"}
    assert tree.subtree_ids("LN") == {"LN"}
    assert [d.id for d in tree.ancestors("LB")] == ["HB", "TS", "LB"]
    assert tree.get("QHD") == QINHUANGDAO
    assert tree.get("nope") is None
    assert [d.id for d in tree.children("TS")] == ["LB", "LN"]
    assert "LN" in tree
    assert len(tree) == 5
    with pytest.raises(NotFound):
        tree.subtree_ids("nope")


def test_a_valid_tree_has_no_problems() -> None:
    assert department_tree_problems(TREE) == []


def test_tree_problems_name_the_field() -> None:
    bad = [
        HEBEI,
        Department("TS", "唐山市局", "HB", D, "130200"),  # level should be 2
        Department("LN", "路南区分局", "TS", D, "130302"),  # region in Qinhuangdao
        Department("X", "孤儿", "GONE", D, "130202"),  # unknown parent
        Department("LN", "again", "TS", D, "130202"),  # duplicate id
        Department("BAD", "bad region", "HB", C, "13020"),
    ]
    problems = {(p.field, p.description.split(":")[0]) for p in department_tree_problems(bad)}
    fields = {f for f, _ in problems}
    assert "departments[1].level" in fields
    assert "departments[2].region_code" in fields
    assert "departments[3].parent_id" in fields
    assert "departments[4].id" in fields
    assert "departments[5].region_code" in fields
    messages = " | ".join(p.description for p in department_tree_problems(bad))
    assert "must be 2, one below parent 'HB' at level 1, got 3" in messages
    assert "region 130302 is outside region 130200 of parent department 'TS'" in messages
    assert "unknown parent department 'GONE'" in messages


def test_cycles_are_reported_once() -> None:
    cyclic = [
        HEBEI,
        Department("A", "a", "B", C, "130200"),
        Department("B", "b", "A", C, "130200"),
        Department("S", "self", "S", C, "130300"),
    ]
    problems = department_tree_problems(cyclic)
    cycles = [p for p in problems if "cycle" in p.description]
    assert len(cycles) == 2
    assert {p.field for p in cycles} == {"departments[1].parent_id", "departments[3].parent_id"}
    assert any("A → B → A" in p.description for p in cycles)
    with pytest.raises(InvalidArgument):
        DepartmentTree(cyclic)


def test_problems_against_existing_departments() -> None:
    # a new branch may hang under an existing city; moving the city breaks its existing children
    assert department_tree_problems([Department("GXQ", "高新区", "TS", D, "130273")], existing=TREE) == []
    moved = Department("TS", "唐山市局", "HB", C, "130300")
    problems = department_tree_problems([moved], existing=TREE)
    assert {p.field for p in problems} == {"departments"}
    assert all(p.description.startswith("existing department") for p in problems)


def test_scope_problems() -> None:
    tree = DepartmentTree(TREE)
    assert scope_problems(tree, "TS", TaskScope("130203")) == []
    assert scope_problems(tree, "TS", TaskScope()) == []
    [unknown] = scope_problems(tree, "nope", TaskScope())
    assert unknown.field == "task.department_id"
    [outside] = scope_problems(tree, "LN", TaskScope("130203"))
    assert outside.field == "task.scope.region_code"
    assert "outside the jurisdiction of department 'LN'" in outside.description
    [malformed] = scope_problems(tree, "LN", TaskScope("13020"))
    assert malformed.field == "task.scope.region_code"
    [empty] = scope_problems(tree, "LN", TaskScope(None, ("C34", " ")))
    assert empty.field == "task.scope.industries[1]"


def test_task_object_filter() -> None:
    tree = DepartmentTree(TREE)
    flt = task_object_filter(tree, _task("TS"))
    assert flt.department_ids == {"TS", "LN", "LB"}
    assert flt.region_prefix == "1302"
    assert flt.active_only
    assert flt.industries == frozenset()
    narrowed = task_object_filter(tree, _task("TS", "130203", ("C34", "D44")))
    assert narrowed.region_prefix == "130203"
    assert narrowed.industries == {"C34", "D44"}
    assert task_object_filter(tree, _task("LN")).department_ids == {"LN"}
    with pytest.raises(InvalidArgument) as raised:
        task_object_filter(tree, _task("LN", "130300"))
    assert raised.value.violations[0].field == "task.scope.region_code"
