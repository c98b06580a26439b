"""A department's inspectors in the order §14.3 ranks them, kept as their loads grow.

The ranking of ``free(d)`` is by ``(load[b], key(d, load[b], b), b)``: the key of a member depends only on
the department's sub-seed, the member's load and badge. So the members at one load level keep one order for
the whole draw, and a member changes level only when it joins a team. ``LoadRanking`` keeps one sorted list
per load level and moves a member one level up when its load grows, so team formation walks the department
in ranked order and skips the members an object bars instead of hashing and sorting the whole department
for every selected object. A member's key at a level is computed only when a walk reaches that level (most
members of a draw's departments pass through levels no walk reaches before they empty), for all the
members waiting there at once. It gives exactly the order of sorting the whole department by that key
(property-tested against a plain sort in tests/unit/test_team_ranking_reference.py).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Generic, Protocol, TypeVar


class _Badged(Protocol):
    @property
    def badge_number(self) -> str: ...


M = TypeVar("M", bound=_Badged)
KeyFunction = Callable[[int, str], bytes]
"""``(load, badge) → key``: the §14.3 key with a department's sub-seed bound."""
KeysFunction = Callable[[int, Sequence[str]], Sequence[bytes]]
"""``(load, badges) → their keys``, in order: ``KeyFunction`` for many badges at once."""
_BADGE = itemgetter(1)


class LoadRanking(Generic[M]):
    """Members of one department ranked by ``(load, key(load, badge), badge)``.

    ``key`` is the §14.3 key with the department's sub-seed bound (``policy_team_key(dept_seed, ...)``);
    ``keys``, if given, the same for many badges at a call (``policy_team_keys``). ``loads`` the members'
    loads so far (absent: 0). Badges must be distinct. Rankings of parts of one department (say, those
    holding a line and the others) use the same ``key``, so ``rank`` compares members across them.

    Each level holds its keyed members sorted, and the members that moved up to it since a walk last
    reached it, not keyed yet: a move is a removal and an append, and the keys are computed when needed.
    """

    def __init__(
        self,
        members: Iterable[M],
        key: KeyFunction,
        loads: Mapping[str, int] | None = None,
        keys: KeysFunction | None = None,
    ) -> None:
        self._keys: KeysFunction = keys or (lambda load, badges: [key(load, b) for b in badges])
        self._load: dict[str, int] = {}
        self._member: dict[str, M] = {}
        self._keyed: dict[str, tuple[bytes, str]] = {}
        """badge → its ``(key, badge)`` in its level's sorted list (absent while waiting to be keyed)"""
        self._sorted: list[list[tuple[bytes, str]]] = []
        self._waiting: list[dict[str, None]] = []
        self._floor = 0
        """No member's load is below it."""
        for m in members:
            badge = m.badge_number
            load = loads.get(badge, 0) if loads else 0
            self._member[badge] = m
            self._load[badge] = load
            self._wait(load, badge)

    def _wait(self, load: int, badge: str) -> None:
        while len(self._sorted) <= load:
            self._sorted.append([])
            self._waiting.append({})
        self._waiting[load][badge] = None

    def _level(self, load: int) -> list[tuple[bytes, str]]:
        """Level ``load`` sorted, its waiting members keyed and sorted in."""
        waiting = self._waiting[load]
        level = self._sorted[load]
        if waiting:
            badges = list(waiting)
            entries = list(zip(self._keys(load, badges), badges, strict=True))
            self._keyed.update(zip(badges, entries, strict=True))
            level += entries
            level.sort()
            waiting.clear()
        return level

    def ranked(self, below: int = 0) -> Iterator[M]:
        """The members in ranked order; with ``below`` > 0 only those whose load is below it (the workload
        cap). The ranking must not change while the iterator is in use."""
        top = len(self._sorted) if below <= 0 else min(below, len(self._sorted))
        while self._floor < top and not (self._sorted[self._floor] or self._waiting[self._floor]):
            self._floor += 1  # loads only grow: a level left empty stays empty
        member = self._member.__getitem__
        for load in range(self._floor, top):
            yield from map(member, map(_BADGE, self._level(load)))

    def load(self, badge: str) -> int:
        return self._load[badge]

    def rank(self, badge: str) -> tuple[int, bytes, str]:
        """``(load, key, badge)``: the member's place in §14.3's order."""
        load = self._load[badge]
        if badge not in self._keyed:
            self._level(load)
        key, _ = self._keyed[badge]
        return load, key, badge

    def __contains__(self, badge: object) -> bool:
        return badge in self._member

    def add_load(self, badge: str) -> None:
        """One more team for ``badge``: it moves to the next load level, to be keyed there when needed."""
        load = self._load[badge]
        entry = self._keyed.pop(badge, None)
        if entry is None:
            del self._waiting[load][badge]
        else:
            level = self._sorted[load]
            del level[bisect_left(level, entry)]
        self._load[badge] = load + 1
        self._wait(load + 1, badge)
