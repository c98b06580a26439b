"""Jurisdiction (Art. 7): the department tree, and which objects a task may draw from.

"Whoever registers, supervises": a task covers the objects registered by its department or any department
below it, within the task's scope region (by default the department's whole territory).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dualdraw.domain.errors import FieldViolation, InvalidArgument, NotFound, Violations
from dualdraw.domain.model import Department, Task, TaskScope
from dualdraw.domain.region import region_code_problem, region_within, significant_prefix


@dataclass(frozen=True)
class ObjectFilter:
    """Objects registered by one of ``department_ids`` whose region code starts with ``region_prefix``."""

    department_ids: frozenset[str]
    region_prefix: str = ""
    industries: frozenset[str] = frozenset()
    active_only: bool = False


def department_tree_problems(
    departments: Sequence[Department], *, existing: Iterable[Department] = (), field: str = "departments"
) -> list[FieldViolation]:
    """Every reason why ``departments`` (upserted over ``existing``) do not form a valid tree.

    Checks: non-empty unique ids, well-formed region codes, known parents, no cycles, a child's level is its
    parent's plus one, a child's region lies within its parent's. Problems of ``departments[i]`` are reported
    at ``{field}[i].<attribute>``; problems the change causes in ``existing`` departments at ``{field}``.
    """
    v = Violations()
    index: dict[str, int] = {}
    for i, d in enumerate(departments):
        if not d.id:
            v.add(f"{field}[{i}].id", "must not be empty", reason="FIELD_REQUIRED")
        elif d.id in index:
            v.add(
                f"{field}[{i}].id",
                f"duplicate department id {d.id!r} (also at index {index[d.id]})",
                reason="DUPLICATE_VALUE",
            )
        else:
            index[d.id] = i
    merged = {d.id: d for d in existing} | {dep_id: departments[i] for dep_id, i in index.items()}

    def path(dep_id: str, attribute: str) -> str:
        return f"{field}[{index[dep_id]}].{attribute}" if dep_id in index else field

    def prefix(dep_id: str) -> str:
        return "" if dep_id in index else f"existing department {dep_id!r}: "

    in_cycle = _cycle_members(merged)
    reported_cycles: set[frozenset[str]] = set()
    for dep_id in sorted(merged, key=lambda k: (index.get(k, len(index)), k)):
        d = merged[dep_id]
        problem = region_code_problem(d.region_code)
        if problem is not None:
            v.add(path(dep_id, "region_code"), prefix(dep_id) + problem, reason="REGION_CODE_INVALID")
        if not d.parent_id:
            continue
        parent = merged.get(d.parent_id)
        if parent is None:
            v.add(
                path(dep_id, "parent_id"),
                prefix(dep_id) + f"unknown parent department {d.parent_id!r}",
                reason="UNKNOWN_DEPARTMENT",
            )
            continue
        if dep_id in in_cycle:
            cycle = in_cycle[dep_id]
            if frozenset(cycle) not in reported_cycles:
                reported_cycles.add(frozenset(cycle))
                chain = " → ".join([*cycle, cycle[0]])
                v.add(
                    path(dep_id, "parent_id"),
                    prefix(dep_id) + f"parent chain forms a cycle: {chain}",
                    reason="DEPARTMENT_TREE_INVALID",
                )
            continue
        if d.level != parent.level + 1:
            v.add(
                path(dep_id, "level"),
                prefix(dep_id) + f"must be {parent.level + 1}, one below parent {parent.id!r} at level "
                f"{int(parent.level)}, got {int(d.level)}",
                reason="DEPARTMENT_TREE_INVALID",
            )
        if (
            problem is None
            and region_code_problem(parent.region_code) is None
            and not region_within(d.region_code, parent.region_code)
        ):
            v.add(
                path(dep_id, "region_code"),
                prefix(dep_id) + f"region {d.region_code} is outside region {parent.region_code} of parent "
                f"department {parent.id!r}",
                reason="REGION_OUTSIDE_TERRITORY",
            )
    return v.items


def _cycle_members(departments: dict[str, Department]) -> dict[str, list[str]]:
    """Maps each department on a parent cycle to that cycle (in parent order, starting at its smallest id)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles: dict[str, list[str]] = {}
    for start in sorted(departments):
        walk: list[str] = []
        node: str | None = start
        while node is not None and node in departments and state.get(node) is None:
            state[node] = 1
            walk.append(node)
            node = departments[node].parent_id or None
        if node is not None and state.get(node) == 1:
            cycle = walk[walk.index(node) :]
            first = cycle.index(min(cycle))
            cycle = cycle[first:] + cycle[:first]
            for member in cycle:
                cycles[member] = cycle
        for member in walk:
            state[member] = 2
    return cycles


class DepartmentTree:
    """A validated department tree. Raises ``InvalidArgument`` when the departments do not form one."""

    def __init__(self, departments: Iterable[Department]) -> None:
        items = list(departments)
        problems = department_tree_problems(items)
        if problems:
            raise InvalidArgument(problems)
        self._by_id = {d.id: d for d in items}
        self._children: dict[str, list[str]] = {d.id: [] for d in items}
        for d in sorted(items, key=lambda d: d.id):
            if d.parent_id:
                self._children[d.parent_id].append(d.id)

    def __contains__(self, department_id: object) -> bool:
        return department_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, department_id: str) -> Department | None:
        """The department with this id, or ``None``."""
        return self._by_id.get(department_id)

    def require(self, department_id: str) -> Department:
        """The department with this id. Raises ``NotFound``."""
        d = self._by_id.get(department_id)
        if d is None:
            raise NotFound("department", department_id)
        return d

    def subtree_ids(self, department_id: str) -> frozenset[str]:
        """The department's id and the ids of every department below it. Raises ``NotFound``."""
        self.require(department_id)
        found: set[str] = set()
        stack = [department_id]
        while stack:
            node = stack.pop()
            found.add(node)
            stack.extend(self._children[node])
        return frozenset(found)

    def ancestors(self, department_id: str) -> tuple[Department, ...]:
        """The chain from the root down to the department itself, inclusive. Raises ``NotFound``."""
        chain = [self.require(department_id)]
        while chain[-1].parent_id:
            chain.append(self._by_id[chain[-1].parent_id])
        return tuple(reversed(chain))

    def children(self, department_id: str) -> tuple[Department, ...]:
        """The departments directly below, by id. Raises ``NotFound``."""
        self.require(department_id)
        return tuple(self._by_id[c] for c in self._children[department_id])


def scope_problems(tree: DepartmentTree, department_id: str, scope: TaskScope) -> list[FieldViolation]:
    """Why a task of ``department_id`` may not have ``scope``: unknown department, malformed region, a region
    outside the department's territory, empty industry codes. Paths are those of ``CreateTaskRequest``."""
    v = Violations()
    department = tree.get(department_id)
    if department is None:
        v.add("task.department_id", f"unknown department {department_id!r}", reason="UNKNOWN_DEPARTMENT")
    if scope.region_code:
        problem = region_code_problem(scope.region_code)
        if problem is not None:
            v.add("task.scope.region_code", problem, reason="REGION_CODE_INVALID")
        elif department is not None and not region_within(scope.region_code, department.region_code):
            v.add(
                "task.scope.region_code",
                f"region {scope.region_code} is outside the jurisdiction of department {department.id!r} "
                f"(territory {department.region_code})",
                reason="REGION_OUTSIDE_TERRITORY",
            )
    for i, industry in enumerate(scope.industries):
        if not industry.strip():
            v.add(f"task.scope.industries[{i}]", "must not be empty", reason="FIELD_REQUIRED")
    return v.items


def task_object_filter(tree: DepartmentTree, task: Task) -> ObjectFilter:
    """The objects ``task`` may draw from: active, registered by its department or one below it, within the
    scope region (default: the department's territory), in the scope's industries (none listed: all).

    Raises ``InvalidArgument`` with the ``scope_problems``.
    """
    problems = scope_problems(tree, task.department_id, task.scope)
    if problems:
        raise InvalidArgument(problems)
    department = tree.require(task.department_id)
    region = task.scope.region_code or department.region_code
    return ObjectFilter(
        department_ids=tree.subtree_ids(department.id),
        region_prefix=significant_prefix(region),
        industries=frozenset(task.scope.industries),
        active_only=True,
    )
