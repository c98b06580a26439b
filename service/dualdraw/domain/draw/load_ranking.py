"""A department's inspectors in the order §14.3 ranks them, kept as their loads grow.

The ranking of ``free(d)`` is by ``(load[b], key(d, load[b], b), b)``: the key of a member depends only on
the department's sub-seed, the member's load and badge. So the members at one load level keep one order for
the whole draw, and a member changes level only when it joins a team. ``LoadRanking`` keeps one sorted list
per load level and moves a member one level up when its load grows (one new key), so team formation walks
the department in ranked order and skips the members an object bars instead of hashing and sorting the
whole department for every selected object. It gives exactly the order of sorting the whole department by
that key (property-tested against a plain sort in tests/unit/test_team_ranking_reference.py).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Generic, Protocol, TypeVar


class _Badged(Protocol):
    @property
    def badge_number(self) -> str: ...


M = TypeVar("M", bound=_Badged)
KeyFunction = Callable[[int, str], bytes]
"""``(load, badge) → key``: the §14.3 key with a department's sub-seed bound."""


class LoadRanking(Generic[M]):
    """Members of one department ranked by ``(load, key(load, badge), badge)``.

    ``key`` is the §14.3 key with the department's sub-seed bound (``policy_team_key(dept_seed, ...)``);
    ``loads`` the members' loads so far (absent: 0). Badges must be distinct. Rankings of parts of one
    department (say, those holding a line and the others) use the same ``key``, so ``rank`` compares
    members across them.
    """

    def __init__(
        self, members: Iterable[M], key: KeyFunction, loads: Mapping[str, int] | None = None
    ) -> None:
        self._key = key
        self._entry: dict[str, tuple[bytes, str, int]] = {}
        self._member: dict[str, M] = {}
        self._levels: list[list[tuple[bytes, str, int]]] = [[]]
        for m in members:
            badge = m.badge_number
            load = loads.get(badge, 0) if loads else 0
            entry = (key(load, badge), badge, load)
            self._entry[badge] = entry
            self._member[badge] = m
            while len(self._levels) <= load:
                self._levels.append([])
            self._levels[load].append(entry)
        for level in self._levels:
            level.sort()

    def ranked(self, below: int = 0) -> Iterator[M]:
        """The members in ranked order; with ``below`` > 0 only those whose load is below it (the workload
        cap). The ranking must not change while the iterator is in use."""
        levels = self._levels if below <= 0 else self._levels[:below]
        member = self._member
        for level in levels:
            for _, badge, _ in level:
                yield member[badge]

    def load(self, badge: str) -> int:
        return self._entry[badge][2]

    def rank(self, badge: str) -> tuple[int, bytes, str]:
        """``(load, key, badge)``: the member's place in §14.3's order."""
        key, _, load = self._entry[badge]
        return load, key, badge

    def __contains__(self, badge: object) -> bool:
        return badge in self._entry

    def add_load(self, badge: str) -> None:
        """One more team for ``badge``: it moves to the next load level, at its key for that level."""
        entry = self._entry[badge]
        load = entry[2]
        level = self._levels[load]
        del level[bisect_left(level, entry)]
        load += 1
        if load == len(self._levels):
            self._levels.append([])
        moved = (self._key(load, badge), badge, load)
        self._entry[badge] = moved
        insort(self._levels[load], moved)
