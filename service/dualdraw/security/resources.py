"""Which department a resource belongs to: the one place per resource kind that answers it.

task → its department; draw → its task's department; object → its registering department; inspector → its
department; complaint, risk assessment, statutory designation → their object's registering department.
An unknown resource has no department (``None``), which the guard treats exactly like a foreign one.
"""

from __future__ import annotations

from collections.abc import Iterable

from dualdraw.domain.jurisdiction import DepartmentTree
from dualdraw.service_layer.ports import PageRequest, UnitOfWork


def _object_department(uow: UnitOfWork, credit_code: str) -> str | None:
    found = uow.directory.get_object(credit_code.strip().upper())
    return found.registering_department_id if found else None


def _task_department(uow: UnitOfWork, task_id: str) -> str | None:
    task = uow.tasks.get(task_id)
    return task.department_id if task else None


def _draw_department(uow: UnitOfWork, draw_id: str) -> str | None:
    draw = uow.draws.get(draw_id)
    return _task_department(uow, draw.task_id) if draw else None


def department_of(uow: UnitOfWork, kind: str, key: str) -> str | None:
    """The department owning resource ``kind``/``key``, or ``None`` when there is no such resource."""
    if kind == "department":
        return key if uow.directory.get_department(key) is not None else None
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
    raise ValueError(f"no department resolver for resource kind {kind!r}")


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
    tree = DepartmentTree(uow.directory.all_departments())
    if tree.get(department_id) is None:
        return frozenset()
    return frozenset(tree.subtree_ids(department_id))


def is_root(uow: UnitOfWork, department_id: str) -> bool:
    department = uow.directory.get_department(department_id)
    return department is not None and department.parent_id is None


def objects_registered_in(uow: UnitOfWork, codes: Iterable[str]) -> dict[str, str]:
    """Registering department of each known object among ``codes``."""
    return {c: o.registering_department_id for c, o in uow.directory.objects_by_code(set(codes)).items()}
