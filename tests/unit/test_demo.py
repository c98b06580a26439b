"""The bundled demo directory is deterministic and internally consistent."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from dualdraw.domain.credit_code import is_valid_credit_code
from dualdraw.domain.draw.algorithm import parse_ratio
from dualdraw.domain.draw.selection import select_objects
from dualdraw.domain.draw.teams import form_teams, inspector_pool
from dualdraw.domain.jurisdiction import DepartmentTree, department_tree_problems
from dualdraw.domain.model import ComplaintStatus, DepartmentLevel, ObjectStatus, RiskConclusion
from dualdraw.domain.region import region_within
from dualdraw.service_layer.demo_directory import BUSINESS_LINES, demo_directory

DEMO = demo_directory()


def test_deterministic() -> None:
    assert demo_directory() == DEMO


def test_department_tree() -> None:
    assert department_tree_problems(DEMO.departments) == []
    tree = DepartmentTree(DEMO.departments)
    districts = [d for d in DEMO.departments if d.level == DepartmentLevel.DISTRICT]
    assert len(districts) >= 2
    assert {d.region_code for d in districts} >= {"130202", "130203"}
    assert [d.region_code for d in tree.ancestors(districts[0].id)][:2] == ["130000", "130200"]


def test_objects() -> None:
    codes = [o.credit_code for o in DEMO.objects]
    assert 250 <= len(codes) <= 350
    assert len(set(codes)) == len(codes)
    assert all(is_valid_credit_code(c) for c in codes)
    assert len({o.name for o in DEMO.objects}) == len(codes)
    departments = {d.id: d for d in DEMO.departments}
    for o in DEMO.objects:
        assert o.registering_department_id in departments
        assert region_within(o.region_code, departments[o.registering_department_id].region_code)
        assert o.credit_code[2:8] == o.region_code
        assert o.business_lines
        assert set(o.business_lines) <= set(BUSINESS_LINES)
    by_district = Counter(o.registering_department_id for o in DEMO.objects)
    populated = [
        d for d in DEMO.departments if d.level == DepartmentLevel.DISTRICT and by_district[d.id] >= 50
    ]
    assert len(populated) >= 2
    assert {o.risk_class for o in DEMO.objects} == {"A", "B", "C", "D"}
    assert {o.status for o in DEMO.objects} == set(ObjectStatus)


def test_inspectors() -> None:
    badges = [i.badge_number for i in DEMO.inspectors]
    assert 25 <= len(badges) <= 35
    assert len(set(badges)) == len(badges)
    departments = {d.id for d in DEMO.departments}
    codes = {o.credit_code for o in DEMO.objects}
    assert all(i.department_id in departments for i in DEMO.inspectors)
    assert all(i.conflicts <= codes for i in DEMO.inspectors)
    assert sum(bool(i.conflicts) for i in DEMO.inspectors) >= 3
    lapsed = [
        i
        for i in DEMO.inspectors
        for s in i.specialities
        if s.certificate_expires_on and s.certificate_expires_on < DEMO.as_of
    ]
    assert lapsed
    assert any(not i.available for i in DEMO.inspectors)
    held = {s.code for i in DEMO.inspectors for s in i.specialities}
    assert {item.required_speciality for item in DEMO.items} <= held


def test_side_facts_reference_existing_records() -> None:
    codes = {o.credit_code for o in DEMO.objects}
    departments = {d.id for d in DEMO.departments}
    assert 8 <= len(DEMO.complaints) <= 12
    assert {c.status for c in DEMO.complaints} == set(ComplaintStatus)
    assert all(c.credit_code in codes for c in DEMO.complaints)
    assert all((c.closed_on is not None) == (c.status == ComplaintStatus.CLOSED) for c in DEMO.complaints)
    assert all(c.organizer_department_id in departments for c in DEMO.campaigns)
    assert any(c.starts_on <= DEMO.as_of <= c.ends_on for c in DEMO.campaigns)
    assert any(c.ends_on < DEMO.as_of for c in DEMO.campaigns)
    assert all(r.credit_code in codes for r in DEMO.risk_assessments)
    assert any(r.conclusion == RiskConclusion.UNSUITABLE for r in DEMO.risk_assessments)
    assert all(s.credit_code in codes for s in DEMO.statutory_designations)
    assert {i.business_line for i in DEMO.items} == set(BUSINESS_LINES)
    assert all(i.department_id in departments for i in DEMO.items)
    ids = [
        *(x.id for x in DEMO.complaints),
        *(x.id for x in DEMO.campaigns),
        *(x.id for x in DEMO.risk_assessments),
        *(x.id for x in DEMO.statutory_designations),
    ]
    assert len(set(ids)) == len(ids)


def test_suggested_task_can_be_drawn() -> None:
    task = DEMO.suggested_task
    item = next(i for i in DEMO.items if i.code == task.item_code)
    tree = DepartmentTree(DEMO.departments)
    in_scope = [
        o.credit_code
        for o in DEMO.objects
        if o.registering_department_id in tree.subtree_ids(task.department_id)
        and o.status == ObjectStatus.ACTIVE
        and item.business_line in o.business_lines
    ]
    assert len(in_scope) >= 20
    selected = select_objects(b"\x00" * 32, in_scope, parse_ratio(task.ratio))
    candidates = [i for i in DEMO.inspectors if i.department_id == task.department_id]
    pool = inspector_pool(candidates, item.required_speciality, dt.date(2026, 12, 1))
    assert len(pool.qualified) >= 2 * task.team_size
    assert pool.left_out
    teams = form_teams(
        b"\x00" * 32,
        [s.credit_code for s in selected],
        candidates,
        task.team_size,
        DEMO.as_of,
        item.required_speciality,
    )
    assert len(teams) == len(selected)
