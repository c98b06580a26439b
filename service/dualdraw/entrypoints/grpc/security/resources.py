"""Which department a resource belongs to: the one place per resource kind that answers it.

task → its department; draw → its task's department; object → its registering department; inspector → its
department; complaint, risk assessment, statutory designation → their object's registering department;
campaign → its organiser; inspection item, annual plan → its department; directory filing → the filing
department (``filing``) or the parent it is filed with (``filing_parent``); result → its draw's; follow-up →
its owner (a lead passed on: the receiving department); objection → the department that drew. Departments
and filings may be named by resource name (``departments/{id}``, ``directoryFilings/{id}``); expert draw →
its draw's department.
An unknown resource has no department (``None``), which the guard treats exactly like a foreign one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from dualdraw.service_layer.ports import OwnedKind, PageRequest, UnitOfWork


def _object_department(uow: UnitOfWork, credit_code: str) -> str | None:
    found = uow.directory.get_object(credit_code.strip().upper())
    return found.registering_department_id if found else None


def _task_department(uow: UnitOfWork, task_id: str) -> str | None:
    task = uow.tasks.get(task_id)
    return task.department_id if task else None


def _draw_department(uow: UnitOfWork, draw_id: str) -> str | None:
    draw = uow.draws.get(draw_id)
    return _task_department(uow, draw.task_id) if draw else None


_NAMED = {"department_name": ("department", "departments/"), "draw_name": ("draw", "draws/"),
          "item_name": ("item", "items/"), "object_name": ("object", "objects/"),
          "inspector_name": ("inspector", "inspectors/"), "complaint_name": ("complaint", "complaints/"),
          "risk_assessment_name": ("risk_assessment", "riskAssessments/"),
          "designation_name": ("designation", "statutoryDesignations/"), "task_name": ("task", "tasks/"),
          "plan_name": ("plan", "plans/")}  # fmt: skip
"""Kinds given as a resource name (``draws/{draw}``); a bare id is taken too (a filled-in default)."""


def department_of(uow: UnitOfWork, kind: str, key: str) -> str | None:
    """The department owning resource ``kind``/``key``, or ``None`` when there is no such resource."""
    if kind in _NAMED:
        base, prefix = _NAMED[kind]
        return department_of(uow, base, key.removeprefix(prefix))
    if kind == "expert_draw":
        found_draw = uow.experts.get_draw(key.removeprefix("expertDraws/"))
        return _draw_department(uow, found_draw[0].draw_id) if found_draw else None
    if kind == "department":
        key = key.removeprefix("departments/")
        return key if uow.directory.get_department(key) is not None else None
    if kind in ("filing", "filing_parent"):
        filing = uow.filings.get(key.removeprefix("directoryFilings/"))
        if filing is None:
            return None
        return filing.department_id if kind == "filing" else filing.parent_department_id
    if kind == "task":
        return _task_department(uow, key)
    if kind == "draw":
        return _draw_department(uow, key)
    if kind == "object":
        return _object_department(uow, key)
    if kind == "substitution":
        found = uow.lifecycle.get_substitution(key)
        return _draw_department(uow, found[0].draw_id) if found else None
    if kind == "inspector":
        inspector = uow.directory.get_inspector(key)
        return inspector.department_id if inspector else None
    if kind == "complaint":
        complaint = uow.directory.get_complaint(key)
        return _object_department(uow, complaint.credit_code) if complaint else None
    if kind == "risk_assessment":
        assessment = uow.directory.get_risk_assessment(key)
        return _object_department(uow, assessment.credit_code) if assessment else None
    if kind == "designation":
        designation = uow.directory.get_statutory_designation(key)
        return _object_department(uow, designation.credit_code) if designation else None
    if kind == "item":
        item = uow.items.get(key)
        return item.department_id if item else None
    if kind == "result":  # draws/{draw}/assignments/{position}/result: the draw's
        draw_id = key.removeprefix("draws/").split("/", 1)[0]
        return _draw_department(uow, draw_id) if key.startswith("draws/") else None
    if kind == "follow_up":  # its owner (a lead: the department it was passed to)
        follow_up = uow.follow_ups.get(key.removeprefix("followUps/"))
        return follow_up.department_id if follow_up else None
    if kind == "objection":
        objection = uow.objections.get(key.removeprefix("objections/"))
        return objection.department_id if objection else None
    if kind == "plan":
        versions = uow.plans.versions(key)
        return versions[-1].department_id if versions else None
    if kind == "checklist":  # items/{item}/checklist: the item's department
        item = uow.items.get(key.removeprefix("items/").removesuffix("/checklist"))
        return item.department_id if item else None
    if kind in ("assignment", "inspection_record"):
        named = assignment_key(uow, kind, key)
        return _draw_department(uow, named[0]) if named else None
    raise ValueError(f"no department resolver for resource kind {kind!r}")


def expert_import_sides(uow: UnitOfWork, request: Any) -> list[str | None]:
    """The departments an ``ImportExpertsRequest`` touches: its parent, the department each record names and
    the department owning each record it would replace (an import never takes over another's record)."""
    sides: list[str | None] = [department_of(uow, "department_name", request.parent)]
    for kind, records, collection in (
        ("expert", request.experts, "experts/"),
        ("institution", request.testing_institutions, "testingInstitutions/"),
    ):
        ids = [r.name.strip().removeprefix(collection) for r in records]
        sides += [department_of(uow, "department_name", r.department) for r in records]
        sides += list(uow.experts.owners(kind, ids).values())
    return sides


def transfer_sides(uow: UnitOfWork, kind: str | None, key: str, to_department_id: str) -> list[str | None]:
    """The two departments a move touches: the record's current one (a department's: its parent) and the
    target (``None`` for an unknown record or target, or a department without a parent)."""
    target = to_department_id if uow.directory.get_department(to_department_id) is not None else None
    if kind == "department":
        department = uow.directory.get_department(key)
        return [department.parent_id if department else None, target]
    if kind in ("object", "inspector"):
        return [department_of(uow, kind, key), target]
    return [None, target]


def assignment_key(uow: UnitOfWork, kind: str, key: str) -> tuple[str, int] | None:
    """``(draw_id, position)`` named by an assignment name (``draws/{draw}/assignments/{position}``) or
    an inspection record name (``inspectionRecords/{record}``); ``None`` when it names nothing."""
    if kind == "assignment":
        draw_part, sep, position = key.removeprefix("draws/").partition("/assignments/")
        return (draw_part, int(position)) if sep and position.isdigit() else None
    history = uow.inspection_records.history(key.removeprefix("inspectionRecords/"))
    return (history[-1].draw_id, history[-1].position) if history else None


def team_of(uow: UnitOfWork, draw_id: str, position: int) -> frozenset[str]:
    """Badge numbers on the team of assignment ``position`` of ``draw_id`` (empty when there is none)."""
    after: str | None = None
    while True:
        page = uow.draws.list_assignments(draw_id, PageRequest(size=500, after=after))
        for assignment in page.items:
            if assignment.position == position:
                return frozenset(m.badge_number for m in assignment.team)
        if page.next_after is None:
            return frozenset()
        after = page.next_after


def subtree(uow: UnitOfWork, department_id: str) -> frozenset[str]:
    """The department and everything below it (empty when the department is unknown)."""
    return uow.directory.department_subtree(department_id)


def is_root(uow: UnitOfWork, department_id: str) -> bool:
    department = uow.directory.get_department(department_id)
    return department is not None and department.parent_id is None


def objects_registered_in(uow: UnitOfWork, codes: Iterable[str]) -> dict[str, str]:
    """Registering department of each known object among ``codes``."""
    return uow.directory.owning_departments("object", set(codes))


def first_outside(uow: UnitOfWork, chunk: Any, allowed: set[str], batch_objects: set[str]) -> str | None:
    """The first record of an import chunk that lies outside ``allowed`` (as ``kind:key``), or ``None``.

    A record is outside when the department it names is, or when it replaces a stored record whose owner
    is (an existing department must itself be in ``allowed``; a new one needs its parent there). Side facts
    belong to their object: one of this import (``batch_objects``, checked already) or a stored one. Adds
    the chunk's new departments to ``allowed`` and its objects to ``batch_objects``. One query per record
    kind present in the chunk.
    """
    ids = [d.id.strip() for d in chunk.departments]
    if ids:
        stored = uow.directory.owning_departments("department", ids)
        for d, key in zip(chunk.departments, ids, strict=True):
            if key in stored:
                if key not in allowed:
                    return f"department:{key}"
            elif d.parent_id.strip() not in allowed:
                return f"department:{key}"
            else:
                allowed.add(key)
    codes = [o.credit_code.strip().upper() for o in chunk.objects]
    owned: list[tuple[OwnedKind, list[str], list[str]]] = [
        ("object", codes, [o.registering_department_id.strip() for o in chunk.objects]),
        (
            "inspector",
            [i.badge_number.strip() for i in chunk.inspectors],
            [i.department_id.strip() for i in chunk.inspectors],
        ),
        (
            "campaign",
            [c.id.strip() for c in chunk.campaigns],
            [c.organizer_department_id.strip() for c in chunk.campaigns],
        ),
    ]
    for kind, keys, owners in owned:
        if outside := _first_foreign(uow, kind, keys, owners, allowed):
            return outside
    batch_objects.update(codes)
    facts: list[tuple[OwnedKind, Sequence[Any]]] = [
        ("complaint", chunk.complaints),
        ("risk_assessment", chunk.risk_assessments),
        ("designation", chunk.statutory_designations),
    ]
    referenced = {f.credit_code.strip().upper() for _, records in facts for f in records} - batch_objects
    registered = objects_registered_in(uow, referenced) if referenced else {}
    for code in sorted(referenced):
        if registered.get(code) not in allowed:
            return f"object:{code}"
    for kind, records in facts:
        keys = [f.id.strip() for f in records]
        if outside := _first_foreign(uow, kind, keys, [], allowed):
            return outside
    return None


def _first_foreign(
    uow: UnitOfWork, kind: OwnedKind, keys: list[str], owners: list[str], allowed: set[str]
) -> str | None:
    """The first of ``keys`` whose new owner (``owners``, when given) or stored owner is not allowed."""
    if not allowed.issuperset(owners):  # one set operation for the common case: all of them allowed
        for key, owner in zip(keys, owners, strict=False):
            if owner not in allowed:
                return f"{kind}:{key}"
    if not keys:
        return None
    foreign = uow.directory.owning_departments(kind, keys, outside=allowed)  # usually none at all
    for key in keys:
        if key in foreign:
            return f"{kind}:{key}"
    return None
