"""The annual plan (Art. 9): drafting, approval, publication and amendment, and the binding of tasks to
published plan entries and periods. Every transition writes an audit event whose ``after`` holds the
version's content hash (``PlanVersion.content_hash``)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace

from dualdraw.domain import model
from dualdraw.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, Violations
from dualdraw.domain.item_list import list_as_of
from dualdraw.domain.plan.model import (
    Period,
    PlanEntry,
    PlanState,
    PlanVersion,
    already_drawn,
    duplicate_entry,
    entry_problems,
    period_of,
    periods,
    require_state,
    same_item_and_period,
    with_entry,
)
from dualdraw.service_layer.audit_events import record_event
from dualdraw.service_layer.context import CHINA_STANDARD_TIME, Caller
from dualdraw.service_layer.ports import Page, PageRequest, UnitOfWork


def new_plan_id() -> str:
    return f"p-{uuid.uuid4().hex[:12]}"


def _event(uow: UnitOfWork, caller: Caller, action: str, version: PlanVersion) -> None:
    record_event(
        uow,
        caller,
        action=action,
        resource=f"plans/{version.plan_id}",
        after={
            "plan_id": version.plan_id,
            "version": version.version,
            "state": version.state.value,
            "content_hash": version.content_hash(),
            "amendment_reason": version.amendment_reason,
        },
    )


def latest(uow: UnitOfWork, plan_id: str) -> PlanVersion:
    versions = uow.plans.versions(plan_id)
    if not versions:
        raise NotFound("plan", plan_id)
    return versions[-1]


def in_force(uow: UnitOfWork, plan_id: str, moment: dt.datetime) -> PlanVersion | None:
    """The latest version of the plan published at or before ``moment``."""
    published = [v for v in uow.plans.versions(plan_id) if v.in_force_at(moment)]
    return published[-1] if published else None


def create_plan(
    uow: UnitOfWork,
    *,
    department_id: str,
    year: int,
    title: str,
    inspector_days_per_month: int,
    caller: Caller,
) -> PlanVersion:
    """A new plan: version 1, a draft without entries."""
    v = Violations()
    if not 2000 <= year <= 2100:
        v.add("year", "must be a calendar year between 2000 and 2100", reason="VALUE_OUT_OF_RANGE")
    if inspector_days_per_month < 0 or inspector_days_per_month > 31:
        v.add("inspector_days_per_month", "must be between 0 and 31", reason="VALUE_OUT_OF_RANGE")
    with uow:
        if not department_id:
            v.add("department_id", "is required", reason="FIELD_REQUIRED")
        elif uow.directory.get_department(department_id) is None:
            v.add("department_id", f"unknown department {department_id!r}", reason="UNKNOWN_DEPARTMENT")
        v.raise_if_any()
        version = PlanVersion(
            plan_id=new_plan_id(),
            version=1,
            department_id=department_id,
            year=year,
            title=title.strip(),
            state=PlanState.DRAFT,
            entries=(),
            created_at=caller.now,
            created_by=caller.actor,
            inspector_days_per_month=inspector_days_per_month or 2,
        )
        uow.plans.add(version)
        _event(uow, caller, "plan.create", version)
        uow.commit()
    return version


def _check_entry(uow: UnitOfWork, plan: PlanVersion, entry: PlanEntry, field: str) -> None:
    v = entry_problems(entry, plan.year, field)
    if entry.item_code:
        numbers = {iv.version for iv in uow.item_versions.history(entry.item_code)}
        if not numbers:
            v.add(
                f"{field}.item_code",
                f"{entry.item_code!r} is not on the published item list",
                reason="UNKNOWN_ITEM",
            )
        elif entry.item_version not in numbers:
            v.add(
                f"{field}.item_version",
                f"{entry.item_code} has no published version {entry.item_version}",
                reason="UNKNOWN_ITEM",
            )
    for d in entry.cooperating_department_ids:
        if uow.directory.get_department(d) is None or d == plan.department_id:
            v.add(
                f"{field}.cooperating_department_ids",
                f"{d!r} is not another known department",
                reason="UNKNOWN_DEPARTMENT",
            )
    v.raise_if_any()
    _refuse_duplicate(uow, plan, entry)


def _refuse_duplicate(uow: UnitOfWork, plan: PlanVersion, entry: PlanEntry) -> None:
    """One entry per item and period in a department's year: none of the plan's other entries, nor of the
    department's other published plans of that year, plans the entry's item over overlapping days."""
    for held in plan.entries:
        if held.id != entry.id and same_item_and_period(held, entry):
            raise duplicate_entry(plan.plan_id, held, entry)
    after: str | None = None
    while True:
        page = uow.plans.list(PageRequest(size=500, after=after), [plan.department_id], published_only=True)
        for other in page.items:
            if other.plan_id == plan.plan_id or other.year != plan.year:
                continue
            for held in other.entries:
                if same_item_and_period(held, entry):
                    raise duplicate_entry(other.plan_id, held, entry)
        if page.next_after is None:
            return
        after = page.next_after


def add_entry(uow: UnitOfWork, plan_id: str, entry: PlanEntry, caller: Caller) -> PlanVersion:
    """Adds an entry to a draft (its id is assigned: ``e1``, ``e2``, …)."""
    with uow:
        plan = latest(uow, plan_id)
        require_state(plan, PlanState.DRAFT, "adding an entry")
        entry = replace(entry, id=_next_entry_id(uow, plan_id))
        _check_entry(uow, plan, entry, "entry")
        changed = with_entry(plan, entry)
        uow.plans.replace(changed)
        _event(uow, caller, "plan.add_entry", changed)
        uow.commit()
    return changed


def _next_entry_id(uow: UnitOfWork, plan_id: str) -> str:
    used = {e.id for v in uow.plans.versions(plan_id) for e in v.entries}
    n = 1
    while f"e{n}" in used:
        n += 1
    return f"e{n}"


def update_entry(uow: UnitOfWork, plan_id: str, entry: PlanEntry, caller: Caller) -> PlanVersion:
    """Replaces an entry of a draft."""
    with uow:
        plan = latest(uow, plan_id)
        require_state(plan, PlanState.DRAFT, "changing an entry")
        if plan.entry(entry.id) is None:
            raise NotFound("plan entry", f"{plan_id}/{entry.id}")
        _check_entry(uow, plan, entry, "entry")
        changed = with_entry(plan, entry)
        uow.plans.replace(changed)
        _event(uow, caller, "plan.update_entry", changed)
        uow.commit()
    return changed


def approve_plan(uow: UnitOfWork, plan_id: str, caller: Caller) -> PlanVersion:
    with uow:
        plan = latest(uow, plan_id)
        require_state(plan, PlanState.DRAFT, "approval")
        if not plan.entries:
            raise FailedPrecondition(f"plan {plan_id} has no entries", reason="PLAN_EMPTY")
        changed = replace(plan, state=PlanState.APPROVED, approved_at=caller.now)
        uow.plans.replace(changed)
        _event(uow, caller, "plan.approve", changed)
        uow.commit()
    return changed


def publish_plan(uow: UnitOfWork, plan_id: str, caller: Caller) -> PlanVersion:
    """Publishes the approved version; it takes effect at this moment, never earlier."""
    with uow:
        plan = latest(uow, plan_id)
        require_state(plan, PlanState.APPROVED, "publication")
        for entry in plan.entries:  # another plan of the year may have been published since approval
            _refuse_duplicate(uow, plan, entry)
        changed = replace(plan, state=PlanState.PUBLISHED, published_at=caller.now)
        uow.plans.replace(changed)
        _event(uow, caller, "plan.publish", changed)
        uow.commit()
    return changed


def amend_plan(
    uow: UnitOfWork,
    plan_id: str,
    *,
    reason: str,
    upserts: list[PlanEntry],
    removed_entry_ids: list[str],
    caller: Caller,
) -> PlanVersion:
    """A published amendment: a new published version with ``reason``, the entries changed (an entry with
    an empty id is new), in force from now. Entries of periods already drawn keep their id."""
    v = Violations()
    if not reason.strip():
        v.add(
            "reason",
            "is required: an amendment states why the published plan changes",
            reason="FIELD_REQUIRED",
        )
    with uow:
        plan = latest(uow, plan_id)
        require_state(plan, PlanState.PUBLISHED, "an amendment")
        v.raise_if_any()
        changed = replace(
            plan,
            version=plan.version + 1,
            amendment_reason=reason.strip(),
            created_at=caller.now,
            created_by=caller.actor,
            approved_at=caller.now,
            published_at=caller.now,
        )
        for entry_id in removed_entry_ids:
            if changed.entry(entry_id) is None:
                raise NotFound("plan entry", f"{plan_id}/{entry_id}")
            changed = replace(changed, entries=tuple(e for e in changed.entries if e.id != entry_id))
        for n, entry in enumerate(upserts):
            if not entry.id:
                used = {e.id for e in changed.entries} | {
                    e.id for x in uow.plans.versions(plan_id) for e in x.entries
                }
                k = 1
                while f"e{k}" in used:
                    k += 1
                entry = replace(entry, id=f"e{k}")
            elif plan.entry(entry.id) is None:
                raise NotFound("plan entry", f"{plan_id}/{entry.id}")
            _check_entry(uow, changed, entry, f"entries[{n}]")
            changed = with_entry(changed, entry)
        uow.plans.add(changed)
        _event(uow, caller, "plan.amend", changed)
        uow.commit()
    return changed


def get_plan(uow: UnitOfWork, plan_id: str, version: int = 0) -> PlanVersion:
    with uow:
        versions = uow.plans.versions(plan_id)
    chosen = [v for v in versions if v.version == version] if version else versions[-1:]
    if not chosen:
        raise NotFound("plan", f"{plan_id}" + (f" version {version}" if version else ""))
    return chosen[0]


def list_plans(uow: UnitOfWork, page: PageRequest, department_ids: list[str] | None) -> Page[PlanVersion]:
    with uow:
        return uow.plans.list(page, department_ids)


def published_plan(uow: UnitOfWork, plan_id: str, version: int, now: dt.datetime) -> PlanVersion:
    """A published version in force by ``now`` (``version`` 0: the latest); anything else is NOT_FOUND."""
    with uow:
        versions = [v for v in uow.plans.versions(plan_id) if v.in_force_at(now)]
    chosen = [v for v in versions if v.version == version] if version else versions[-1:]
    if not chosen:
        raise NotFound("published plan", plan_id)
    return chosen[0]


def plan_date(version: PlanVersion) -> dt.date:
    """The day a published version took effect (its publication, Asia/Shanghai): the public estimate's."""
    assert version.published_at is not None
    return version.published_at.astimezone(CHINA_STANDARD_TIME).date()


def list_published_plans(uow: UnitOfWork, page: PageRequest, now: dt.datetime) -> Page[PlanVersion]:
    with uow:
        listed = uow.plans.list(page, published_only=True)
    return Page([v for v in listed.items if v.in_force_at(now)], listed.next_after)


# --- tasks come from the plan --------------------------------------------------------------------------


def bind_task(
    uow: UnitOfWork,
    *,
    plan_id: str,
    entry_id: str,
    period: int,
    rehearsal: bool,
    department_id: str,
    item_code: str,
    caller: Caller,
) -> tuple[PlanVersion, PlanEntry, model.PlanRef]:
    """Checks that a new task may be created for the entry's period inside ``uow``: the plan is published
    and in force, the entry and its item version are in force today, the department is the plan's, and
    (unless a rehearsal) no other task holds the period. ``period`` 0 means the period containing today."""
    plan = in_force(uow, plan_id, caller.now)
    if plan is None:
        raise FailedPrecondition(
            f"plan {plan_id} has no published version in force; tasks come from a published plan entry",
            reason="PLAN_NOT_PUBLISHED",
            metadata={"plan_id": plan_id},
        )
    entry = plan.entry(entry_id)
    if entry is None:
        raise FailedPrecondition(
            f"plan {plan_id} version {plan.version} has no entry {entry_id!r}; a draw outside the "
            f"plan needs a published amendment first",
            reason="PLAN_ENTRY_NOT_IN_FORCE",
            metadata={"plan_id": plan_id, "entry_id": entry_id},
        )
    v = Violations()
    if department_id and department_id != plan.department_id:
        v.add(
            "task.department_id",
            f"plan {plan_id} is department {plan.department_id}'s",
            reason="PLAN_ENTRY_MISMATCH",
        )
    if item_code and item_code != entry.item_code:
        v.add(
            "task.item_code", f"entry {entry_id} plans item {entry.item_code}", reason="PLAN_ENTRY_MISMATCH"
        )
    all_periods = periods(entry)
    if period == 0:
        found = period_of(entry, caller.today())
        if found is None:
            raise FailedPrecondition(
                f"today ({caller.today()}) lies in no period of entry {entry_id} "
                f"({entry.window_start}..{entry.window_end}); name a period for a rehearsal",
                reason="PLAN_PERIOD_NOT_OPEN",
                metadata={"plan_id": plan_id, "entry_id": entry_id},
            )
        period = found.index
    elif not 1 <= period <= len(all_periods):
        v.add(
            "task.plan_period",
            f"entry {entry_id} has periods 1..{len(all_periods)}",
            reason="PLAN_ENTRY_MISMATCH",
        )
    if v:
        raise InvalidArgument(v.items)
    require_item_in_force(uow, entry, caller.today())
    ref = model.PlanRef(plan_id, plan.version, entry_id, period)
    if not rehearsal:
        holder = uow.plans.task_in_slot(f"{plan_id}/{entry_id}/{period}") or _same_item_holder(
            uow, plan_id, entry, all_periods[period - 1]
        )
        if holder is not None:
            raise already_drawn(holder)
    return plan, entry, ref


def _same_item_holder(uow: UnitOfWork, plan_id: str, entry: PlanEntry, period: Period) -> model.Task | None:
    """A task of another entry of the plan (one an amendment removed, say) that drew the same item over
    overlapping days: removing an entry and adding it again must not buy a second draw."""
    versions = {v.version: v for v in uow.plans.versions(plan_id)}
    for task in uow.plans.tasks_of(plan_id):
        if task.rehearsal or task.plan is None or task.item_code != entry.item_code:
            continue
        held = versions[task.plan.version].entry(task.plan.entry_id)
        if held is None or held.id == entry.id:
            continue
        other = periods(held)[task.plan.period - 1]
        if other.start <= period.end and period.start <= other.end:
            return task
    return None


def item_version(uow: UnitOfWork, entry: PlanEntry) -> model.InspectionItem:
    """The item as the entry's published item version has it (a plan names versions, not the live list)."""
    for held in uow.item_versions.history(entry.item_code):
        if held.version == entry.item_version:
            return held.item
    raise NotFound("published inspection item version", f"{entry.item_code}/v{entry.item_version}")


def planned_team_size(uow: UnitOfWork, entry: PlanEntry) -> int:
    """The entry's team size, else its item version's."""
    return entry.team_size if entry.team_size is not None else item_version(uow, entry).team_size


def require_item_in_force(uow: UnitOfWork, entry: PlanEntry, day: dt.date) -> None:
    current = {iv.code: iv for iv in list_as_of(uow.item_versions.history(entry.item_code), day)}
    held = current.get(entry.item_code)
    if held is None or held.version != entry.item_version:
        raise FailedPrecondition(
            f"item {entry.item_code} version {entry.item_version} is not the published version in force on "
            f"{day}" + (f" (version {held.version} is)" if held else "") + "; amend the plan",
            reason="ITEM_VERSION_NOT_IN_FORCE",
            metadata={"item_code": entry.item_code},
        )


def check_draw(
    uow: UnitOfWork, task: model.Task, day: dt.date, caller: Caller
) -> tuple[PlanEntry, model.InspectionItem] | None:
    """Before a planned task is drawn: its entry is still in a version in force, the draw is dated today
    (Asia/Shanghai) inside the task's period, unless the task is a rehearsal, and the entry's item version
    is the one in force. Answers that entry (whose caps and raises the draw applies) and the item as that
    version has it (what the draw uses: a revision published for a later day has changed the item-list row
    already); ``None`` for a task outside a plan."""
    if task.plan is None:
        return None
    plan = in_force(uow, task.plan.plan_id, caller.now)
    entry = plan.entry(task.plan.entry_id) if plan else None
    if entry is None:
        raise FailedPrecondition(
            f"entry {task.plan.entry_id} of plan {task.plan.plan_id} is not in the plan in force",
            reason="PLAN_ENTRY_NOT_IN_FORCE",
            metadata={"plan_id": task.plan.plan_id, "entry_id": task.plan.entry_id},
        )
    if task.rehearsal:
        return entry, item_version(uow, entry)
    if day != caller.today():
        raise InvalidArgument(
            [
                FieldViolation(
                    "as_of",
                    f"a planned draw is dated today ({caller.today()}, Asia/Shanghai); only a rehearsal "
                    "task draws at another date",
                    reason="PLANNED_DRAW_DATE",
                )
            ]
        )
    period = periods(entry)[task.plan.period - 1]
    if not period.contains(day):
        raise FailedPrecondition(
            f"period {period.index} of entry {entry.id} is {period.label()}; today is {day}",
            reason="PLAN_PERIOD_NOT_OPEN",
            metadata={"plan_id": task.plan.plan_id, "entry_id": entry.id},
        )
    require_item_in_force(uow, entry, day)
    return entry, item_version(uow, entry)
