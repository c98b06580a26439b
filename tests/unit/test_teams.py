"""Inspector teams: qualification, avoidance, even workload, failure with reasons."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dualdraw.domain.draw.teams import (
    conflict_digest,
    form_teams,
    inspector_pool,
    inspector_pool_digest,
    team_key,
)
from dualdraw.domain.errors import FailedPrecondition, InvalidArgument
from dualdraw.domain.model import Inspector, Speciality

SE = "special_equipment"
AS_OF = dt.date(2026, 11, 26)
SEED = hashlib.sha256(b"teams").digest()


def _inspector(badge: str, *, conflicts: frozenset[str] = frozenset(), **kw: object) -> Inspector:
    specialities = kw.pop("specialities", (Speciality(SE),))
    available = kw.pop("available", True)
    assert not kw
    return Inspector(badge, badge, "GXQ", "office", specialities, available, conflicts)  # type: ignore[arg-type]


def _codes(n: int) -> list[str]:
    return [f"OBJ{i:04d}" for i in range(n)]


def _pool(n: int) -> list[Inspector]:
    return [_inspector(f"B{i:03d}") for i in range(n)]


def test_pool_filters_and_reports() -> None:
    candidates = [
        _inspector("OK1"),
        _inspector("OK2", specialities=(Speciality(SE, AS_OF),)),  # expires today: still valid
        _inspector("LEAVE", available=False),
        _inspector("OTHER", specialities=(Speciality("metrology"),)),
        _inspector("LAPSED", specialities=(Speciality(SE, dt.date(2026, 6, 30)),)),
    ]
    pool = inspector_pool(candidates, SE, AS_OF)
    assert pool.badges == ("OK1", "OK2")
    assert dict(pool.left_out) == {
        "LEAVE": "unavailable",
        "OTHER": "no 'special_equipment' qualification",
        "LAPSED": "'special_equipment' certificate expired on 2026-06-30",
    }
    assert pool.digest == inspector_pool_digest(["OK2", "OK1"])
    with pytest.raises(ValueError, match="duplicate"):
        inspector_pool([_inspector("A"), _inspector("A")], SE, AS_OF)


def test_team_key_definition() -> None:
    assert team_key(SEED, 12, "TS-GXQ-001") == hashlib.sha256(SEED + b"team\x0012\x00TS-GXQ-001").digest()


def test_leader_is_the_first_member_and_unqualified_are_never_drawn() -> None:
    pool = [*_pool(3), _inspector("LAPSED", specialities=(Speciality(SE, dt.date(2025, 1, 1)),))]
    teams = form_teams(SEED, _codes(6), pool, 2, AS_OF, SE)
    assert all([m.leader for m in team] == [True, False] for team in teams)
    assert all(m.badge_number != "LAPSED" for team in teams for m in team)


def test_first_object_takes_the_lowest_keys_of_tier_zero() -> None:
    pool = _pool(5)
    [team] = form_teams(SEED, ["X"], pool, 3, AS_OF, SE)
    expected = sorted((i.badge_number for i in pool), key=lambda b: team_key(SEED, 0, b))[:3]
    assert [m.badge_number for m in team] == expected


def test_team_size_below_two_is_invalid() -> None:
    with pytest.raises(InvalidArgument) as raised:
        form_teams(SEED, _codes(1), _pool(4), 1, AS_OF, SE)
    assert raised.value.violations[0].field == "task.team_size"


def test_too_few_qualified_inspectors() -> None:
    pool = [_inspector("A"), _inspector("B", available=False), _inspector("C", specialities=())]
    with pytest.raises(FailedPrecondition) as raised:
        form_teams(SEED, _codes(2), pool, 2, AS_OF, SE)
    error = raised.value
    assert error.reason == "TOO_FEW_INSPECTORS"
    assert "only 1 of 3 candidates qualify (1 unavailable, 1 without a valid certificate)" in error.message
    assert error.metadata["qualified"] == "1"
    assert error.metadata["needed"] == "2"


def test_conflicts_that_leave_too_few_name_every_object() -> None:
    codes = _codes(4)
    pool = [
        _inspector("A", conflicts=frozenset({codes[1], codes[3]})),
        _inspector("B", conflicts=frozenset({codes[1]})),
        _inspector("C"),
    ]
    with pytest.raises(FailedPrecondition) as raised:
        form_teams(SEED, codes, pool, 2, AS_OF, SE)
    error = raised.value
    assert error.reason == "CONFLICTS_LEAVE_TOO_FEW"
    assert "OBJ0001 (1 left)" in error.message
    assert "OBJ0003" not in error.message
    assert error.metadata["objects"] == "OBJ0001"


def test_no_objects_no_teams() -> None:
    assert form_teams(SEED, [], _pool(1), 2, AS_OF, SE) == []


def test_conflict_digest_covers_only_eligible_conflicts() -> None:
    pool = [_inspector("A", conflicts=frozenset({"X", "Y"})), _inspector("B", conflicts=frozenset({"Z"}))]
    assert conflict_digest(pool, ["X", "Q"]) == hashlib.sha256(b"A\tX").hexdigest()
    assert conflict_digest(pool, ["Q"]) == hashlib.sha256(b"").hexdigest()


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[str], list[Inspector], int]:
    n_objects = draw(st.integers(0, 30))
    team_size = draw(st.integers(2, 4))
    n_inspectors = draw(st.integers(team_size, 12))
    codes = _codes(n_objects)
    inspectors = []
    for i in range(n_inspectors):
        conflicts = draw(st.frozensets(st.sampled_from(codes), max_size=3)) if codes else frozenset()
        inspectors.append(_inspector(f"B{i:03d}", conflicts=conflicts))
    return codes, inspectors, team_size


@given(scenarios(), st.binary(min_size=32, max_size=32))
def test_teams_are_exact_distinct_and_avoid_conflicts(
    scenario: tuple[list[str], list[Inspector], int], seed: bytes
) -> None:
    codes, inspectors, team_size = scenario
    conflicts = {i.badge_number: i.conflicts for i in inspectors}
    short = [code for code in codes if sum(code not in c for c in conflicts.values()) < team_size]
    if short:
        with pytest.raises(FailedPrecondition) as raised:
            form_teams(seed, codes, inspectors, team_size, AS_OF, SE)
        assert raised.value.reason == "CONFLICTS_LEAVE_TOO_FEW"
        assert raised.value.metadata["objects"] == ",".join(short)
        return
    teams = form_teams(seed, codes, inspectors, team_size, AS_OF, SE)
    assert len(teams) == len(codes)
    for code, team in zip(codes, teams, strict=True):
        badges = [m.badge_number for m in team]
        assert len(badges) == team_size
        assert len(set(badges)) == team_size
        assert all(code not in conflicts[b] for b in badges)
        assert sum(m.leader for m in team) == 1
        assert team[0].leader
    assert teams == form_teams(seed, codes, list(reversed(inspectors)), team_size, AS_OF, SE)


@given(st.integers(1, 40), st.integers(2, 4), st.integers(0, 10), st.binary(min_size=32, max_size=32))
def test_without_conflicts_loads_differ_by_at_most_one(
    n_objects: int, team_size: int, extra: int, seed: bytes
) -> None:
    pool = _pool(team_size + extra)
    teams = form_teams(seed, _codes(n_objects), pool, team_size, AS_OF, SE)
    loads = Counter({i.badge_number: 0 for i in pool})
    loads.update(m.badge_number for team in teams for m in team)
    assert max(loads.values()) - min(loads.values()) <= 1


def test_deterministic_and_seed_dependent() -> None:
    codes, pool = _codes(20), _pool(8)
    first = form_teams(SEED, codes, pool, 2, AS_OF, SE)
    assert first == form_teams(SEED, codes, pool, 2, AS_OF, SE)
    other = form_teams(hashlib.sha256(b"other").digest(), codes, pool, 2, AS_OF, SE)
    assert first != other


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))
def test_different_seeds_rarely_give_the_same_teams(a: bytes, b: bytes) -> None:
    if a != b:
        codes, pool = _codes(10), _pool(8)
        # 10 teams drawn from 8 inspectors: a collision has probability far below 1e-9
        assert form_teams(a, codes, pool, 2, AS_OF, SE) != form_teams(b, codes, pool, 2, AS_OF, SE)
