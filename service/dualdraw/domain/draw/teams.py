"""Inspector teams (Art. 10): every drawn object gets ``team_size`` (≥ 2) qualified inspectors at random.

Avoidance is absolute: an inspector never inspects an object they declared a conflict with. Workload is
spread evenly: each object takes the inspectors with the lowest ``(load, team key)``, where the team key is a
fresh SHA-256 per load tier, so within a tier the order is random and differs from tier to tier. When the
constraints cannot be met the draw fails with the reason; nothing is relaxed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dualdraw.domain.draw.algorithm import set_digest
from dualdraw.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument
from dualdraw.domain.model import Inspector, TeamMember

MIN_TEAM_SIZE = 2


@dataclass(frozen=True)
class InspectorPool:
    """The candidates who may be drawn for ``speciality`` on ``as_of`` (by badge), and who was left out."""

    speciality: str
    as_of: dt.date
    qualified: tuple[Inspector, ...]
    left_out: tuple[tuple[str, str], ...]
    """``(badge_number, reason)`` for each candidate not in the pool."""

    @property
    def badges(self) -> tuple[str, ...]:
        return tuple(i.badge_number for i in self.qualified)

    @property
    def digest(self) -> str:
        return inspector_pool_digest(self.badges)


def inspector_pool(candidates: Iterable[Inspector], speciality: str, as_of: dt.date) -> InspectorPool:
    """Filters ``candidates`` to those available and holding ``speciality`` with a certificate valid on
    ``as_of``. Raises ``ValueError`` on duplicate badge numbers."""
    seen: set[str] = set()
    qualified: list[Inspector] = []
    left_out: list[tuple[str, str]] = []
    for inspector in sorted(candidates, key=lambda i: i.badge_number):
        if inspector.badge_number in seen:
            raise ValueError(f"duplicate inspector badge number {inspector.badge_number!r}")
        seen.add(inspector.badge_number)
        held = [s for s in inspector.specialities if s.code == speciality]
        if not inspector.available:
            left_out.append((inspector.badge_number, "unavailable"))
        elif not held:
            left_out.append((inspector.badge_number, f"no {speciality!r} qualification"))
        elif not inspector.qualified_for(speciality, as_of):
            expired = max(s.certificate_expires_on for s in held if s.certificate_expires_on is not None)
            reason = f"{speciality!r} certificate expired on {expired.isoformat()}"
            left_out.append((inspector.badge_number, reason))
        else:
            qualified.append(inspector)
    return InspectorPool(speciality, as_of, tuple(qualified), tuple(left_out))


def inspector_pool_digest(badges: Iterable[str]) -> str:
    """Hex SHA-256 identifying the inspector pool: ``set_digest`` of the badge numbers."""
    return set_digest(badges)


def conflict_digest(pool: Iterable[Inspector], eligible_codes: Iterable[str]) -> str:
    """Hex SHA-256 freezing the declared conflicts that can matter to a draw: ``set_digest`` of the keys
    ``badge_number ‖ 0x09 ‖ credit_code`` for each inspector in ``pool`` and each conflict with an eligible
    object. Record it in the manifest so that conflicts cannot be edited after the seed is known.

    Raises ``ValueError`` when a badge number contains a tab.
    """
    eligible = set(eligible_codes)
    keys: list[str] = []
    for inspector in pool:
        if "\t" in inspector.badge_number:
            raise ValueError(f"badge number contains a tab: {inspector.badge_number!r}")
        keys.extend(f"{inspector.badge_number}\t{code}" for code in inspector.conflicts if code in eligible)
    return set_digest(keys)


def team_key(seed: bytes, load: int, badge_number: str) -> bytes:
    """SHA-256(seed ‖ ``b"team"`` ‖ 0x00 ‖ load in ASCII decimal ‖ 0x00 ‖ badge UTF-8): an inspector's random
    rank within load tier ``load``; compared as bytes (= as a big-endian integer)."""
    if len(seed) != 32:
        raise ValueError(f"seed must be 32 bytes, got {len(seed)}")
    if load < 0:
        raise ValueError(f"load must not be negative, got {load}")
    data = seed + b"team\x00" + str(load).encode("ascii") + b"\x00" + badge_number.encode("utf-8")
    return hashlib.sha256(data).digest()


def form_teams(
    seed: bytes,
    selected_codes_in_order: Sequence[str],
    pool: Iterable[Inspector],
    team_size: int,
    as_of: dt.date,
    speciality: str,
) -> list[tuple[TeamMember, ...]]:
    """One team per selected object, in the given order; the first member of each team is its leader.

    ``pool`` are the candidates (e.g. the task department's inspectors); only those ``inspector_pool`` keeps
    are drawn. For each object in turn, the ``team_size`` non-conflicted inspectors with the lowest
    ``(load, team_key(seed, load, badge), badge)`` are taken and their loads raised by one.

    Raises ``InvalidArgument`` (``task.team_size``) when ``team_size`` < 2; ``FailedPrecondition`` with
    reason ``TOO_FEW_INSPECTORS`` when fewer than ``team_size`` inspectors qualify, or
    ``CONFLICTS_LEAVE_TOO_FEW`` when declared conflicts leave too few for some objects (all such objects are
    named); ``ValueError`` on duplicate credit codes or badge numbers.
    """
    if team_size < MIN_TEAM_SIZE:
        raise InvalidArgument(
            [
                FieldViolation(
                    "task.team_size",
                    f"must be at least {MIN_TEAM_SIZE} (Art. 10), got {team_size}",
                    reason="TEAM_SIZE_OUT_OF_RANGE",
                )
            ]
        )
    codes = list(selected_codes_in_order)
    if len(set(codes)) != len(codes):
        raise ValueError("duplicate credit codes among the selected objects")
    qualified = inspector_pool(pool, speciality, as_of)
    if not codes:
        return []
    _check_feasible(codes, qualified, team_size)

    # A heap of (load, team_key(seed, load, badge), badge) over the pool: popping in order and setting aside
    # the conflicted gives exactly the team_size smallest non-conflicted keys, in O(team_size · log n).
    conflicts = {i.badge_number: i.conflicts for i in qualified.qualified}
    heap = [(0, team_key(seed, 0, badge), badge) for badge in conflicts]
    heapq.heapify(heap)
    teams: list[tuple[TeamMember, ...]] = []
    for code in codes:
        picked: list[tuple[int, bytes, str]] = []
        set_aside: list[tuple[int, bytes, str]] = []
        while len(picked) < team_size:
            entry = heapq.heappop(heap)  # never empty: _check_feasible counted the candidates
            (set_aside if code in conflicts[entry[2]] else picked).append(entry)
        for entry in set_aside:
            heapq.heappush(heap, entry)
        for load, _, badge in picked:
            heapq.heappush(heap, (load + 1, team_key(seed, load + 1, badge), badge))
        teams.append(tuple(TeamMember(badge, leader=n == 0) for n, (_, _, badge) in enumerate(picked)))
    return teams


def _check_feasible(codes: Sequence[str], pool: InspectorPool, team_size: int) -> None:
    qualified = len(pool.qualified)
    metadata = {
        "speciality": pool.speciality,
        "as_of": pool.as_of.isoformat(),
        "qualified": str(qualified),
        "needed": str(team_size),
    }
    if qualified < team_size:
        unavailable = sum(1 for _, why in pool.left_out if why == "unavailable")
        raise FailedPrecondition(
            f"teams of {team_size} need at least {team_size} inspectors qualified for {pool.speciality!r} "
            f"on {pool.as_of.isoformat()}, but only {qualified} of {qualified + len(pool.left_out)} "
            f"candidates qualify ({unavailable} unavailable, "
            f"{len(pool.left_out) - unavailable} without a valid certificate)",
            reason="TOO_FEW_INSPECTORS",
            metadata=metadata,
        )
    conflicted: Counter[str] = Counter(code for i in pool.qualified for code in i.conflicts)
    short: list[tuple[str, int]] = []
    for code in codes:
        free = qualified - conflicted[code]
        if free < team_size:
            short.append((code, free))
    if short:
        listed = ", ".join(f"{code} ({free} left)" for code, free in short)
        raise FailedPrecondition(
            f"declared conflicts of interest leave fewer than {team_size} of the {qualified} inspectors "
            f"qualified for {pool.speciality!r} for {len(short)} object(s): {listed}",
            reason="CONFLICTS_LEAVE_TOO_FEW",
            metadata=metadata | {"objects": ",".join(code for code, _ in short)},
        )
