"""Qualified teams (``dualdraw-draw/3``, DRAW-ALGORITHM.md §14.7) formed by walking load rankings.

Each department keeps, per line, a ``LoadRanking`` of the inspectors holding the line and one of the others;
an object's team is taken by walking them as far as the team needs and skipping whom the object bars,
instead of hashing and sorting the whole department for every object. Same teams as the plain reading of
§14.7 (tests/unit/test_team_ranking_reference.py); ``qualified_teams.qualified_teams_for_plan`` uses it and
falls back to the full walk to name a shortage.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from typing import Generic, Protocol, TypeVar

from dualdraw.domain.draw.load_ranking import LoadRanking
from dualdraw.domain.draw.policy_teams import (
    PlannedObject,
    department_seed,
    policy_team_key,
    policy_team_keys,
)


class Member(Protocol):
    """A pool member as the walk reads it (``qualified_teams.QualifiedPoolMember``)."""

    @property
    def badge_number(self) -> str: ...

    @property
    def office(self) -> str: ...

    @property
    def conflicts(self) -> frozenset[str]: ...

    @property
    def recent(self) -> frozenset[str]: ...

    def qualified(self, line: str, as_of: str) -> bool: ...


class Rules(Protocol):
    """The team rules as the walk reads them (``qualified_teams.QualifiedTeamRules``)."""

    @property
    def team_size(self) -> int: ...

    @property
    def speciality(self) -> str: ...

    @property
    def cooperating_lines(self) -> Mapping[str, str]: ...

    @property
    def unqualified_assistant(self) -> bool: ...

    @property
    def cross_office(self) -> bool: ...

    @property
    def workload_cap(self) -> int: ...

    @property
    def cooperating_team_size(self) -> int: ...


M = TypeVar("M", bound=Member)


class Rankings(Generic[M]):
    """Per department and line: a ``LoadRanking`` of the department's inspectors holding the line on the
    draw date and one of the others, made when first needed (at the loads so far); every ranking holding a
    member follows its load. Walking the holders alone keeps a team from passing over the same unqualified
    inspectors (who stay at low loads) for every object."""

    def __init__(
        self,
        seed: bytes,
        by_dept: Mapping[str, Sequence[M]],
        as_of: str,
        load: Mapping[str, int],
    ) -> None:
        self._seed = seed
        self._by_dept = by_dept
        self._as_of = as_of
        self._load = load
        self._parts: dict[tuple[str, str], tuple[LoadRanking[M], LoadRanking[M]]] = {}
        self._of: dict[str, list[LoadRanking[M]]] = {}

    def get(self, dept: str, line: str) -> tuple[LoadRanking[M], LoadRanking[M]]:
        """(holders of ``line``, the others) of ``dept``."""
        found = self._parts.get((dept, line))
        if found is None:
            d_seed = department_seed(self._seed, dept)
            key, keys = partial(policy_team_key, d_seed), partial(policy_team_keys, d_seed)
            members = self._by_dept.get(dept, ())
            held = [m for m in members if m.qualified(line, self._as_of)]
            others = [m for m in members if not m.qualified(line, self._as_of)]
            found = (LoadRanking(held, key, self._load, keys), LoadRanking(others, key, self._load, keys))
            for ranking, part in zip(found, (held, others), strict=True):
                for m in part:
                    self._of.setdefault(m.badge_number, []).append(ranking)
            self._parts[dept, line] = found
        return found

    def add_load(self, badge: str) -> None:
        for ranking in self._of.get(badge, ()):
            ranking.add_load(badge)


def _free(ranked: Iterator[M], obj: PlannedObject, rules: Rules) -> Iterator[M]:
    """``free(d)`` in ranked order from a ranking (workload cap already applied)."""
    code = obj.credit_code
    office = obj.office if rules.cross_office else ""
    for m in ranked:
        if (m.conflicts and code in m.conflicts) or (m.recent and code in m.recent):
            continue
        if office and m.office == office:
            continue
        yield m


def ranked_team(obj: PlannedObject, rankings: Rankings[M], rules: Rules) -> list[M] | None:
    """``obj``'s team by §14.7, walking the rankings only as far as the team needs; ``None`` when some part
    cannot be filled (the caller then names the shortage with ``_form_team``).

    The home part is the leader (the first free holder of the item's line), then the next free holders in
    order; where the item allows an assistant, the first free inspector not holding it joins at its place
    in the order if that comes before the team is full — what the walk of §14.7 over ``free(h)`` takes."""
    cap = rules.workload_cap
    held, others = rankings.get(obj.department_id, rules.speciality)
    walk = _free(held.ranked(cap), obj, rules)
    leader = next(walk, None)
    if leader is None:
        return None
    team = [leader]
    assistant = next(_free(others.ranked(cap), obj, rules), None) if rules.unqualified_assistant else None
    place = others.rank(assistant.badge_number) if assistant is not None else None
    m = next(walk, None)
    while len(team) < rules.team_size and (m is not None or assistant is not None):
        if assistant is not None and (m is None or (place is not None and place < held.rank(m.badge_number))):
            team.append(assistant)
            assistant = None
        elif m is not None:
            team.append(m)
            m = next(walk, None)
    if len(team) < rules.team_size:
        return None
    if not rules.cooperating_lines:
        return team
    on_team = {m.badge_number for m in team}
    for dept in sorted(rules.cooperating_lines, key=lambda d: d.encode("utf-8")):
        wanted = len(team) + rules.cooperating_team_size
        for m in _free(rankings.get(dept, rules.cooperating_lines[dept])[0].ranked(cap), obj, rules):
            if len(team) >= wanted:
                break
            if m.badge_number not in on_team:
                team.append(m)
                on_team.add(m.badge_number)
        if len(team) < wanted:
            return None
    return team
