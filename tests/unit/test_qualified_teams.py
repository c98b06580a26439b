"""Qualified teams (``dualdraw-draw/3``), pure domain: every member holds their part's line on the draw date,
one unqualified assistant only where the item allows it, cooperating members hold their department's line
and are never already on the team, and what cannot be staffed is refused before the entropy."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.draw.object_plan import ObjectPlan, PlanRow, PlanRows
from dualdraw.domain.draw.policy_teams import PlannedObject, Shortage
from dualdraw.domain.draw.qualified_teams import (
    Certificate,
    QualifiedPoolMember,
    QualifiedTeamRules,
    certificate_for,
    plan_staffing_shortages,
    planned_objects,
    qualified_substitution_pool,
    qualified_teams_for_plan,
    refuse_unstaffable,
    staffing_shortages,
)
from dualdraw.domain.draw.versions import QUALIFIED_DRAW, algorithm_for
from dualdraw.domain.errors import FailedPrecondition
from dualdraw.domain.model import Inspector, Speciality

AS_OF = "2026-06-01"
SEED = hashlib.sha256(b"qualified teams").digest()
VALID = Certificate("special_equipment", "2026-12-31")
EXPIRED = Certificate("special_equipment", "2026-05-31")
OTHER_LINE = Certificate("food", None)
FIRE = Certificate("fire_safety", None)


def member(
    badge: str, dept: str = "city", cert: Certificate | None = VALID, **kw: object
) -> QualifiedPoolMember:
    return QualifiedPoolMember(badge, dept, "", cert, **kw)  # type: ignore[arg-type]  # test shorthand


def rules(**kw: object) -> QualifiedTeamRules:
    base: dict[str, object] = {"team_size": 2, "speciality": "special_equipment", "as_of": AS_OF}
    return QualifiedTeamRules(**{**base, **kw})  # type: ignore[arg-type]  # test shorthand


def objects(n: int, dept: str = "city") -> list[PlannedObject]:
    return [PlannedObject(f"O{k:02d}", dept) for k in range(n)]


def test_an_expired_certificate_is_never_on_a_team() -> None:
    pool = [member(f"V{n}") for n in range(3)] + [member(f"X{n}", cert=EXPIRED) for n in range(6)]
    teams = qualified_teams_for_plan(SEED, objects(12), pool, rules())
    on_teams = {m.badge_number for t in teams for m in t}
    assert on_teams <= {"V0", "V1", "V2"}
    assert all(len(t) == 2 for t in teams)


def test_staff_of_another_line_are_never_on_a_team() -> None:
    pool = (
        [member("V0"), member("V1")]
        + [member(f"F{n}", cert=OTHER_LINE) for n in range(6)]
        + [member("N", cert=None)]
    )
    teams = qualified_teams_for_plan(SEED, objects(10), pool, rules())
    assert {m.badge_number for t in teams for m in t} == {"V0", "V1"}


def test_the_expiry_day_itself_still_counts() -> None:
    on_the_day = Certificate("special_equipment", AS_OF)
    assert on_the_day.valid_for("special_equipment", AS_OF)
    assert not EXPIRED.valid_for("special_equipment", AS_OF)
    assert not OTHER_LINE.valid_for("special_equipment", AS_OF)
    assert Certificate("special_equipment", None).valid_for("special_equipment", "2999-01-01")


def test_too_few_qualified_inspectors_refuse_the_draw_instead_of_relaxing() -> None:
    pool = [member("V0"), member("X0", cert=EXPIRED), member("F0", cert=OTHER_LINE)]
    with pytest.raises(FailedPrecondition) as caught:
        qualified_teams_for_plan(SEED, objects(1), pool, rules())
    assert caught.value.reason == "CONSTRAINTS_LEAVE_TOO_FEW"
    assert caught.value.metadata["missing_inspectors"] == "1"
    assert set(caught.value.metadata["constraints"].split(",")) <= {"certificate expired", "not qualified"}


def test_an_assistant_only_when_the_item_allows_it_and_at_most_one_per_team() -> None:
    pool = [member("V0"), member("V1")] + [member(f"U{n}", cert=None) for n in range(8)]
    with pytest.raises(FailedPrecondition):  # three members, only two qualified, no assistant allowed
        qualified_teams_for_plan(SEED, objects(1), pool, rules(team_size=3))
    teams = qualified_teams_for_plan(SEED, objects(8), pool, rules(team_size=3, unqualified_assistant=True))
    for team in teams:
        unqualified = [m.badge_number for m in team if m.badge_number.startswith("U")]
        assert len(team) == 3
        assert len(unqualified) == 1
        assert team[0].leader
        assert team[0].badge_number in {"V0", "V1"}
    with pytest.raises(FailedPrecondition):  # one qualified and one assistant is not a team of three
        qualified_teams_for_plan(
            SEED, objects(1), [member("V0"), *pool[2:]], rules(team_size=3, unqualified_assistant=True)
        )


def test_the_leader_is_never_the_assistant() -> None:
    pool = [member(f"U{n}", cert=None) for n in range(5)]
    with pytest.raises(FailedPrecondition) as caught:
        qualified_teams_for_plan(SEED, objects(1), pool, rules(unqualified_assistant=True))
    assert "no qualified leader" in str(caught.value)


def test_cooperating_members_hold_their_departments_line() -> None:
    pool = [member(f"V{n}") for n in range(4)]
    pool += [member(f"H{n}", "health", FIRE) for n in range(2)]
    pool += [member(f"HS{n}", "health", VALID) for n in range(3)]  # the item's line, not the health line
    pool += [member("HX", "health", Certificate("fire_safety", "2026-01-01"))]
    teams = qualified_teams_for_plan(
        SEED, objects(6), pool, rules(cooperating_lines={"health": "fire_safety"}, cooperating_team_size=1)
    )
    for team in teams:
        assert len(team) == 3
        assert team[2].badge_number in {"H0", "H1"}


def test_cooperating_picks_skip_members_already_on_the_team() -> None:
    pool = [member(f"V{n}") for n in range(4)]
    teams = qualified_teams_for_plan(
        SEED,
        objects(4),
        pool,
        rules(cooperating_lines={"city": "special_equipment"}, cooperating_team_size=1),
    )
    for team in teams:
        badges = [m.badge_number for m in team]
        assert len(badges) == 3 == len(set(badges))


def test_what_no_seed_can_staff_is_refused_before_the_entropy() -> None:
    pool = [member("V0"), member("V1", conflicts=frozenset({"O03"})), member("X0", cert=EXPIRED)]
    found = staffing_shortages(objects(5), pool, rules())
    assert [s.credit_code for s in found] == ["O03"]
    assert found[0].constraint == "declared conflict"
    with pytest.raises(FailedPrecondition) as caught:
        refuse_unstaffable(found)
    assert caught.value.reason == "TOO_FEW_QUALIFIED_INSPECTORS"
    assert caught.value.metadata["objects"] == "O03"
    assert staffing_shortages(objects(5), [*pool[:1], member("V2")], rules()) == []
    coop = staffing_shortages(
        objects(3),
        [member("V0"), member("V1"), member("H0", "health", VALID)],
        rules(cooperating_lines={"health": "fire_safety"}),
    )
    assert {(s.credit_code, s.department_id, s.constraint) for s in coop} == {
        (f"O0{n}", "health", "not qualified") for n in range(3)
    }


def test_the_plans_staffing_check_judges_each_office_and_each_barred_object() -> None:
    pool = [QualifiedPoolMember(f"V{n}", "city", "A", VALID) for n in range(3)]
    pool.append(QualifiedPoolMember("V3", "city", "B", VALID, recent=frozenset({"O3"})))
    plan = PlanRows.of(PlanRow(f"O{n}", "city", office) for n, office in enumerate("ABAB"))
    assert isinstance(plan, PlanRows)
    objects = [PlannedObject(code, d, office) for code, d, office, _, _ in plan.values()]
    assert plan_staffing_shortages(plan, pool, rules()) == []
    across = plan_staffing_shortages(plan, pool, rules(cross_office=True))
    assert [s.credit_code for s in across] == ["O0", "O2"]  # the office A objects: only V3 is free
    assert across == staffing_shortages(objects, pool, rules(cross_office=True))
    barred = plan_staffing_shortages(plan, pool, rules(team_size=4))
    assert [s.credit_code for s in barred] == ["O3"]  # V3 inspected O3 lately
    assert barred == staffing_shortages(objects, pool, rules(team_size=4))


def generated_staffing(
    rnd: random.Random, cross_office: bool
) -> tuple[PlanRows, list[QualifiedPoolMember], QualifiedTeamRules]:
    """A plan over three departments and their offices, the rows of the objects somebody is barred from
    carrying those badges (as a draw's plan does), a small pool with a few members barred from objects
    (at times from a code outside the plan), and rules of two or three members, at times with a
    cooperating department."""
    departments = ["city", "east", "高新"]
    offices = {d: [f"{d}-{k}" for k in range(rnd.randint(1, 3))] for d in departments}
    codes = sorted(f"C{n:04d}" for n in rnd.sample(range(10_000), rnd.randint(1, 60)))
    places = [(d, rnd.choice(offices[d])) for d in rnd.choices(departments, k=len(codes))]
    pool = []
    for d in departments:
        for k in range(rnd.randint(2, 7)):
            barred = rnd.sample([*codes, "ELSEWHERE"], min(len(codes), 3)) if rnd.random() < 0.15 else []
            pool.append(
                QualifiedPoolMember(
                    f"{d}-{k}",
                    d,
                    rnd.choice(offices[d]),
                    rnd.choice([VALID] * 5 + [EXPIRED, FIRE, None]),
                    frozenset(barred[:2]),
                    frozenset(barred[2:]),
                )
            )
    conflicts: dict[str, tuple[str, ...]] = {}
    recent: dict[str, tuple[str, ...]] = {}
    for m in pool:
        for code in m.conflicts:
            conflicts[code] = (*conflicts.get(code, ()), m.badge_number)
        for code in m.recent:
            recent[code] = (*recent.get(code, ()), m.badge_number)
    plan = PlanRows.of(PlanRow(code, d, office) for code, (d, office) in zip(codes, places, strict=True))
    assert isinstance(plan, PlanRows)
    team = {"team_size": rnd.choice([2, 2, 3]), "unqualified_assistant": rnd.random() < 0.3}
    cooperating = rnd.choice([{}, {}, {}, {"east": "fire_safety"}])
    return (
        plan.barring(conflicts, recent),
        pool,
        rules(cross_office=cross_office, **team, cooperating_lines=cooperating),
    )


def test_the_plans_staffing_check_names_what_the_object_by_object_check_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dualdraw.domain.draw.qualified_teams as qualified_teams

    walked = []
    walk = qualified_teams._walk_shortages

    def counted(*args: object) -> list[Shortage]:
        walked.append(True)
        return walk(*args)  # type: ignore[arg-type]  # the arguments it was given

    monkeypatch.setattr(qualified_teams, "_walk_shortages", counted)
    rnd = random.Random(20260601)
    seen: Counter[str] = Counter()
    for n in range(400):
        cross_office = n % 2 == 1
        plan, pool, team_rules = generated_staffing(rnd, cross_office)
        objects = [PlannedObject(code, d, office) for code, d, office, _, _ in plan.values()]
        expected = staffing_shortages(objects, pool, team_rules)
        walked.clear()
        assert plan_staffing_shortages(plan, pool, team_rules) == expected
        columns_walked = bool(walked)
        assert plan_staffing_shortages(dict(plan), pool, team_rules) == expected  # not columns: the walk
        barred = {code for m in pool for code in m.conflicts | m.recent}
        if not expected:
            seen["staffed"] += 1
            if not team_rules.cooperating_lines:
                assert not columns_walked, "a plan every object of which is staffed was walked"
                seen["staffed, not walked"] += 1
        elif {s.credit_code for s in expected} <= barred:
            seen["short only where somebody is barred"] += 1
        elif cross_office and not team_rules.cooperating_lines:
            seen["short where nobody is barred, cross-office"] += 1
    assert min(seen.values()) >= 10, seen
    assert len(seen) == 4, seen


def test_the_certificate_used_is_the_latest_held_for_the_line() -> None:
    def inspector(*specialities: Speciality) -> Inspector:
        return Inspector("B", "", "city", "", specialities)

    assert certificate_for(inspector(Speciality("food")), "special_equipment") is None
    assert certificate_for(
        inspector(
            Speciality("special_equipment", dt.date(2026, 1, 1)),
            Speciality("special_equipment", dt.date(2027, 1, 1)),
        ),
        "special_equipment",
    ) == Certificate("special_equipment", "2027-01-01")
    assert certificate_for(
        inspector(Speciality("special_equipment", dt.date(2026, 1, 1)), Speciality("special_equipment")),
        "special_equipment",
    ) == Certificate("special_equipment", None)


def test_pool_lines_carry_the_certificate_in_canonical_form() -> None:
    line = member("SE-1", conflicts=frozenset({"b", "a"})).line()
    assert line == (
        '{"badge_number":"SE-1","certificate":{"expires_on":"2026-12-31","speciality":"special_equipment"},'
        '"conflicts":["a","b"],"department_id":"city","office":"","recent":[]}'
    )
    assert QualifiedPoolMember.from_line(line).line() == line
    assert member("N", cert=None).line().startswith('{"badge_number":"N","certificate":null,')
    algorithm = algorithm_for(QUALIFIED_DRAW)
    assert algorithm.pool_problem([line]) is None
    assert (
        algorithm.pool_problem([line.replace('"conflicts":["a","b"]', '"conflicts":["b","a"]')]) is not None
    )


def test_a_substitute_holds_the_removed_members_department_line() -> None:
    pool = [member("V0"), member("V1"), member("X0", cert=EXPIRED), member("U0", cert=None)]
    pool += [member("H0", "health", FIRE), member("H1", "health", FIRE), member("H2", "health", VALID)]
    manifest = {
        "as_of": AS_OF,
        "task": {
            "team_size": 2,
            "required_speciality": "special_equipment",
            "unqualified_assistant": True,
            "policy": {
                "cooperating_lines": {"health": "fire_safety"},
                "cross_office": False,
                "workload_cap": 0,
                "cooperating_team_size": 1,
            },
        },
        "objects": {"plan": [["O00", "city", ""]]},
    }
    lines = [m.line() for m in pool]
    assert set(qualified_substitution_pool(lines, manifest, "O00", "U0")) == {"V0", "V1"}
    assert set(qualified_substitution_pool(lines, manifest, "O00", "H0")) == {"H0", "H1"}


CERTS = st.sampled_from([VALID, EXPIRED, OTHER_LINE, None, Certificate("special_equipment", AS_OF)])


@settings(max_examples=150, deadline=None)
@given(
    home=st.lists(CERTS, min_size=1, max_size=8),
    coop=st.lists(st.sampled_from([FIRE, None, VALID, Certificate("fire_safety", "2026-01-01")]), max_size=5),
    n_objects=st.integers(1, 8),
    team_size=st.integers(2, 4),
    assistant=st.booleans(),
    workload_cap=st.integers(0, 4),
)
def test_every_team_holds_its_lines_or_the_draw_is_refused(
    home: list[Certificate | None],
    coop: list[Certificate | None],
    n_objects: int,
    team_size: int,
    assistant: bool,
    workload_cap: int,
) -> None:
    pool = [member(f"C{n}", "city", c) for n, c in enumerate(home)]
    pool += [member(f"H{n}", "health", c) for n, c in enumerate(coop)]
    lines = {"health": "fire_safety"} if coop else {}
    r = rules(
        team_size=team_size,
        unqualified_assistant=assistant,
        cooperating_lines=lines,
        workload_cap=workload_cap,
    )
    by_badge = {m.badge_number: m for m in pool}
    try:
        teams = qualified_teams_for_plan(SEED, objects(n_objects), pool, r)
    except FailedPrecondition as exc:
        reason = exc.reason
        assert reason in {"TOO_FEW_INSPECTORS", "CONSTRAINTS_LEAVE_TOO_FEW"}
        return
    for team in teams:
        badges = [m.badge_number for m in team]
        assert len(badges) == len(set(badges)) == team_size + (1 if coop else 0)
        assert team[0].leader
        assert by_badge[badges[0]].qualified("special_equipment", AS_OF)
        home_part = [by_badge[b] for b in badges if b.startswith("C")]
        unqualified = [m for m in home_part if not m.qualified("special_equipment", AS_OF)]
        assert len(unqualified) <= (1 if assistant else 0)
        assert all(by_badge[b].qualified("fire_safety", AS_OF) for b in badges if b.startswith("H"))


_TEXT = st.text(alphabet=st.sampled_from('ab-1"\\\n文'), max_size=4)


@given(
    st.builds(
        QualifiedPoolMember,
        badge_number=_TEXT,
        department_id=_TEXT,
        office=_TEXT,
        certificate=st.none() | st.builds(Certificate, _TEXT, st.none() | _TEXT),
    )
)
def test_a_bare_pool_line_is_the_canonical_json_of_its_fields(member: QualifiedPoolMember) -> None:
    """Written directly, each text quoted on its own: the bytes of the canonical JSON of its fields."""
    assert member.bare_line() == canonical_json(member._fields()).decode("utf-8")
    assert QualifiedPoolMember.from_bare_line(member.bare_line()) == member


def test_a_bare_pool_line_refuses_a_lone_surrogate_as_canonical_json_does() -> None:
    member = QualifiedPoolMember("HB-1", "130000-SJ", "处室\ud800")
    with pytest.raises(ValueError, match="lone surrogate"):
        canonical_json(member._fields())
    with pytest.raises(ValueError, match="lone surrogate"):
        member.bare_line()


def test_planned_objects_from_columns_are_those_of_the_rows() -> None:
    rows = PlanRows.of(
        [PlanRow("c1", "d1", "o1"), PlanRow("c2", "d2", "o2"), PlanRow("c3", "d1", "o2", ("b1",))]
    )
    assert isinstance(rows, PlanRows)  # ascending: columns
    plan = ObjectPlan(rows)
    expected = [PlannedObject(code, rows[code].department_id, rows[code].office) for code in ("c3", "c1")]
    assert planned_objects({}, ["c3", "c1"], plan) == expected
    assert planned_objects({}, [], plan) == []
    with pytest.raises(KeyError, match="c9"):
        planned_objects({}, ["c1", "c9"], plan)
