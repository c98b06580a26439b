"""Abandoning a draw: a live draw is retired with a reason code from a closed list; it stays visible (in
the public API and on the public site, beside the draw that replaced it) and counted. A task may be
abandoned at most ``max_abandons`` times (``DUALDRAW_MAX_ABANDONS_PER_TASK``, default 1): a re-draw is an
exception to be explained, not a way to roll again until the selection suits.

The cap is per task, and so per plan entry and period: one task holds an entry's period (``tasks.plan_slot``
is unique), a second task for it is refused, so the period's draws are that task's draws. A rehearsal holds
no period, counts nowhere and is never published; a task outside a plan exists only where the plan is not
required (``DUALDRAW_PLAN_REQUIRED=off``)."""

from __future__ import annotations

from dualdraw.domain import model
from dualdraw.domain.errors import FailedPrecondition, invalid
from dualdraw.service_layer.audit_events import record_event
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.draw_state import ABANDONED
from dualdraw.service_layer.ports import UnitOfWork

ABANDON_REASONS = (
    "DATA_ERROR",
    "RULES_ERROR",
    "ENTROPY_FAILED",
    "TASK_CHANGED",
    "ORDERED_BY_SUPERVISOR",
    "OTHER",
)
"""The closed list of reasons a draw may be abandoned for (docs/DRAW-ALGORITHM.md §3)."""

DEFAULT_MAX_ABANDONS_PER_TASK = 1


def abandon_draw(
    uow: UnitOfWork,
    *,
    draw_id: str,
    reason: str,
    note: str,
    caller: Caller,
    max_abandons: int = DEFAULT_MAX_ABANDONS_PER_TASK,
) -> model.Draw:
    """Retires a live draw so that the task may be drawn again; the draw and this event stay visible.

    ``InvalidArgument`` for a reason outside ``ABANDON_REASONS`` or an empty note; ``FailedPrecondition``
    ``ABANDON_LIMIT_REACHED`` when the task's draws were abandoned ``max_abandons`` times already (nothing
    written), ``DRAW_ABANDONED`` for a draw abandoned already."""
    if reason not in ABANDON_REASONS:
        raise invalid("reason", f"must be one of {', '.join(ABANDON_REASONS)}", "ENUM_VALUE_UNKNOWN")
    if not note.strip():
        raise invalid("note", "say why the draw is abandoned", "FIELD_REQUIRED")
    with uow:
        uow.lifecycle.lock_draw(draw_id)
        draw = require(uow.draws.get(draw_id), "draw", draw_id)
        if draw.state == ABANDONED:
            raise FailedPrecondition(f"draw {draw_id} is abandoned already", reason="DRAW_ABANDONED")
        done = uow.lifecycle.abandoned_of_task(draw.task_id)
        if done >= max_abandons:
            task = uow.tasks.get(draw.task_id)
            slot = task.plan_slot if task is not None else None
            held = f" (plan entry period {slot})" if slot else ""
            raise FailedPrecondition(
                f"task {draw.task_id}{held} had {done} draw(s) abandoned already, the most this service "
                f"allows (DUALDRAW_MAX_ABANDONS_PER_TASK={max_abandons}); its draw {draw_id} stands",
                reason="ABANDON_LIMIT_REACHED",
                metadata={
                    "task_id": draw.task_id,
                    "abandoned": str(done),
                    "limit": str(max_abandons),
                    **({"plan_slot": slot} if slot else {}),
                },
            )
        uow.lifecycle.abandon(draw_id, draw.task_id, reason, note.strip())
        record_event(
            uow,
            caller,
            action="draw.abandon",
            resource=f"draws/{draw_id}",
            before={"state": draw.state},
            after={
                "draw_id": draw_id,
                "task_id": draw.task_id,
                "state": ABANDONED,
                "reason": reason,
                "note": note.strip(),
            },
        )
        uow.commit()
        return require(uow.draws.get(draw_id), "draw", draw_id)
