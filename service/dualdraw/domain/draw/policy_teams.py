"""Team formation ``dualdraw-draw/2`` (task policies, Art. 7, 10, 15; docs/DRAW-ALGORITHM.md §14).

Each selected object is handed to its supervising department (the task's department, or in a central draw
the object's registering branch), whose inspectors form the team; in a joint draw every cooperating
department adds its own members, drawn from its own sub-seed. Per team: the leader is the first member and
holds the item's speciality with a certificate valid on the draw date; nobody is on a team for an object they
declared a conflict with, inspected in its last K inspections, or (cross-office mode) that belongs to their
own office; nobody exceeds the workload cap. Infeasible is an answer: every object that cannot be staffed is
named with the number of inspectors missing, and nothing is relaxed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from dualdraw.domain import sha256_batch
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.draw.object_plan import ObjectPlan
from dualdraw.domain.draw.selection import Selected
from dualdraw.domain.draw.teams import MIN_TEAM_SIZE
from dualdraw.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument
from dualdraw.domain.model import TeamMember

DEPT_SEED_TAG = b"dualdraw/dept/v2"


@dataclass(frozen=True)
class PoolMember:
    """An available inspector as frozen in a ``dualdraw-draw/2`` draw (one pool line)."""

    badge_number: str
    department_id: str
    office: str = ""
    qualified: bool = False
    """Holds the item's speciality with a certificate valid on the draw date."""
    conflicts: frozenset[str] = field(default_factory=frozenset)
    """Declared conflicts with eligible objects."""
    recent: frozenset[str] = frozenset()
    """Eligible objects on whose last K inspections the inspector served."""

    def line(self) -> str:
        return canonical_json(
            {
                "badge_number": self.badge_number,
                "conflicts": sorted(self.conflicts),
                "department_id": self.department_id,
                "office": self.office,
                "qualified": self.qualified,
                "recent": sorted(self.recent),
            }
        ).decode("utf-8")

    @staticmethod
    def from_line(line: str) -> PoolMember:
        e = json.loads(line)
        return PoolMember(
            e["badge_number"],
            e["department_id"],
            e["office"],
            bool(e["qualified"]),
            frozenset(e["conflicts"]),
            frozenset(e["recent"]),
        )


class PlannedObject(NamedTuple):
    """A selected object: its code, the department it is handed to and its office. A named tuple: the
    staffing check at commit makes one per eligible object (a million in a provincial draw)."""

    credit_code: str
    department_id: str
    office: str = ""


@dataclass(frozen=True)
class TeamRules:
    team_size: int
    cross_office: bool = False
    workload_cap: int = 0
    cooperating_department_ids: tuple[str, ...] = ()
    cooperating_team_size: int = 1
    speciality: str = ""


@dataclass(frozen=True)
class Shortage:
    credit_code: str
    department_id: str
    missing: int
    constraint: str
    detail: str


def _dominant(barred: dict[str, int]) -> str:
    return max(barred, key=lambda k: barred[k])


def _barred_text(barred: dict[str, int]) -> str:
    return ", ".join(f"{n} {k}" for k, n in barred.items() if n)


def department_seed(seed: bytes, department_id: str) -> bytes:
    """A department's sub-seed: SHA-256(``b"dualdraw/dept/v2"`` ‖ 0x00 ‖ seed ‖ UTF-8 department id)."""
    if len(seed) != 32:
        raise ValueError(f"seed must be 32 bytes, got {len(seed)}")
    return hashlib.sha256(DEPT_SEED_TAG + b"\x00" + seed + department_id.encode("utf-8")).digest()


def policy_team_key(dept_seed: bytes, load: int, badge_number: str) -> bytes:
    data = dept_seed + b"team\x00" + str(load).encode("ascii") + b"\x00" + badge_number.encode("utf-8")
    return hashlib.sha256(data).digest()


def policy_team_keys(dept_seed: bytes, load: int, badge_numbers: Sequence[str]) -> list[bytes]:
    """``policy_team_key(dept_seed, load, b)`` for each of ``badge_numbers``, in order: hashed in one C
    call (``sha256_batch``) when every badge is ASCII, else one by one."""
    if not "".join(badge_numbers).isascii():
        return [policy_team_key(dept_seed, load, b) for b in badge_numbers]
    prefix = dept_seed + b"team\x00" + str(load).encode("ascii") + b"\x00"
    packed = sha256_batch.prefixed_digests(prefix, badge_numbers)
    return [packed[at : at + 32] for at in range(0, len(packed), 32)]


def teams_for_plan(
    seed: bytes, objects: Sequence[PlannedObject], pool: Iterable[PoolMember], rules: TeamRules
) -> list[tuple[TeamMember, ...]]:
    """One team per object, in order (see the module docstring and §14 of the algorithm document).

    Raises ``InvalidArgument`` (``task.team_size``) below 2; ``FailedPrecondition`` (``TOO_FEW_INSPECTORS``
    when a department has fewer inspectors than a team needs from it at all, else
    ``CONSTRAINTS_LEAVE_TOO_FEW``) naming every object that cannot be staffed, the constraint and the
    number of inspectors missing (metadata ``missing_inspectors``).
    """
    if rules.team_size < MIN_TEAM_SIZE:
        raise InvalidArgument(
            [
                FieldViolation(
                    "task.team_size",
                    f"must be at least {MIN_TEAM_SIZE} (Art. 10), got {rules.team_size}",
                    reason="TEAM_SIZE_OUT_OF_RANGE",
                )
            ]
        )
    members = sorted(pool, key=lambda m: m.badge_number)
    if len({m.badge_number for m in members}) != len(members):
        raise ValueError("duplicate badge numbers in the pool")
    codes = [o.credit_code for o in objects]
    if len(set(codes)) != len(codes):
        raise ValueError("duplicate credit codes among the selected objects")
    by_dept: dict[str, list[PoolMember]] = {}
    for m in members:
        by_dept.setdefault(m.department_id, []).append(m)
    dept_seeds: dict[str, bytes] = {}
    load = {m.badge_number: 0 for m in members}
    cooperating = sorted(rules.cooperating_department_ids, key=lambda d: d.encode("utf-8"))
    shortages: list[Shortage] = []
    teams: list[tuple[TeamMember, ...]] = []

    def ranked(dept: str, obj: PlannedObject) -> tuple[list[PoolMember], dict[str, int]]:
        d_seed = dept_seeds.setdefault(dept, department_seed(seed, dept))
        free: list[PoolMember] = []
        barred = {"declared conflict": 0, "same office": 0, "recent inspection": 0, "workload cap": 0}
        for m in by_dept.get(dept, ()):
            if obj.credit_code in m.conflicts:
                barred["declared conflict"] += 1
            elif obj.credit_code in m.recent:
                barred["recent inspection"] += 1
            elif rules.cross_office and obj.office and m.office == obj.office:
                barred["same office"] += 1
            elif rules.workload_cap and load[m.badge_number] >= rules.workload_cap:
                barred["workload cap"] += 1
            else:
                free.append(m)
        free.sort(
            key=lambda m: (
                load[m.badge_number],
                policy_team_key(d_seed, load[m.badge_number], m.badge_number),
                m.badge_number,
            )
        )
        return free, barred

    def short(
        obj: PlannedObject, dept: str, needed: int, got: int, barred: dict[str, int], what: str
    ) -> None:
        total = len(by_dept.get(dept, ()))
        why = ", ".join(f"{n} {k}" for k, n in barred.items() if n)
        constraint = (
            "too few inspectors"
            if total < needed
            else (_dominant(barred) if any(barred.values()) else "speciality")
        )
        shortages.append(
            Shortage(
                obj.credit_code,
                dept,
                needed - got,
                constraint,
                f"{obj.credit_code}: department {dept} needs {needed - got} more {what} "
                f"({total} available in the department{'; barred: ' + why if why else ''})",
            )
        )

    for obj in objects:
        free, barred = ranked(obj.department_id, obj)
        leader = next((m for m in free if m.qualified), None)
        team: list[PoolMember] = []
        if leader is None:
            unqualified = sum(1 for m in by_dept.get(obj.department_id, ()) if not m.qualified)
            total = len(by_dept.get(obj.department_id, ()))
            shortages.append(
                Shortage(
                    obj.credit_code,
                    obj.department_id,
                    1,
                    "speciality" if unqualified == total or not any(barred.values()) else _dominant(barred),
                    f"{obj.credit_code}: department {obj.department_id} needs 1 more inspector qualified for "
                    f"{rules.speciality!r} with a valid certificate ({total} available, {unqualified} not "
                    f"qualified; others barred: {_barred_text(barred) or 'none'})",
                )
            )
        else:
            team.append(leader)
        rest = [m for m in free if m is not leader][
            : rules.team_size - len(team) - (1 if leader is None else 0)
        ]
        team.extend(rest)
        home_needed = rules.team_size - (1 if leader is None else 0)
        if len(team) < home_needed:
            short(obj, obj.department_id, home_needed, len(team), barred, "inspector(s)")
        for dept in cooperating:
            free_c, barred_c = ranked(dept, obj)
            picked = free_c[: rules.cooperating_team_size]
            if len(picked) < rules.cooperating_team_size:
                short(
                    obj, dept, rules.cooperating_team_size, len(picked), barred_c, "cooperating inspector(s)"
                )
            team.extend(picked)
        for m in team:
            load[m.badge_number] += 1
        teams.append(
            tuple(
                TeamMember(m.badge_number, leader=n == 0 and leader is not None) for n, m in enumerate(team)
            )
        )
    if shortages:
        missing = sum(s.missing for s in shortages)
        reason = (
            "TOO_FEW_INSPECTORS"
            if all(s.constraint == "too few inspectors" for s in shortages)
            else "CONSTRAINTS_LEAVE_TOO_FEW"
        )
        listed = "; ".join(s.detail for s in shortages[:20])
        more = f"; and {len(shortages) - 20} more" if len(shortages) > 20 else ""
        raise FailedPrecondition(
            f"teams cannot be formed for {len({s.credit_code for s in shortages})} object(s), "
            f"{missing} inspector(s) missing: {listed}{more}",
            reason=reason,
            metadata={
                "missing_inspectors": str(missing),
                "objects": ",".join(sorted({s.credit_code for s in shortages})),
                "constraints": ",".join(sorted({s.constraint for s in shortages})),
                "departments": ",".join(sorted({s.department_id for s in shortages})),
            },
        )
    return teams


# --- recomputation from a manifest --------------------------------------------------------------------------


def team_rules(manifest: dict[str, Any]) -> TeamRules:
    policy = manifest["task"]["policy"]
    return TeamRules(
        team_size=manifest["task"]["team_size"],
        cross_office=bool(policy["cross_office"]),
        workload_cap=int(policy["workload_cap"]),
        cooperating_department_ids=tuple(policy["cooperating_department_ids"]),
        cooperating_team_size=int(policy["cooperating_team_size"]),
        speciality=manifest["task"]["required_speciality"],
    )


def form_policy_teams(
    seed: bytes,
    selected: Sequence[Selected],
    pool_lines: Sequence[str],
    manifest: dict[str, Any],
    plan: ObjectPlan | None = None,
) -> list[tuple[TeamMember, ...]]:
    """The teams of the ``selected`` objects from the frozen pool lines, the plan (by default the
    manifest's) and the manifest's policy."""
    rows = (plan or ObjectPlan.from_manifest(manifest)).rows
    objects = [
        PlannedObject(s.credit_code, rows[s.credit_code].department_id, rows[s.credit_code].office)
        for s in selected
    ]
    pool = [PoolMember.from_line(line) for line in pool_lines]
    return teams_for_plan(seed, objects, pool, team_rules(manifest))


def policy_substitution_pool(
    pool_lines: Sequence[str],
    manifest: dict[str, Any],
    credit_code: str,
    removed_badge: str,
    leader: bool,
    plan: ObjectPlan | None = None,
) -> dict[str, frozenset[str]]:
    """The candidates of a substitution (§8.1) in a ``dualdraw-draw/2`` draw, as ``badge → barred codes``:
    inspectors of the removed member's department, with the object barred for those who declared a conflict,
    inspected it recently or (cross-office) share its office; a removed leader is replaced by a qualified
    inspector only. The workload cap is not applied to a substitution."""
    pool = [PoolMember.from_line(line) for line in pool_lines]
    department = next(m.department_id for m in pool if m.badge_number == removed_badge)
    row = (plan or ObjectPlan.from_manifest(manifest)).rows.get(credit_code)
    office = row.office if row is not None else ""
    cross_office = bool(manifest["task"]["policy"]["cross_office"])
    out: dict[str, frozenset[str]] = {}
    for m in pool:
        if m.department_id != department or (leader and not m.qualified):
            continue
        barred = set(m.conflicts | m.recent)
        if cross_office and office and m.office == office:
            barred.add(credit_code)
        out[m.badge_number] = frozenset(barred)
    return out
