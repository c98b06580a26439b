"""Checking stored draws against their commitments: one draw (before publication) or every executed draw
(with the audit log). The rows are read back as stored; ``domain.draw.integrity`` re-derives the draw."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from dualdraw.domain.draw.integrity import Difference, StoredDraw, check_stored_draw
from dualdraw.domain.errors import FailedPrecondition
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.draw_policy import stored_object_plan
from dualdraw.service_layer.ports import PageRequest, UnitOfWork


def stored_draw(uow: UnitOfWork, draw_id: str) -> StoredDraw:
    """The rows of ``draw_id`` (inside an open unit of work); ``NotFound`` for an unknown draw."""
    record = require(uow.draws.get_record(draw_id), "draw", draw_id)
    salt_key, entries = require(uow.lifecycle.commitments(draw_id), "draw commitments", draw_id)
    return StoredDraw(
        draw=record.draw,
        salt_key=bytes.fromhex(salt_key),
        entries=entries,
        eligible_codes=record.eligible_codes,
        exclusions=record.exclusions,
        pool_lines=record.inspector_pool,
        assignments=record.assignments,
        substitutions=uow.lifecycle.substitutions(draw_id),
        plan=stored_object_plan(uow, record.draw),
    )


def require_draw_verifies(uow: UnitOfWork, draw_id: str) -> None:
    """Raises ``FailedPrecondition`` ``DRAW_DOES_NOT_VERIFY`` naming the first difference between the
    stored rows of ``draw_id`` and its commitments (inside an open unit of work)."""
    difference = check_stored_draw(stored_draw(uow, draw_id))
    if difference is not None:
        raise FailedPrecondition(
            f"draw {draw_id} does not verify against its commitments: {difference}",
            reason="DRAW_DOES_NOT_VERIFY",
            metadata={"draw_id": draw_id, "differs": difference.what, "at": difference.at},
        )


@dataclass(frozen=True)
class DrawVerdict:
    """The outcome of re-deriving every stored draw: how many were checked and the first that differs."""

    draws_checked: int
    draw_id: str = ""
    difference: Difference | None = None


def check_all_draws(uow: UnitOfWork) -> DrawVerdict:
    """Re-derives every executed or committed draw (oldest id first, one unit of work per draw) and stops
    at the first one whose rows differ from its commitments."""
    checked = 0
    for draw_id in _draw_ids(uow):
        with uow:
            difference = check_stored_draw(stored_draw(uow, draw_id))
        checked += 1
        if difference is not None:
            return DrawVerdict(checked, draw_id, difference)
    return DrawVerdict(checked)


def _draw_ids(uow: UnitOfWork) -> Iterator[str]:
    after: str | None = None
    while True:
        with uow:
            page = uow.draws.list(PageRequest(size=500, after=after))
        yield from (d.id for d in page.items)
        if page.next_after is None:
            return
        after = page.next_after
