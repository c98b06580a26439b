"""Team formation ``dualdraw-draw/3``: every member qualified (Art. 7, 10, 15; docs/DRAW-ALGORITHM.md §14.6).

As ``dualdraw-draw/2`` (per-department sub-seeds, the same ranking, conflicts, recent inspections,
cross-office, workload cap, loads as before the object), except that every member must hold a certificate
valid on the draw date for the line required of their part of the team: the item's speciality for the
home department's members, the line the task declared for a cooperating department for its members. An item
may allow one unqualified assistant per team (never the leader, only in the home part). Cooperating picks
skip inspectors already on the team. Each pool line carries the certificate the algorithm used (speciality
and expiry date), so anyone can recompute who was qualified on ``as_of``.

Whether every eligible object could be staffed at all (as if it were drawn first) is knowable before the
entropy exists: ``staffing_shortages`` answers it at commit, so a draw never succeeds or fails by its
entropy for want of qualified inspectors in a department.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from dualdraw.domain.canonical_json import canonical_json, json_string
from dualdraw.domain.draw.object_plan import ObjectPlan, PlanRow, PlanRows, plan_places
from dualdraw.domain.draw.policy_teams import PlannedObject, Shortage, department_seed, policy_team_key
from dualdraw.domain.draw.ranked_teams import Rankings, ranked_team
from dualdraw.domain.draw.selection import Selected
from dualdraw.domain.draw.teams import MIN_TEAM_SIZE
from dualdraw.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument
from dualdraw.domain.model import Inspector, TeamMember

Team = tuple[TeamMember, ...]
MAX_LISTED = 20
RankKey = tuple[int, bytes, str]
Ranking = Callable[[str], Callable[["QualifiedPoolMember"], RankKey]]
"""Department id → the sort key of its free inspectors (§14.3's ``(load, key, badge)``)."""


@dataclass(frozen=True)
class Certificate:
    """The certificate an inspector holds for one line: ``expires_on`` as ISO date, ``None``: no expiry."""

    speciality: str
    expires_on: str | None = None

    def valid_for(self, line: str, as_of: str) -> bool:
        """Holds ``line`` on the ISO date ``as_of`` (the expiry day itself still counts)."""
        return self.speciality == line and (self.expires_on is None or self.expires_on >= as_of)


@dataclass(frozen=True)
class QualifiedPoolMember:
    """An available inspector as frozen in a ``dualdraw-draw/3`` draw (one pool line)."""

    badge_number: str
    department_id: str
    office: str = ""
    certificate: Certificate | None = None
    """The inspector's certificate for the line required of their department in this draw, if any held."""
    conflicts: frozenset[str] = field(default_factory=frozenset)
    recent: frozenset[str] = frozenset()

    def line(self) -> str:
        """The ``dualdraw-draw/3`` pool line, with the badges barred from objects (conflicts, recent)."""
        return canonical_json(
            self._fields() | {"conflicts": sorted(self.conflicts), "recent": sorted(self.recent)}
        ).decode("utf-8")

    @staticmethod
    def from_line(line: str) -> QualifiedPoolMember:
        e = json.loads(line)
        return QualifiedPoolMember._of(e, frozenset(e["conflicts"]), frozenset(e["recent"]))

    def bare_line(self) -> str:
        """The ``dualdraw-draw/4`` pool line: without ``conflicts`` and ``recent`` (they are in the plan).
        Written directly, each text quoted as canonical JSON quotes it (offices and departments are
        mostly Chinese): the bytes of ``canonical_json`` of the fields, whose names sort in this order."""
        c = self.certificate
        certificate = (
            "null"
            if c is None
            else '{"expires_on":'
            + ("null" if c.expires_on is None else json_string(c.expires_on))
            + f',"speciality":{json_string(c.speciality)}}}'
        )
        return (
            f'{{"badge_number":{json_string(self.badge_number)},"certificate":{certificate},'
            f'"department_id":{json_string(self.department_id)},"office":{json_string(self.office)}}}'
        )

    @staticmethod
    def from_bare_line(line: str) -> QualifiedPoolMember:
        return QualifiedPoolMember._of(json.loads(line), frozenset(), frozenset())

    def _fields(self) -> dict[str, object]:
        c = self.certificate
        return {
            "badge_number": self.badge_number,
            "certificate": None if c is None else {"expires_on": c.expires_on, "speciality": c.speciality},
            "department_id": self.department_id,
            "office": self.office,
        }

    @staticmethod
    def _of(e: dict[str, Any], conflicts: frozenset[str], recent: frozenset[str]) -> QualifiedPoolMember:
        c = e["certificate"]
        return QualifiedPoolMember(
            e["badge_number"],
            e["department_id"],
            e["office"],
            None if c is None else Certificate(c["speciality"], c["expires_on"]),
            conflicts,
            recent,
        )

    def qualified(self, line: str, as_of: str) -> bool:
        return self.certificate is not None and self.certificate.valid_for(line, as_of)


def certificate_for(inspector: Inspector, line: str) -> Certificate | None:
    """The inspector's certificate for ``line`` with the latest expiry (one without expiry wins), if any."""
    held = [s for s in inspector.specialities if s.code == line]
    if not held:
        return None
    if any(s.certificate_expires_on is None for s in held):
        return Certificate(line, None)
    latest = max(s.certificate_expires_on for s in held if s.certificate_expires_on is not None)
    return Certificate(line, latest.isoformat())


@dataclass(frozen=True)
class QualifiedTeamRules:
    team_size: int
    speciality: str
    """The item's line: what the home department's members hold."""
    as_of: str
    """The draw date (ISO) on which every certificate must be valid."""
    cooperating_lines: Mapping[str, str] = field(default_factory=dict)
    """Cooperating department → the line its members hold (every cooperating department has one)."""
    unqualified_assistant: bool = False
    cross_office: bool = False
    workload_cap: int = 0
    cooperating_team_size: int = 1


def _barred(
    m: QualifiedPoolMember, obj: PlannedObject, rules: QualifiedTeamRules, loads: Mapping[str, int]
) -> str:
    """Why ``m`` may not serve on ``obj``'s team whatever their qualification ("" when free)."""
    if obj.credit_code in m.conflicts:
        return "declared conflict"
    if obj.credit_code in m.recent:
        return "recent inspection"
    if rules.cross_office and obj.office and m.office == obj.office:
        return "same office"
    if rules.workload_cap and loads.get(m.badge_number, 0) >= rules.workload_cap:
        return "workload cap"
    return ""


def _unqualified(m: QualifiedPoolMember, line: str, as_of: str) -> str:
    if m.certificate is None or m.certificate.speciality != line:
        return "not qualified"
    return "" if m.qualified(line, as_of) else "certificate expired"


@dataclass
class _Part:
    """One department's share of one team: whom it needs, whom it got and what barred the others."""

    department_id: str
    line: str
    needed: int
    members: list[QualifiedPoolMember] = field(default_factory=list)
    barred: dict[str, int] = field(default_factory=dict)
    leader_missing: bool = False

    def bar(self, why: str) -> None:
        self.barred[why] = self.barred.get(why, 0) + 1


def _form_team(
    obj: PlannedObject,
    by_dept: Mapping[str, Sequence[QualifiedPoolMember]],
    rules: QualifiedTeamRules,
    loads: Mapping[str, int],
    order: Ranking,
) -> list[_Part]:
    """The parts of ``obj``'s team: home first (leader first), then each cooperating department."""
    home = _Part(obj.department_id, rules.speciality, rules.team_size)
    free: list[QualifiedPoolMember] = []
    for m in by_dept.get(obj.department_id, ()):
        why = _barred(m, obj, rules, loads)
        if why:
            home.bar(why)
        else:
            free.append(m)
    free.sort(key=order(obj.department_id))
    leader = next((m for m in free if m.qualified(rules.speciality, rules.as_of)), None)
    home.leader_missing = leader is None
    if leader is not None:
        home.members.append(leader)
    assistant_place = rules.unqualified_assistant and leader is not None
    for m in free:
        if len(home.members) >= rules.team_size:
            break
        if m is leader:
            continue
        why = _unqualified(m, rules.speciality, rules.as_of)
        if not why:
            home.members.append(m)
        elif assistant_place:
            home.members.append(m)
            assistant_place = False
        else:
            home.bar(why)
    parts = [home]
    on_team = {m.badge_number for m in home.members}
    for dept in sorted(rules.cooperating_lines, key=lambda d: d.encode("utf-8")):
        line = rules.cooperating_lines[dept]
        part = _Part(dept, line, rules.cooperating_team_size)
        ranked: list[QualifiedPoolMember] = []
        for m in by_dept.get(dept, ()):
            why = "already on the team" if m.badge_number in on_team else _barred(m, obj, rules, loads)
            if why:
                part.bar(why)
            else:
                ranked.append(m)
        ranked.sort(key=order(dept))
        for m in ranked:
            if len(part.members) >= part.needed:
                break
            why = _unqualified(m, line, rules.as_of)
            if why:
                part.bar(why)
            else:
                part.members.append(m)
                on_team.add(m.badge_number)
        parts.append(part)
    return parts


def _shortages(obj: PlannedObject, parts: Sequence[_Part], total: Mapping[str, int]) -> list[Shortage]:
    out: list[Shortage] = []
    for part in parts:
        missing = part.needed - len(part.members)
        if missing <= 0:
            continue
        have = total.get(part.department_id, 0)
        barred = {k: n for k, n in part.barred.items() if n}
        if have < part.needed:
            constraint = "too few inspectors"
        elif barred:
            constraint = max(barred, key=lambda k: barred[k])
        else:
            constraint = "not qualified"
        why = ", ".join(f"{n} {k}" for k, n in barred.items())
        leader = " (no qualified leader)" if part.leader_missing else ""
        out.append(
            Shortage(
                obj.credit_code,
                part.department_id,
                missing,
                constraint,
                f"{obj.credit_code}: department {part.department_id} needs {missing} more inspector(s) "
                f"holding {part.line!r} valid on the draw date{leader} ({have} available in the department"
                f"{'; barred: ' + why if why else ''})",
            )
        )
    return out


def _refuse(shortages: Sequence[Shortage], reason: str, before: str) -> FailedPrecondition:
    missing = sum(s.missing for s in shortages)
    listed = "; ".join(s.detail for s in shortages[:MAX_LISTED])
    more = f"; and {len(shortages) - MAX_LISTED} more" if len(shortages) > MAX_LISTED else ""
    return FailedPrecondition(
        f"{before} cannot be formed for {len({s.credit_code for s in shortages})} object(s), "
        f"{missing} qualified inspector(s) missing: {listed}{more}",
        reason=reason,
        metadata={
            "missing_inspectors": str(missing),
            "objects": ",".join(sorted({s.credit_code for s in shortages})),
            "constraints": ",".join(sorted({s.constraint for s in shortages})),
            "departments": ",".join(sorted({s.department_id for s in shortages})),
        },
    )


def _check_rules(rules: QualifiedTeamRules) -> None:
    if rules.team_size < MIN_TEAM_SIZE:
        raise InvalidArgument(
            [
                FieldViolation(
                    "task.team_size",
                    f"must be at least {MIN_TEAM_SIZE} (Art. 10), got {rules.team_size}",
                    "TEAM_SIZE_OUT_OF_RANGE",
                )
            ]
        )


def _by_department(pool: Iterable[QualifiedPoolMember]) -> dict[str, list[QualifiedPoolMember]]:
    members = sorted(pool, key=lambda m: m.badge_number)
    if len({m.badge_number for m in members}) != len(members):
        raise ValueError("duplicate badge numbers in the pool")
    by_dept: dict[str, list[QualifiedPoolMember]] = {}
    for m in members:
        by_dept.setdefault(m.department_id, []).append(m)
    return by_dept


def qualified_teams_for_plan(
    seed: bytes,
    objects: Sequence[PlannedObject],
    pool: Iterable[QualifiedPoolMember],
    rules: QualifiedTeamRules,
) -> list[Team]:
    """One team per object, in order (module docstring; §14.6 of the algorithm document).

    Raises ``InvalidArgument`` (``task.team_size``) below 2; ``FailedPrecondition`` (``TOO_FEW_INSPECTORS``
    when a department has fewer inspectors than its part needs at all, else ``CONSTRAINTS_LEAVE_TOO_FEW``)
    naming every object that cannot be staffed, the constraint and the number of inspectors missing.
    """
    return list(qualified_teams_as_formed(seed, objects, pool, rules))


def qualified_teams_as_formed(
    seed: bytes,
    objects: Sequence[PlannedObject],
    pool: Iterable[QualifiedPoolMember],
    rules: QualifiedTeamRules,
) -> Iterator[Team]:
    """The teams of ``qualified_teams_for_plan``, each as soon as it is formed. Its errors are raised at
    the first team asked for, or (a shortage, which voids every team yielded) after the last."""
    _check_rules(rules)
    codes = [o.credit_code for o in objects]
    if len(set(codes)) != len(codes):
        raise ValueError("duplicate credit codes among the selected objects")
    by_dept = _by_department(pool)
    total = {d: len(ms) for d, ms in by_dept.items()}
    load = {m.badge_number: 0 for ms in by_dept.values() for m in ms}
    dept_seeds: dict[str, bytes] = {}
    rankings = Rankings(seed, by_dept, rules.as_of, load)

    def order(dept: str) -> Callable[[QualifiedPoolMember], RankKey]:
        d_seed = dept_seeds.setdefault(dept, department_seed(seed, dept))
        return lambda m: (
            load[m.badge_number],
            policy_team_key(d_seed, load[m.badge_number], m.badge_number),
            m.badge_number,
        )

    shortages: list[Shortage] = []
    for obj in objects:
        found = ranked_team(obj, rankings, rules)
        if found is None:  # some part is short: the plain walk names what barred whom
            parts = _form_team(obj, by_dept, rules, load, order)
            shortages.extend(_shortages(obj, parts, total))
            members = [m for part in parts for m in part.members]
            leader = not parts[0].leader_missing
        else:
            members, leader = found, True
        for m in members:
            load[m.badge_number] += 1
            rankings.add_load(m.badge_number)
        yield tuple(TeamMember(m.badge_number, leader=n == 0 and leader) for n, m in enumerate(members))
    if shortages:
        reason = (
            "TOO_FEW_INSPECTORS"
            if all(s.constraint == "too few inspectors" for s in shortages)
            else "CONSTRAINTS_LEAVE_TOO_FEW"
        )
        raise _refuse(shortages, reason, "teams")


def staffing_shortages(
    objects: Iterable[Sequence[str]], pool: Iterable[QualifiedPoolMember], rules: QualifiedTeamRules
) -> list[Shortage]:
    """Every eligible object whose team could not be formed even if it were the first one drawn (all loads
    0): too few qualified inspectors free of its conflicts, recent inspections and office. Known before the
    entropy; the order of the ranking does not matter here, only the counts.

    Time linear in objects plus declared conflicts and recent inspections: each part is judged by counting
    the qualified and unqualified inspectors of its department (and office, cross-office) once, less those
    who bar the one object; only an object found short is walked member by member to name the shortage.
    """
    _check_rules(rules)
    by_dept = _by_department(pool)
    return _walk_shortages(objects, by_dept, _StaffingCounts(by_dept, rules), rules)


def plan_staffing_shortages(
    rows: Mapping[str, PlanRow], pool: Iterable[QualifiedPoolMember], rules: QualifiedTeamRules
) -> list[Shortage]:
    """``staffing_shortages`` of the plan rows' objects (code, department, office), in the mapping's order.

    From the columns of ``PlanRows``, each distinct place (department, and office when cross-office) is
    judged once and each object somebody is barred from alone; when all can be staffed the answer is
    ``[]`` without a loop over the rows, else the rows are walked as ``staffing_shortages`` walks them."""
    _check_rules(rules)
    by_dept = _by_department(pool)
    staffed = _StaffingCounts(by_dept, rules)
    if isinstance(rows, PlanRows) and staffed.can_staff_all(rows):
        return []
    return _walk_shortages(plan_places(rows), by_dept, staffed, rules)


def _walk_shortages(
    objects: Iterable[Sequence[str]],
    by_dept: Mapping[str, Sequence[QualifiedPoolMember]],
    staffed: _StaffingCounts,
    rules: QualifiedTeamRules,
) -> list[Shortage]:
    """``staffing_shortages`` of ``objects`` with the pool by department and its counts."""
    total = {d: len(ms) for d, ms in by_dept.items()}
    # Objects of one department and office without conflicts or recent inspections share one answer.
    answers: dict[tuple[str, str], list[Shortage]] = {}
    out: list[Shortage] = []
    barring = staffed.barring
    staffable: dict[tuple[str, str], bool] = {}
    for code, department_id, office in objects:  # planned objects or the manifest's plan rows
        key = (department_id, office if rules.cross_office else "")
        if code not in barring:
            ok = staffable.get(key)
            if ok is None:
                ok = staffable[key] = staffed.can_staff(PlannedObject(code, department_id, office))
            if ok:
                continue
        obj = PlannedObject(code, department_id, office)
        if code in barring and staffed.can_staff(obj):
            continue
        if code not in barring and key in answers:
            out.extend(_retarget(s, obj.credit_code) for s in answers[key])
            continue
        parts = _form_team(obj, by_dept, rules, {}, lambda _dept: lambda m: (0, b"", m.badge_number))
        found = _shortages(obj, parts, total)
        if code not in barring:
            answers[key] = found
        out.extend(found)
    return out


class _StaffingCounts:
    """Whether an object's team can be filled with all loads 0, from counts of free members per part."""

    def __init__(self, by_dept: Mapping[str, Sequence[QualifiedPoolMember]], rules: QualifiedTeamRules):
        self._by_dept = by_dept
        self._rules = rules
        self._counts: dict[tuple[str, str, str], tuple[int, int]] = {}
        self.barring: dict[str, list[QualifiedPoolMember]] = {}
        for ms in by_dept.values():
            for m in ms:
                for code in m.conflicts | m.recent:
                    self.barring.setdefault(code, []).append(m)

    def _free(
        self, dept: str, line: str, office: str, barring: Sequence[QualifiedPoolMember]
    ) -> tuple[int, int]:
        """(qualified for ``line``, not qualified) among ``dept``'s members free for an object of ``office``
        that the ``barring`` members may not serve."""
        key = (dept, line, office)
        counts = self._counts.get(key)
        if counts is None:
            as_of = self._rules.as_of
            members = [m for m in self._by_dept.get(dept, ()) if not (office and m.office == office)]
            held = sum(1 for m in members if m.qualified(line, as_of))
            counts = self._counts[key] = (held, len(members) - held)
        held, not_held = counts
        for m in barring:
            if m.department_id == dept and not (office and m.office == office):
                if m.qualified(line, self._rules.as_of):
                    held -= 1
                else:
                    not_held -= 1
        return held, not_held

    def can_staff(self, obj: PlannedObject) -> bool:
        return self.can_staff_place(obj.department_id, obj.office, self.barring.get(obj.credit_code, ()))

    def can_staff_place(
        self, department_id: str, office: str, barring: Sequence[QualifiedPoolMember] = ()
    ) -> bool:
        """``can_staff`` of an object of ``department_id`` and ``office`` that the ``barring`` members may
        not serve (none: any object there nobody is barred from)."""
        rules = self._rules
        if department_id in rules.cooperating_lines:
            return False  # parts could share members: judged by the walk
        office = office if rules.cross_office else ""
        held, not_held = self._free(department_id, rules.speciality, office, barring)
        assistant = 1 if rules.unqualified_assistant else 0
        if held < 1 or held + min(not_held, assistant) < rules.team_size:
            return False
        for dept, line in rules.cooperating_lines.items():
            if self._free(dept, line, office, barring)[0] < rules.cooperating_team_size:
                return False
        return True

    def can_staff_all(self, rows: PlanRows) -> bool:
        """Whether ``can_staff`` holds for every row's object: judged once per distinct place, and for
        each object somebody is barred from on its own."""
        cross_office = self._rules.cross_office
        places = {(dept, office if cross_office else "") for dept, office in rows.place_pairs()}
        if not all(self.can_staff_place(dept, office) for dept, office in places):
            return False
        for code, barring in self.barring.items():
            row = rows.get(code)
            if row is not None and not self.can_staff_place(row.department_id, row.office, barring):
                return False
        return True


def _retarget(shortage: Shortage, credit_code: str) -> Shortage:
    detail = credit_code + shortage.detail[len(shortage.credit_code) :]
    return replace(shortage, credit_code=credit_code, detail=detail)


def refuse_unstaffable(shortages: Sequence[Shortage]) -> None:
    """Raises ``FailedPrecondition`` ``TOO_FEW_QUALIFIED_INSPECTORS`` when ``shortages`` is not empty."""
    if shortages:
        raise _refuse(shortages, "TOO_FEW_QUALIFIED_INSPECTORS", "qualified teams")


# --- recomputation from a manifest --------------------------------------------------------------------------


def qualified_team_rules(manifest: Mapping[str, Any]) -> QualifiedTeamRules:
    task = manifest["task"]
    policy = task["policy"]
    return QualifiedTeamRules(
        team_size=int(task["team_size"]),
        speciality=task["required_speciality"],
        as_of=manifest["as_of"],
        cooperating_lines=dict(policy["cooperating_lines"]),
        unqualified_assistant=bool(task["unqualified_assistant"]),
        cross_office=bool(policy["cross_office"]),
        workload_cap=int(policy["workload_cap"]),
        cooperating_team_size=int(policy["cooperating_team_size"]),
    )


def planned_objects(
    manifest: Mapping[str, Any], codes: Iterable[str] | None = None, plan: ObjectPlan | None = None
) -> list[PlannedObject]:
    """The plan's objects (all rows, or those of ``codes`` in that order); the plan is the manifest's unless
    given."""
    rows = (plan or ObjectPlan.from_manifest(manifest)).rows
    if codes is None:
        return [PlannedObject(r.code, r.department_id, r.office) for r in rows.values()]
    if isinstance(rows, PlanRows):  # a draw's columns: no row made per object
        codes = list(codes)
        return list(map(PlannedObject, codes, *zip(*rows.places_of(codes), strict=True))) if codes else []
    return [PlannedObject(c, (row := rows[c]).department_id, row.office) for c in codes]  # one lookup each


def pool_members(pool_lines: Sequence[str], plan: ObjectPlan | None) -> list[QualifiedPoolMember]:
    """The pool: from ``dualdraw-draw/3`` lines (``plan`` ``None``), or from ``dualdraw-draw/4`` lines with
    each member's conflicts and recent inspections taken from the plan rows that name them."""
    if plan is None:
        return [QualifiedPoolMember.from_line(line) for line in pool_lines]
    conflicts, recent = plan.bars()
    out = []
    for line in pool_lines:
        e = json.loads(line)
        b = e["badge_number"]
        out.append(QualifiedPoolMember._of(e, frozenset(conflicts.get(b, ())), frozenset(recent.get(b, ()))))
    return out


def qualified_teams_of_selected(
    seed: bytes,
    selected: Sequence[Selected],
    pool_lines: Sequence[str],
    manifest: Mapping[str, Any],
    plan: ObjectPlan | None = None,
    bars_in_plan: bool = False,
) -> Iterator[Team]:
    """The teams of the ``selected`` objects from the frozen pool lines, the plan (the manifest's unless
    given; with ``bars_in_plan`` the conflicts and recent inspections are the plan rows') and the policy,
    each as soon as it is formed (``qualified_teams_as_formed``)."""
    objects = planned_objects(manifest, [s.credit_code for s in selected], plan)
    pool = pool_members(pool_lines, plan if bars_in_plan else None)
    return qualified_teams_as_formed(seed, objects, pool, qualified_team_rules(manifest))


def qualified_substitution_pool(
    pool_lines: Sequence[str],
    manifest: Mapping[str, Any],
    credit_code: str,
    removed_badge: str,
    plan: ObjectPlan | None = None,
    bars_in_plan: bool = False,
) -> dict[str, frozenset[str]]:
    """The candidates of a substitution (§8.1) in a ``dualdraw-draw/3`` draw, as ``badge → barred codes``:
    inspectors of the removed member's department holding that department's line on ``as_of`` (a removed
    assistant too is replaced by a qualified inspector), with the object barred for those who declared a
    conflict, inspected it recently or (cross-office) share its office. No workload cap."""
    rules = qualified_team_rules(manifest)
    pool = pool_members(pool_lines, plan if bars_in_plan else None)
    department = next(m.department_id for m in pool if m.badge_number == removed_badge)
    line = rules.cooperating_lines.get(department, rules.speciality)
    row = (plan or ObjectPlan.from_manifest(manifest)).rows.get(credit_code)
    office = row.office if row is not None else ""
    out: dict[str, frozenset[str]] = {}
    for m in pool:
        if m.department_id != department or not m.qualified(line, rules.as_of):
            continue
        barred = set(m.conflicts | m.recent)
        if rules.cross_office and office and m.office == office:
            barred.add(credit_code)
        out[m.badge_number] = frozenset(barred)
    return out
