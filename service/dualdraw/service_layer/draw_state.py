"""A draw's states and what the draw use cases share: the outcome, a repeated request, field errors."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from dualdraw.domain import model
from dualdraw.domain.draw.entropy import LOCAL_SECRET, EntropyProblem, local_commitment
from dualdraw.domain.errors import FailedPrecondition, NotFound
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.ports import DrawRecord, PageRequest, UnitOfWork

COMMITTED, EXECUTED, ABANDONED = "committed", "executed", "abandoned"


@dataclass(frozen=True)
class DrawOutcome:
    draw: model.Draw
    record: DrawRecord


def entropy_failure(exc: EntropyProblem) -> FailedPrecondition:
    """An entropy problem as the error a call gets (its reason kept)."""
    return FailedPrecondition(str(exc), reason=exc.reason)


def executed_draw_record(uow: UnitOfWork, draw_id: str) -> DrawRecord:
    """The stored record of ``draw_id`` for a follow-up draw on it (a substitution, an expert draw), with the
    draw row locked for the caller's transaction; ``NotFound``, or ``DRAW_NOT_EXECUTED`` unless executed."""
    uow.lifecycle.lock_draw(draw_id)
    record = uow.draws.get_record(draw_id)
    if record is None:
        raise NotFound("draw", draw_id)
    if record.draw.state != EXECUTED:
        raise FailedPrecondition(f"draw {draw_id} is {record.draw.state}", reason="DRAW_NOT_EXECUTED")
    return record


def new_local_secret_source() -> tuple[dict[str, Any], bytes]:
    """A fresh server secret and the ``local-secret`` declaration committing to it."""
    secret = secrets.token_bytes(32)
    return {"kind": LOCAL_SECRET, "commitment": local_commitment(secret)}, secret


def repeated_request(uow: UnitOfWork, draw_id: str, caller: Caller) -> DrawOutcome | None:
    """The stored outcome when ``caller`` repeats the request id that created ``draw_id`` (AIP-155)."""
    if not caller.request_id:
        return None
    events = uow.audit.list(PageRequest(size=1), resource=f"draws/{draw_id}").items
    if not events or events[0].request_id != caller.request_id:
        return None
    record = uow.draws.get_record(draw_id)
    return DrawOutcome(record.draw, record) if record is not None else None
