"""Task policy, pure domain: property tests (no team below 2, no conflict ever assigned, caps never exceeded,
branches never leave their subtree) and the rules' edge cases (raises, frequency caps, joint merging)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dualdraw.domain.draw.policy_teams import (
    PlannedObject,
    PoolMember,
    TeamRules,
    department_seed,
    teams_for_plan,
)
from dualdraw.domain.draw.strata import risk_strata
from dualdraw.domain.errors import FailedPrecondition, InvalidArgument
from dualdraw.domain.inspection_history import (
    PastInspection,
    frequency_cap_exclusions,
    merge_joint_inspections,
    recent_inspectors,
)
from dualdraw.domain.jurisdiction import DepartmentTree
from dualdraw.domain.model import (
    Department,
    DepartmentLevel,
    InspectionObject,
    ItemKind,
    ObjectStatus,
    RiskClass,
)
from dualdraw.domain.policy import (
    FREQUENCY_CAP_RULE_ID,
    TaskPolicy,
    compute_raises,
    hand_over,
    policy_problems,
)

AS_OF = dt.date(2026, 6, 1)
SEED = hashlib.sha256(b"task policy").digest()


def obj(
    code: str, department: str = "d", risk: RiskClass = RiskClass.B, office: str = ""
) -> InspectionObject:
    return InspectionObject(
        code, code, "330100", department, "F52", ("food",), risk, ObjectStatus.ACTIVE, office
    )


# --- properties of team formation ---------------------------------------------------------------------------

DEPTS = ["home-a", "home-b", "coop"]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[PlannedObject], list[PoolMember], TeamRules]:
    n_objects = draw(st.integers(1, 8))
    codes = [f"O{n}" for n in range(n_objects)]
    offices = ["x", "y", ""]
    objects = [
        PlannedObject(c, draw(st.sampled_from(DEPTS[:2])), draw(st.sampled_from(offices))) for c in codes
    ]
    pool = []
    for n in range(draw(st.integers(0, 12))):
        pool.append(
            PoolMember(
                badge_number=f"B{n:02d}",
                department_id=draw(st.sampled_from(DEPTS)),
                office=draw(st.sampled_from(offices)),
                qualified=draw(st.booleans()),
                conflicts=frozenset(draw(st.lists(st.sampled_from(codes), max_size=3))),
                recent=frozenset(draw(st.lists(st.sampled_from(codes), max_size=2))),
            )
        )
    joint = draw(st.booleans())
    rules = TeamRules(
        team_size=draw(st.integers(2, 3)),
        cross_office=draw(st.booleans()),
        workload_cap=draw(st.integers(0, 4)),
        cooperating_department_ids=("coop",) if joint else (),
        cooperating_team_size=1,
        speciality="food",
    )
    return objects, pool, rules


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_teams_respect_every_rule_or_the_draw_fails_naming_what_is_missing(
    scenario: tuple[list[PlannedObject], list[PoolMember], TeamRules],
) -> None:
    objects, pool, rules = scenario
    by_badge = {m.badge_number: m for m in pool}
    failure: FailedPrecondition | None = None
    try:
        teams = teams_for_plan(SEED, objects, pool, rules)
    except FailedPrecondition as exc:
        failure, teams = exc, []
    if failure is not None:
        assert int(failure.metadata["missing_inspectors"]) >= 1
        assert set(failure.metadata["objects"].split(",")) <= {o.credit_code for o in objects}
        return
    assert len(teams) == len(objects)
    loads: Counter[str] = Counter()
    for o, team in zip(objects, teams, strict=True):
        badges = [m.badge_number for m in team]
        assert len(team) >= 2  # no team below 2
        assert len(set(badges)) == len(badges)
        assert team[0].leader
        assert sum(m.leader for m in team) == 1
        assert by_badge[badges[0]].qualified  # the leader holds the item's speciality
        home = [b for b in badges if by_badge[b].department_id == o.department_id]
        assert len(home) == rules.team_size
        assert len(badges) == rules.team_size + len(rules.cooperating_department_ids)
        for b in badges:
            member = by_badge[b]
            assert o.credit_code not in member.conflicts  # no conflict ever assigned
            assert o.credit_code not in member.recent
            assert member.department_id in {o.department_id, *rules.cooperating_department_ids}
            if rules.cross_office and o.office:
                assert member.office != o.office
        loads.update(badges)
    if rules.workload_cap:
        assert max(loads.values(), default=0) <= rules.workload_cap  # caps never exceeded


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_department_never_draws_outside_its_subtree(data: st.DataObject) -> None:
    # A random tree of up to 12 departments below one province.
    departments = [Department("p", "p", None, DepartmentLevel.PROVINCE, "330000")]
    for n in range(data.draw(st.integers(1, 11))):
        parents = [d for d in departments if d.level < DepartmentLevel.DISTRICT]
        parent = data.draw(st.sampled_from(parents))
        region = "3301" + f"{n:02d}" if parent.level == DepartmentLevel.PROVINCE else parent.region_code
        if parent.level == DepartmentLevel.PROVINCE:
            region = f"33{n + 1:02d}00"
        else:
            region = parent.region_code[:4] + f"{n + 1:02d}"
        departments.append(Department(f"d{n}", f"d{n}", parent.id, DepartmentLevel(parent.level + 1), region))
    tree = DepartmentTree(departments)
    task_department = data.draw(st.sampled_from(departments)).id
    subtree = tree.subtree_ids(task_department)
    objects = [obj(f"O{n}", data.draw(st.sampled_from(departments)).id) for n in range(10)]
    central = data.draw(st.booleans())
    inside = [o for o in objects if o.registering_department_id in subtree]
    handed = hand_over(inside, task_department, central, subtree)
    assert set(handed) <= subtree
    assert handed == [o.registering_department_id if central else task_department for o in inside]
    outside = [o for o in objects if o.registering_department_id not in subtree]
    if outside:
        with pytest.raises(ValueError, match="outside the subtree"):
            hand_over(outside, task_department, central, subtree)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["c1", "c2", "c3"]), st.sampled_from(["dep", "other"]), st.booleans())
    ),
    st.integers(0, 3),
    st.booleans(),
)
def test_frequency_cap_never_lets_an_object_exceed_its_yearly_cap(
    past: list[tuple[str, str, bool]], cap: int, campaign: bool
) -> None:
    history = [
        PastInspection(f"d{n}", dep, camp, AS_OF - dt.timedelta(days=n), code)
        for n, (code, dep, camp) in enumerate(past)
    ]
    policy = TaskPolicy(frequency_cap=cap, campaign=campaign, enabled=True)
    excluded = {
        e.credit_code for e in frequency_cap_exclusions(policy, "dep", AS_OF, ["c1", "c2", "c3"], history)
    }
    for code in ["c1", "c2", "c3"]:
        same_kind = sum(
            1
            for h in history
            if h.credit_code == code
            and h.department_id == "dep"
            and h.campaign == campaign
            and h.as_of.year == AS_OF.year
        )
        assert (code in excluded) == (cap > 0 and same_kind >= cap)


# --- rule edge cases ----------------------------------------------------------------------------------------


def test_frequency_cap_counts_per_calendar_year_and_names_its_reserved_rule() -> None:
    history = [PastInspection("d1", "dep", False, dt.date(2025, 12, 30), "c1")]
    policy = TaskPolicy(enabled=True)
    assert frequency_cap_exclusions(policy, "dep", dt.date(2026, 1, 2), ["c1"], history) == []
    [excluded] = frequency_cap_exclusions(policy, "dep", dt.date(2025, 12, 31), ["c1"], history)
    assert excluded.rule_id == FREQUENCY_CAP_RULE_ID
    assert excluded.evidence == ("d1",)


def test_the_task_cap_wins_over_the_item_cap_which_wins_over_the_default() -> None:
    history = [PastInspection(f"d{n}", "dep", False, dt.date(2026, 3, n), "c1") for n in (1, 2)]

    def capped(policy: TaskPolicy, item_cap: int | None) -> bool:
        resolved = policy.for_item(item_cap)
        return bool(frequency_cap_exclusions(resolved, "dep", dt.date(2026, 5, 1), ["c1"], history))

    unset = TaskPolicy(enabled=True)
    assert unset.for_item(None).frequency_cap == 1
    assert capped(unset, None)  # default 1, two inspections already
    assert not capped(unset, 3)  # the item allows three
    assert capped(unset, 2)
    assert capped(TaskPolicy(frequency_cap=1, enabled=True), 3)  # the task's own cap wins
    assert not capped(TaskPolicy(frequency_cap=0, enabled=True), 1)  # switched off by the task
    assert TaskPolicy.loads(unset.dumps()).frequency_cap is None  # "not set" survives storage
    assert TaskPolicy.loads(unset.for_item(2).dumps()).frequency_cap == 2


def test_raises_by_complaints_and_serious_violations_are_explained() -> None:
    objects = [obj("c1", risk=RiskClass.A), obj("c2", risk=RiskClass.D), obj("c3", risk=RiskClass.B)]
    complaints = {"c1": [("k1", AS_OF), ("k2", AS_OF - dt.timedelta(days=10))], "c3": [("k3", AS_OF)]}
    violations = {"c2": [("d-1/3/v2", AS_OF - dt.timedelta(days=5))], "c3": [("old", dt.date(2020, 1, 1))]}
    policy = TaskPolicy(complaint_threshold=2, raise_on_serious_violation=True, enabled=True)
    raises = compute_raises(policy, objects, AS_OF, complaints, violations)
    assert [(r.credit_code, r.from_class, r.to_class) for r in raises] == [("c1", "A", "B"), ("c2", "D", "D")]
    assert raises[0].evidence == ("k1", "k2")
    assert "serious-violation" in raises[1].reason
    to_d = compute_raises(
        TaskPolicy(complaint_threshold=2, raise_to="D", enabled=True), objects, AS_OF, complaints, {}
    )
    assert to_d[0].to_class == "D"
    strata, ratios = risk_strata({"B": Fraction(1, 2)}, Fraction(1, 10), objects, raises)
    assert strata == ["B", "D", "B"]  # c1 raised from A, c2 raised within D, c3 as it was
    assert ratios == {"B": Fraction(1, 2), "D": Fraction(1, 10)}


def test_policy_problems_cap_general_items_and_check_cooperating_departments() -> None:
    policy = TaskPolicy(
        class_ratios={"D": Fraction(1, 2)},
        cooperating_department_ids=("x", "dep"),
        cooperating_lines={"x": "fire", "dep": "fire"},
        enabled=True,
    )
    fields = {
        v.field
        for v in policy_problems(
            policy,
            ratio=Fraction(1, 10),
            item_kind=ItemKind.GENERAL,
            department_id="dep",
            known_departments=["dep"],
        )
    }
    assert fields == {
        "task.policy.class_ratios[D]",
        "task.policy.cooperating_department_ids[0]",
        "task.policy.cooperating_department_ids[1]",
    }
    key = policy_problems(
        TaskPolicy(class_ratios={"D": Fraction(1)}, enabled=True),
        ratio=Fraction(1),
        item_kind=ItemKind.KEY,
        department_id="dep",
        known_departments=["dep"],
    )
    assert key == []


def test_recent_inspectors_cover_the_last_k_inspections_only() -> None:
    history = [
        PastInspection("d1", "dep", False, dt.date(2024, 5, 1), "c1", ("A", "B")),
        PastInspection("d2", "dep", False, dt.date(2025, 5, 1), "c1", ("C", "D")),
    ]
    assert recent_inspectors(1, ["c1"], history) == {"C": {"c1"}, "D": {"c1"}}
    assert set(recent_inspectors(2, ["c1"], history)) == {"A", "B", "C", "D"}
    assert recent_inspectors(0, ["c1"], history) == {}


def test_overlapping_selections_of_two_departments_merge_into_one_joint_inspection() -> None:
    history = [
        PastInspection("d2", "city", False, dt.date(2026, 3, 1), "c1", ("C1", "C2"), 1),
        PastInspection("d1", "province", True, dt.date(2026, 2, 1), "c1", ("P1", "C1"), 4),
        PastInspection("d3", "city", False, dt.date(2026, 3, 1), "c2", ("C3", "C4"), 2),
        PastInspection("d0", "province", False, dt.date(2025, 3, 1), "c2", ("P1", "P2"), 1),
    ]
    [joint] = merge_joint_inspections(history, 2026)
    assert joint.credit_code == "c1"
    assert joint.department_ids == ("province", "city")
    assert joint.team == ("P1", "C1", "C2")


def test_departments_draw_from_distinct_sub_seeds() -> None:
    assert department_seed(SEED, "a") != department_seed(SEED, "b")
    pool = [PoolMember(f"B{n}", dep, "", True) for n in range(4) for dep in ("a", "b")]
    pool = [PoolMember(f"{m.department_id}{m.badge_number}", m.department_id, "", True) for m in pool]
    rules = TeamRules(team_size=2, cooperating_department_ids=("b",), speciality="food")
    teams = teams_for_plan(SEED, [PlannedObject(f"O{n}", "a") for n in range(4)], pool, rules)
    assert all([m.badge_number[0] for m in t] == ["a", "a", "b"] for t in teams)
    with pytest.raises(InvalidArgument):
        teams_for_plan(SEED, [], pool, TeamRules(team_size=1))


def test_substitution_candidates_of_a_v2_draw_keep_department_office_and_leader_rules() -> None:
    from dualdraw.domain.draw.policy_teams import policy_substitution_pool

    pool = [
        PoolMember("A1", "a", "east", True),
        PoolMember("A2", "a", "west", False),
        PoolMember("A3", "a", "west", True, frozenset({"O1"})),
        PoolMember("A4", "a", "west", True, recent=frozenset({"O1"})),
        PoolMember("A5", "a", "west", True),
        PoolMember("B1", "b", "west", True),
    ]
    manifest = {"objects": {"plan": [["O1", "a", "east"]]}, "task": {"policy": {"cross_office": True}}}
    lines = [m.line() for m in pool]
    leader = policy_substitution_pool(lines, manifest, "O1", "A5", leader=True)
    assert set(leader) == {"A1", "A3", "A4", "A5"}  # own department, qualified
    assert leader["A1"] == {"O1"}  # same office
    assert leader["A3"] == {"O1"}  # declared conflict
    assert leader["A4"] == {"O1"}  # recent inspection
    assert leader["A5"] == frozenset()
    member = policy_substitution_pool(lines, manifest, "O1", "B1", leader=False)
    assert set(member) == {"B1"}


def test_a_branch_of_the_initiating_department_cannot_cooperate() -> None:
    """A central draw draws its teams in the branches already: a branch that also cooperated would have its
    ranking used twice for one team, and the same inspector could stand on it twice."""
    policy = TaskPolicy(
        cooperating_department_ids=("branch", "other"),
        cooperating_lines={"branch": "food", "other": "health"},
        enabled=True,
    )
    problems = policy_problems(
        policy,
        ratio=Fraction(1, 10),
        item_kind=ItemKind.KEY,
        department_id="city",
        known_departments=["city", "branch", "other"],
        below=["city", "branch"],
    )
    assert [(v.field, "branch of the initiating department" in v.description) for v in problems] == [
        ("task.policy.cooperating_department_ids[0]", True)
    ]
