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
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, Protocol, TypeVar


class _Badged(Protocol):
    @property
    def badge_number(self) -> str: ...


M = TypeVar("M", bound=_Badged)
KeyFunction = Callable[[int, str], bytes]
"""``(load, badge) → key``: the §14.3 key with a department's sub-seed bound."""


class LoadRanking(Generic[M]):
    """One department's members ranked by ``(load, key(load, badge), badge)``, every load starting at 0.

    ``key`` is the §14.3 key with the department's sub-seed bound (``policy_team_key(dept_seed, ...)``).
    Badges must be distinct.
    """

    def __init__(self, members: Iterable[M], key: KeyFunction) -> None:
        self._key = key
        self._entry: dict[str, tuple[bytes, str, int]] = {}
        self._member: dict[str, M] = {}
        level: list[tuple[bytes, str, int]] = []
        for m in members:
            badge = m.badge_number
            entry = (key(0, badge), badge, 0)
            self._entry[badge] = entry
            self._member[badge] = m
            level.append(entry)
        level.sort()
        self._levels: list[list[tuple[bytes, str, int]]] = [level]

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
