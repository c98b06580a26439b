"""Team formation of ``dualdraw-draw/3`` (walking each department's load ranking and skipping whom an object
bars) equals a plain reading of DRAW-ALGORITHM.md §14.3/§14.7 that ranks every department afresh for every
object, on random small pools; and the load ranking equals sorting by ``(load, key, badge)``."""

from __future__ import annotations

import hashlib
import random
from functools import partial

from hypothesis import given, settings
from hypothesis import strategies as st

from dualdraw.domain.draw.load_ranking import LoadRanking
from dualdraw.domain.draw.policy_teams import (
    PlannedObject,
    department_seed,
    policy_team_key,
    policy_team_keys,
)
from dualdraw.domain.draw.qualified_teams import (
    Certificate,
    QualifiedPoolMember,
    QualifiedTeamRules,
    qualified_teams_for_plan,
    staffing_shortages,
)
from dualdraw.domain.errors import FailedPrecondition

AS_OF = "2026-06-01"
HOME = ("city", "市场监管局")
COOPERATING = {"health": "fire_safety", "fire": "special_equipment"}
CERTS = (
    Certificate("special_equipment", "2026-12-31"),
    Certificate("special_equipment", "2026-12-31"),
    Certificate("special_equipment", None),
    Certificate("fire_safety", None),
    Certificate("special_equipment", "2026-05-31"),
    Certificate("special_equipment", AS_OF),
    Certificate("special_equipment", None),
    Certificate("fire_safety", None),
    Certificate("fire_safety", "2026-01-01"),
    None,
)


def holds(m: QualifiedPoolMember, line: str) -> bool:
    c = m.certificate
    return c is not None and c.speciality == line and (c.expires_on is None or c.expires_on >= AS_OF)


def reference_teams(
    seed: bytes, objects: list[PlannedObject], pool: list[QualifiedPoolMember], rules: QualifiedTeamRules
) -> list[list[str]] | None:
    """§14.7 as written: ``free(d)`` filtered and sorted anew for every object; ``None`` when refused."""
    load = {m.badge_number: 0 for m in pool}

    def free(d: str, o: PlannedObject) -> list[QualifiedPoolMember]:
        d_seed = department_seed(seed, d)
        out = [
            m
            for m in pool
            if m.department_id == d
            and o.credit_code not in m.conflicts
            and o.credit_code not in m.recent
            and not (rules.cross_office and o.office != "" and m.office == o.office)
            and not (rules.workload_cap > 0 and load[m.badge_number] >= rules.workload_cap)
        ]
        b = load
        return sorted(
            out,
            key=lambda m: (
                b[m.badge_number],
                policy_team_key(d_seed, b[m.badge_number], m.badge_number),
                m.badge_number,
            ),
        )

    teams: list[list[str]] = []
    refused = False
    for o in objects:
        home = free(o.department_id, o)
        leader = next((m for m in home if holds(m, rules.speciality)), None)
        if leader is None:
            refused = True
            continue
        team = [leader]
        assistant = None
        for m in home:
            if len(team) >= rules.team_size:
                break
            if m is leader:
                continue
            if holds(m, rules.speciality):
                team.append(m)
            elif rules.unqualified_assistant and assistant is None:
                team.append(m)
                assistant = m
        if len(team) < rules.team_size:
            refused = True
        for k in sorted(rules.cooperating_lines, key=lambda d: d.encode("utf-8")):
            part = [
                m
                for m in free(k, o)
                if holds(m, rules.cooperating_lines[k])
                and m.badge_number not in {t.badge_number for t in team}
            ][: rules.cooperating_team_size]
            if len(part) < rules.cooperating_team_size:
                refused = True
            team.extend(part)
        for m in team:
            load[m.badge_number] += 1
        teams.append([m.badge_number for m in team])
    return None if refused else teams


DRAWS = {
    "data": st.randoms(use_true_random=False),
    "n_members": st.integers(4, 40),
    "n_objects": st.integers(1, 14),
    "team_size": st.integers(2, 3),
    "cooperating": st.integers(0, 2),
    "cooperating_team_size": st.integers(1, 2),
    "assistant": st.booleans(),
    "cross_office": st.booleans(),
    "workload_cap": st.sampled_from([0, 0, 2, 3, 5]),
}


def random_draw(
    data: random.Random,
    n_members: int,
    n_objects: int,
    team_size: int,
    cooperating: int,
    cooperating_team_size: int,
    assistant: bool,
    cross_office: bool,
    workload_cap: int,
) -> tuple[bytes, list[PlannedObject], list[QualifiedPoolMember], QualifiedTeamRules]:
    lines = dict(sorted(COOPERATING.items())[:cooperating])
    departments = list(HOME) + list(lines)
    codes = [f"91{n:016d}" for n in range(n_objects)]
    pool = [
        QualifiedPoolMember(
            f"B{n:03d}",
            data.choice(departments),
            data.choice(["", "east", "west"]),
            data.choice(CERTS),
            frozenset(c for c in codes if data.random() < 0.04),
            frozenset(c for c in codes if data.random() < 0.04),
        )
        for n in range(n_members)
    ]
    objects = [PlannedObject(c, data.choice(HOME), data.choice(["", "east", "west"])) for c in codes]
    rules = QualifiedTeamRules(
        team_size=team_size,
        speciality="special_equipment",
        as_of=AS_OF,
        cooperating_lines=lines,
        unqualified_assistant=assistant,
        cross_office=cross_office,
        workload_cap=workload_cap,
        cooperating_team_size=cooperating_team_size,
    )
    return hashlib.sha256(str(data.random()).encode()).digest(), objects, pool, rules


@settings(max_examples=300, deadline=None)
@given(**DRAWS)
def test_fast_team_formation_equals_the_plain_reading_of_the_spec(**draw: object) -> None:
    seed, objects, pool, rules = random_draw(**draw)  # type: ignore[arg-type]  # the strategies' values
    expected = reference_teams(seed, objects, pool, rules)
    try:
        teams = qualified_teams_for_plan(seed, objects, pool, rules)
    except FailedPrecondition:
        assert expected is None
        return
    assert expected is not None
    assert [[m.badge_number for m in t] for t in teams] == expected
    assert all(t[0].leader and not any(m.leader for m in t[1:]) for t in teams)


@settings(max_examples=300, deadline=None)
@given(**DRAWS)
def test_the_staffing_check_names_exactly_the_objects_no_seed_can_staff(**draw: object) -> None:
    seed, objects, pool, rules = random_draw(**draw)  # type: ignore[arg-type]  # the strategies' values
    short = {s.credit_code for s in staffing_shortages(objects, pool, rules)}
    assert short == {o.credit_code for o in objects if reference_teams(seed, [o], pool, rules) is None}


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(0, 30),
    raises=st.lists(st.integers(0, 29), max_size=80),
    walks=st.lists(st.integers(0, 80), max_size=6),
    batched=st.booleans(),
)
def test_the_load_ranking_is_the_sort_by_load_key_and_badge(
    n: int, raises: list[int], walks: list[int], batched: bool
) -> None:
    """Whether keys are computed one by one or a level at a time (``policy_team_keys``), and whenever
    walks (``walks``: after how many raises) key the levels they reach, the order is the plain sort's."""
    d_seed = department_seed(bytes(32), "city")
    members = [QualifiedPoolMember(f"B{k:02d}", "city") for k in range(n)]
    keys = partial(policy_team_keys, d_seed) if batched else None
    ranking = LoadRanking(members, lambda load, badge: policy_team_key(d_seed, load, badge), keys=keys)
    load = {m.badge_number: 0 for m in members}
    for step, r in enumerate(raises):
        if step in walks:
            next(ranking.ranked(), None)  # keys the lowest level's waiting members
        if r < n:
            badge = members[r].badge_number
            ranking.add_load(badge)
            load[badge] += 1
    expected = sorted(
        members,
        key=lambda m: (
            load[m.badge_number],
            policy_team_key(d_seed, load[m.badge_number], m.badge_number),
            m.badge_number,
        ),
    )
    assert list(ranking.ranked()) == expected
    assert list(ranking.ranked(2)) == [m for m in expected if load[m.badge_number] < 2]
    assert all(ranking.load(b) == n for b, n in load.items())
    for b, n in load.items():
        assert ranking.rank(b) == (n, policy_team_key(d_seed, n, b), b)


@given(st.lists(st.text(min_size=1, max_size=6), max_size=8), st.integers(0, 12))
def test_team_keys_of_a_level_are_the_keys_one_by_one(badges: list[str], load: int) -> None:
    d_seed = department_seed(bytes(range(32)), "city")
    assert policy_team_keys(d_seed, load, badges) == [policy_team_key(d_seed, load, b) for b in badges]


@settings(max_examples=100, deadline=None)
@given(
    badges=st.lists(st.text(min_size=1, max_size=4), min_size=1, max_size=12, unique=True),
    raises=st.lists(st.integers(0, 11), max_size=30),
)
def test_equal_keys_rank_by_badge_in_code_point_order(badges: list[str], raises: list[int]) -> None:
    """With keys that tie (a constant key), the badge decides, as ``str`` orders it: prefixes first and
    characters beyond ASCII by code point, as their UTF-8 bytes order them."""
    members = [QualifiedPoolMember(b, "city") for b in badges]
    ranking = LoadRanking(members, lambda load, badge: bytes([load % 2]) * 32)
    load = dict.fromkeys(badges, 0)
    for r in raises:
        if r < len(badges):
            ranking.add_load(badges[r])
            load[badges[r]] += 1
    expected = sorted(members, key=lambda m: (load[m.badge_number], load[m.badge_number] % 2, m.badge_number))
    assert list(ranking.ranked()) == expected
