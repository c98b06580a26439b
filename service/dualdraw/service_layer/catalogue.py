"""The random-inspection item list (Art. 4-5) and tasks (抽查任务): creation with validation, reads."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from fractions import Fraction

from dualdraw.domain import model
from dualdraw.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    Violations,
)
from dualdraw.domain.jurisdiction import DepartmentTree, scope_problems
from dualdraw.domain.plan.model import PlanEntry, already_drawn
from dualdraw.domain.policy import DEFAULT_GENERAL_RATIO_CAP, DrawRules, TaskPolicy, policy_problems
from dualdraw.domain.region import region_code_problem
from dualdraw.service_layer.audit_events import record_event
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.plans import bind_task, planned_team_size
from dualdraw.service_layer.ports import UnitOfWork

ITEM_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,31}$")
MIN_TEAM_SIZE = 2  # Art. 10: as a rule no fewer than 2 inspectors per group
MAX_TEAM_SIZE = 20


def create_item(uow: UnitOfWork, item: model.InspectionItem, caller: Caller) -> model.InspectionItem:
    """Adds an item to the list; its code must be new and its department known."""
    v = Violations()
    if not ITEM_CODE.match(item.code):
        v.add(
            "item.code",
            "must be 1-32 characters of A-Z, 0-9 and '-', starting with a letter or digit",
            reason="ITEM_CODE_INVALID",
        )
    with uow:
        if uow.directory.get_department(item.department_id) is None:
            v.add(
                "item.department_id",
                f"unknown department {item.department_id!r}",
                reason="UNKNOWN_DEPARTMENT",
            )
        v.raise_if_any()
        if uow.items.get(item.code) is not None:
            raise AlreadyExists(f"inspection item {item.code!r} exists already", reason="ITEM_EXISTS")
        stored = replace(item, created_at=caller.now)
        uow.items.add(stored)
        record_event(uow, caller, action="item.create", resource=f"items/{item.code}", after=stored)
        uow.commit()
    return stored


@dataclass(frozen=True)
class PlanRequest:
    """The plan entry and period (1-based; 0: the one containing today) a new task draws for."""

    plan_id: str
    entry_id: str
    period: int = 0
    rehearsal: bool = False


def new_task_id() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def create_task(
    uow: UnitOfWork,
    *,
    item_code: str,
    department_id: str,
    ratio: Fraction | None,
    team_size: int,
    scope: model.TaskScope,
    title: str,
    caller: Caller,
    violations: Violations | None = None,
    policy: TaskPolicy | None = None,
    general_ratio_cap: Fraction = DEFAULT_GENERAL_RATIO_CAP,
    plan: PlanRequest | None = None,
    plan_required: bool = False,
    bureau_rules: DrawRules | None = None,
) -> model.Task:
    """Creates a task after checking its item, department, ratio, team size and jurisdiction.

    ``ratio`` is ``None`` when the request's ratio did not parse (already recorded in ``violations``).
    With ``plan`` the task draws for a published plan entry's period (``plans.bind_task``): the item and
    ratio default to the entry's, a ``team_size`` of 0 to the entry's (else its item version's), and its
    policy takes the entry's caps, raises, class ratios and level (a policy field that differs from the
    entry's is refused). With ``plan_required`` a task without a plan entry is refused
    (``PLAN_ENTRY_REQUIRED``); otherwise it takes ``bureau_rules`` (the Settings defaults) where its own
    policy sets nothing. Either way the task stores the policy it will draw with.
    """
    v = violations if violations is not None else Violations()
    if scope.region_code and (problem := region_code_problem(scope.region_code)):
        v.add("task.scope.region_code", problem, reason="REGION_CODE_INVALID")
    policy = policy or TaskPolicy()
    with uow:
        plan_ref: model.PlanRef | None = None
        entry: PlanEntry | None = None
        if plan is not None and plan.plan_id:
            _, entry, plan_ref = bind_task(
                uow,
                plan_id=plan.plan_id,
                entry_id=plan.entry_id,
                period=plan.period,
                rehearsal=plan.rehearsal,
                department_id=department_id,
                item_code=item_code,
                caller=caller,
            )
            item_code = item_code or entry.item_code
            if team_size == 0:  # the entry's, else its item version's
                team_size = planned_team_size(uow, entry)
            if ratio is None and not any(x.field == "task.ratio" for x in v.items):
                ratio = entry.ratio
            elif ratio is not None and ratio != entry.ratio:
                v.add(
                    "task.ratio",
                    f"entry {entry.id} plans the ratio {entry.ratio}, not {ratio}",
                    reason="PLAN_ENTRY_MISMATCH",
                )
            v.items.extend(entry.policy_mismatches(policy))
        elif plan_required:
            raise FailedPrecondition(
                "a task comes from a published plan entry: name task.plan_id and task.plan_entry_id",
                reason="PLAN_ENTRY_REQUIRED",
            )
        if not MIN_TEAM_SIZE <= team_size <= MAX_TEAM_SIZE:
            v.add(
                "task.team_size",
                f"must be between {MIN_TEAM_SIZE} and {MAX_TEAM_SIZE} (Art. 10), got {team_size}",
                reason="TEAM_SIZE_OUT_OF_RANGE",
            )
        item = uow.items.get(item_code) if item_code else None
        if not item_code:
            v.add("task.item_code", "is required", reason="FIELD_REQUIRED")
        elif item is None:
            v.add("task.item_code", f"unknown inspection item {item_code!r}", reason="UNKNOWN_ITEM")
        tree = DepartmentTree(uow.directory.all_departments())
        if not department_id:
            v.add("task.department_id", "is required", reason="FIELD_REQUIRED")
        elif not any(x.field == "task.scope.region_code" for x in v.items):
            v.items.extend(scope_problems(tree, department_id, scope))
        if policy.enabled and item is not None and ratio is not None:
            v.items.extend(
                policy_problems(
                    policy,
                    ratio=ratio,
                    item_kind=item.kind,
                    department_id=department_id,
                    known_departments=[d.id for d in uow.directory.all_departments()],
                    below=tree.subtree_ids(department_id) if tree.get(department_id) else (),
                    general_ratio_cap=general_ratio_cap,
                )
            )
        if v:
            raise InvalidArgument(v.items)
        assert ratio is not None  # a missing ratio is a violation raised above
        assert item is not None  # an unknown item is a violation raised above
        if entry is not None:
            policy = entry.draw_policy(policy)
        else:
            policy = (bureau_rules or DrawRules()).policy_for(policy, item_frequency_cap=item.frequency_cap)
        task = model.Task(
            id=new_task_id(),
            item_code=item_code,
            department_id=department_id,
            ratio=ratio,
            team_size=team_size,
            scope=scope,
            title=title.strip(),
            created_at=caller.now,
            policy_json=policy.dumps() if policy.enabled else "",
            plan=plan_ref,
            rehearsal=plan_ref is not None and plan is not None and plan.rehearsal,
        )
        if task.plan_slot is not None and (holder := uow.plans.task_in_slot(task.plan_slot)) is not None:
            raise already_drawn(holder)
        uow.tasks.add(task)
        record_event(uow, caller, action="task.create", resource=f"tasks/{task.id}", after=task)
        uow.commit()
    return task
