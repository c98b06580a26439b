"""The public record of abandoned draws and re-draws (Art. 14: nothing withdrawn is hidden).

An abandoned draw is public from the moment it is abandoned, with its reason code, note and committed
manifest hash, beside the draw of its task that replaced it; re-draw statistics are public per department.
Like the rest of the public read model, nothing here shows an object's or an inspector's confidential data.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from dualdraw.domain.errors import NotFound
from dualdraw.domain.model import Draw
from dualdraw.domain.publication import DepartmentRedraws, PublicAbandonedDraw
from dualdraw.service_layer.entropy_policy import entropy_note
from dualdraw.service_layer.ports import PageRequest, UnitOfWork


def public_abandoned_draws(
    uow: UnitOfWork, *, task_id: str = "", department_id: str = ""
) -> list[PublicAbandonedDraw]:
    """Every abandoned draw (optionally of one task or one department), oldest first."""
    with uow:
        found = uow.lifecycle.abandoned_draws(task_id, department_id)
        return [_public(uow, d) for d in found]


def public_abandoned_draw(uow: UnitOfWork, draw_id: str) -> PublicAbandonedDraw:
    """One abandoned draw; ``NotFound`` for any draw that is not abandoned (live draws stay unpublished) or
    is a rehearsal (never published)."""
    with uow:
        draw = uow.draws.get(draw_id)
        if draw is None or draw.state != "abandoned" or draw.rehearsal:
            raise NotFound("abandoned draw", draw_id)
        return _public(uow, draw)


def _public(uow: UnitOfWork, draw: Draw) -> PublicAbandonedDraw:
    task = uow.tasks.get(draw.task_id)
    assert task is not None  # draws reference tasks by foreign key
    department = uow.directory.get_department(task.department_id)
    abandoned_at = next(
        (e.occurred_at for e in uow.audit.events_of(f"draws/{draw.id}") if e.action == "draw.abandon"), None
    )
    replaced_by = _next_draw(uow, draw)
    return PublicAbandonedDraw(
        draw_id=draw.id,
        task_id=task.id,
        task_title=task.title,
        item_code=task.item_code,
        department_id=task.department_id,
        department_name=department.name if department else "",
        drawn_at=draw.created_at,
        abandoned_at=abandoned_at,
        manifest_hash=draw.manifest_hash,
        seed=draw.seed,
        selected_count=draw.selected_count,
        reason=draw.state_reason,
        note=draw.state_note,
        replaced_by=replaced_by,
        replacement_published=bool(replaced_by) and uow.publications.latest(replaced_by) is not None,
        entropy_source=draw.entropy_source,
        entropy_note=entropy_note(draw),
    )


def _next_draw(uow: UnitOfWork, draw: Draw) -> str:
    """The task's first draw made after ``draw``, or ""."""
    later: list[Draw] = []
    after: str | None = None
    while True:
        page = uow.draws.list(PageRequest(size=200, after=after), task_id=draw.task_id)
        later.extend(d for d in page.items if (d.created_at, d.id) > (draw.created_at, draw.id))
        if page.next_after is None:
            break
        after = page.next_after
    return min(later, key=lambda d: (d.created_at, d.id)).id if later else ""


def redraw_statistics(uow: UnitOfWork) -> list[DepartmentRedraws]:
    """Per department that drew (by id): draws, abandoned draws by reason, tasks with an abandoned draw."""
    with uow:
        counts = uow.lifecycle.draws_per_department()
        reasons: dict[str, Counter[str]] = defaultdict(Counter)
        for draw in uow.lifecycle.abandoned_draws():
            task = uow.tasks.get(draw.task_id)
            assert task is not None
            reasons[task.department_id][draw.state_reason] += 1
        out = []
        for department_id, (draws, abandoned, redrawn) in sorted(counts.items()):
            department = uow.directory.get_department(department_id)
            out.append(
                DepartmentRedraws(
                    department_id=department_id,
                    department_name=department.name if department else "",
                    draws=draws,
                    abandoned=abandoned,
                    tasks_with_abandons=redrawn,
                    abandoned_by_reason=dict(reasons[department_id]),
                )
            )
    return out
