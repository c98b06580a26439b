"""Messages for other systems (``OutboxRepository``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from dualdraw.adapters.store.repositories.base import SqlRepository, int_after, keyset_page
from dualdraw.adapters.store.rows import OUTBOX, Row
from dualdraw.domain.outbox import DeliveryState, Destination, OutboxMessage
from dualdraw.service_layer.ports import Page, PageRequest


def _values(m: OutboxMessage) -> dict[str, object]:
    return {
        "id": m.id,
        "destination": m.destination.value,
        "audit_sequence": m.audit_sequence,
        "action": m.action,
        "resource": m.resource,
        "occurred_at": m.occurred_at,
        "actor": m.actor,
        "after_json": m.after_json,
        "attempts": m.attempts,
        "next_attempt_at": m.next_attempt_at or m.occurred_at,
        "delivered_at": m.delivered_at,
        "receipt": m.receipt,
        "last_error": m.last_error,
    }


def _message(r: Row) -> OutboxMessage:
    return OutboxMessage(
        id=r.id,
        destination=Destination(r.destination),
        audit_sequence=r.audit_sequence,
        action=r.action,
        resource=r.resource,
        occurred_at=r.occurred_at,
        actor=r.actor,
        after_json=r.after_json,
        attempts=r.attempts,
        next_attempt_at=r.next_attempt_at,
        delivered_at=r.delivered_at,
        receipt=r.receipt,
        last_error=r.last_error,
    )


def _in_state(state: DeliveryState) -> sa.ColumnElement[bool]:
    if state is DeliveryState.DELIVERED:
        return OUTBOX.c.delivered_at.is_not(None)
    failed = OUTBOX.c.last_error != ""
    return sa.and_(OUTBOX.c.delivered_at.is_(None), failed if state is DeliveryState.FAILED else ~failed)


class SqlOutboxRepository(SqlRepository):
    def add(self, messages: Sequence[OutboxMessage]) -> None:
        if messages:
            self._connection.execute(sa.insert(OUTBOX), [_values(m) for m in messages])

    def due(self, destination: Destination, now: dt.datetime, limit: int) -> list[OutboxMessage]:
        stmt = (
            sa.select(OUTBOX)
            .where(
                OUTBOX.c.destination == destination.value,
                OUTBOX.c.delivered_at.is_(None),
                OUTBOX.c.next_attempt_at <= now,
            )
            .order_by(OUTBOX.c.audit_sequence)
            .limit(limit)
        )
        if self._connection.dialect.name == "postgresql":  # SQLite has one writer: nothing to skip
            stmt = stmt.with_for_update(skip_locked=True)
        return [_message(r) for r in self._connection.execute(stmt)]

    def lease(self, id: str, until: dt.datetime) -> None:
        self._connection.execute(
            sa.update(OUTBOX)
            .where(OUTBOX.c.id == id, OUTBOX.c.delivered_at.is_(None))
            .values(next_attempt_at=until)
        )

    def delivered(self, id: str, at: dt.datetime, receipt: str) -> None:
        self._connection.execute(
            sa.update(OUTBOX)
            .where(OUTBOX.c.id == id, OUTBOX.c.delivered_at.is_(None))
            .values(delivered_at=at, receipt=receipt, last_error="", attempts=OUTBOX.c.attempts + 1)
        )

    def failed(self, id: str, error: str, next_attempt_at: dt.datetime) -> None:
        self._connection.execute(
            sa.update(OUTBOX)
            .where(OUTBOX.c.id == id, OUTBOX.c.delivered_at.is_(None))
            .values(
                last_error=error or "failed", next_attempt_at=next_attempt_at, attempts=OUTBOX.c.attempts + 1
            )
        )

    def get(self, id: str) -> OutboxMessage | None:
        return self._get(OUTBOX, id, _message)

    def counts(self, destination: Destination) -> dict[DeliveryState, int]:
        counts: dict[DeliveryState, int] = {}
        for state in DeliveryState:
            stmt = (
                sa.select(sa.func.count())
                .select_from(OUTBOX)
                .where(OUTBOX.c.destination == destination.value, _in_state(state))
            )
            counts[state] = int(self._connection.execute(stmt).scalar_one())
        return counts

    def list(
        self, destination: Destination, page: PageRequest, state: DeliveryState | None = None
    ) -> Page[OutboxMessage]:
        stmt = sa.select(OUTBOX).where(OUTBOX.c.destination == destination.value)
        if state is not None:
            stmt = stmt.where(_in_state(state))
        after = int_after(page)
        items, last = keyset_page(self._connection, stmt, OUTBOX.c.audit_sequence, page, _message, after)
        return Page(items, None if last is None else str(last.audit_sequence))
