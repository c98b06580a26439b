"""Item checklists (Art. 4, 11): revisions bound to a published item version, validated and audited."""

from __future__ import annotations

import datetime as dt

from dualdraw.domain.checklists import Checklist, ChecklistRevision, checklist_problems
from dualdraw.domain.errors import FailedPrecondition, NotFound, Violations
from dualdraw.service_layer.audit_events import record_event
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.ports import UnitOfWork

MAX_REASON = 1000


def revision_resource(item_code: str, revision: int) -> str:
    return f"items/{item_code}/checklist/revisions/{revision}"


def set_checklist(
    uow: UnitOfWork,
    *,
    item_code: str,
    checklist: Checklist,
    item_version: int,
    effective_from: dt.date | None,
    change_reason: str,
    caller: Caller,
) -> ChecklistRevision:
    """Stores the next revision of ``item_code``'s checklist for its published ``item_version`` (0: the
    latest published version), in force from ``effective_from`` (``None``: today, Asia/Shanghai).

    A revision takes effect no earlier than the day it is made, nor before the previous revision for the
    same item version; every revision after the first says why it was made.
    """
    v = Violations()
    v.items.extend(checklist_problems(checklist))
    today = caller.today()
    day = effective_from or today
    if day < today:
        v.add(
            "checklist.effective_date",
            f"must not be before today {today} (Asia/Shanghai): what was in force on a past day stays",
            reason="DATE_ORDER",
        )
    if len(change_reason) > MAX_REASON:
        v.add("checklist.change_reason", f"at most {MAX_REASON} characters", reason="VALUE_TOO_LONG")
    with uow:
        if uow.items.get(item_code) is None:
            raise NotFound("inspection item", item_code)
        versions = uow.item_versions.history(item_code)
        if not versions:
            raise FailedPrecondition(
                f"item {item_code} has no published version: publish the item list first (Art. 5)",
                reason="ITEM_NOT_PUBLISHED",
                metadata={"item_code": item_code},
            )
        version = item_version or versions[-1].version
        if version not in {iv.version for iv in versions}:
            v.add(
                "checklist.item_version",
                f"item {item_code} has no published version {version}",
                reason="UNKNOWN_ITEM",
            )
        history = uow.checklists.history(item_code)
        previous = history[-1] if history else None
        same_version = [r for r in history if r.item_version == version]
        if same_version and day < same_version[-1].effective_from:
            v.add(
                "checklist.effective_date",
                f"must not be before revision {same_version[-1].revision} "
                f"({same_version[-1].effective_from})",
                reason="DATE_ORDER",
            )
        if previous is not None and not change_reason.strip():
            v.add("checklist.change_reason", "say why the checklist is revised", reason="FIELD_REQUIRED")
        if (
            same_version
            and same_version[-1].checklist == checklist
            and same_version[-1].effective_from == day
        ):
            v.add("checklist", "is identical to the current revision", reason="NO_CHANGE")
        v.raise_if_any()
        revision = ChecklistRevision(
            item_code=item_code,
            revision=(previous.revision + 1) if previous else 1,
            item_version=version,
            effective_from=day,
            checklist=checklist,
            change_reason=change_reason.strip(),
            published_at=caller.now,
            published_by=caller.actor,
        )
        uow.checklists.add(revision)
        record_event(
            uow,
            caller,
            action="checklist.revise" if previous else "checklist.create",
            resource=revision_resource(item_code, revision.revision),
            before=previous,
            after=revision,
        )
        uow.commit()
    return revision


def checklist_history(uow: UnitOfWork, item_code: str) -> list[ChecklistRevision]:
    """Every revision of an item's checklist, oldest first (``NotFound`` when it has none)."""
    with uow:
        history = uow.checklists.history(item_code)
    if not history:
        raise NotFound("checklist", f"items/{item_code}/checklist")
    return history


def get_checklist(uow: UnitOfWork, item_code: str, revision: int = 0) -> ChecklistRevision:
    """One revision (0: the latest)."""
    history = checklist_history(uow, item_code)
    if not revision:
        return history[-1]
    for held in history:
        if held.revision == revision:
            return held
    raise NotFound("checklist revision", f"items/{item_code}/checklist@{revision}")
