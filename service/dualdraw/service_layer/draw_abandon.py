"""Abandoning a draw: a live draw is retired with a reason code; it stays visible and counted."""

from __future__ import annotations

from dualdraw.domain import model
from dualdraw.domain.errors import FailedPrecondition
from dualdraw.service_layer.audit_events import record_event
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.draw_state import (
    ABANDONED,
    invalid,
)
from dualdraw.service_layer.ports import UnitOfWork

ABANDON_REASONS = (
    "DATA_ERROR",
    "RULES_ERROR",
    "ENTROPY_FAILED",
    "TASK_CHANGED",
    "ORDERED_BY_SUPERVISOR",
    "OTHER",
)


def abandon_draw(uow: UnitOfWork, *, draw_id: str, reason: str, note: str, caller: Caller) -> model.Draw:
    """Retires a live draw so that the task may be drawn again; the draw and this event stay visible."""
    if reason not in ABANDON_REASONS:
        raise invalid("reason", f"must be one of {', '.join(ABANDON_REASONS)}")
    if not note.strip():
        raise invalid("note", "say why the draw is abandoned")
    with uow:
        uow.lifecycle.lock_draw(draw_id)
        draw = require(uow.draws.get(draw_id), "draw", draw_id)
        if draw.state == ABANDONED:
            raise FailedPrecondition(f"draw {draw_id} is abandoned already", reason="DRAW_ABANDONED")
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
