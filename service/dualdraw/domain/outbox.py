"""Messages for other systems, born from audit events: which event goes where, and when to try again.

The transactional outbox holds one message per (destination, audit event) routed there, written in the same
transaction as the change and its audit event, so a change is never committed without its messages nor a
message sent for a change that was rolled back. A relay delivers them later, at least once; the message
id ``<destination>/<audit sequence>`` is stable across retries and restarts: receivers drop duplicates by it.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from dualdraw.domain.model import AuditEvent


class Destination(enum.StrEnum):
    """Where outbox messages go."""

    EVENTS = "events"  # the message broker other bureau services subscribe to (CloudEvents)
    CREDIT = "credit"  # the credit-information system, which acknowledges each record with a receipt


# Audit actions routed to each destination: an action matches an entry equal to it, or an entry ending in "."
# that it starts with. Reads, refusals and internal bookkeeping are never routed.
ROUTES: dict[Destination, tuple[str, ...]] = {
    Destination.EVENTS: (
        "plan.publish",
        "plan.amend",
        "draw.commit",
        "draw.execute",
        "draw.abandon",
        "result.",
        "results.publish",
        "follow_up.",
        "objection.",
        "directory_filing.",
    ),
    Destination.CREDIT: ("result.", "follow_up.close", "objection.decide"),
}

FIRST_RETRY = dt.timedelta(seconds=5)
LAST_RETRY = dt.timedelta(hours=1)


class DeliveryState(enum.StrEnum):
    """Where a message stands: waiting for its (next) attempt, delivered, or given up after failures."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # still retried; the state says the last attempt failed


@dataclass(frozen=True)
class OutboxMessage:
    """One message for one destination, as stored."""

    id: str  # "<destination>/<audit sequence>"
    destination: Destination
    audit_sequence: int
    action: str
    resource: str
    occurred_at: dt.datetime
    actor: str
    after_json: str  # the audit event's "after" snapshot: the relay shapes its message from it
    attempts: int = 0
    next_attempt_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    receipt: str = ""  # what the receiver answered on delivery (a receipt number, a broker sequence)
    last_error: str = ""

    @property
    def state(self) -> DeliveryState:
        if self.delivered_at is not None:
            return DeliveryState.DELIVERED
        return DeliveryState.FAILED if self.last_error else DeliveryState.PENDING


def routed(action: str, destination: Destination) -> bool:
    """Whether audit events of ``action`` are sent to ``destination``."""
    return any(action == r or (r.endswith(".") and action.startswith(r)) for r in ROUTES[destination])


def messages_for(event: AuditEvent) -> list[OutboxMessage]:
    """The outbox messages an audit event gives rise to (none for most)."""
    return [
        OutboxMessage(
            id=f"{destination.value}/{event.sequence}",
            destination=destination,
            audit_sequence=event.sequence,
            action=event.action,
            resource=event.resource,
            occurred_at=event.occurred_at,
            actor=event.actor,
            after_json=event.after_json,
            next_attempt_at=event.occurred_at,
        )
        for destination in Destination
        if routed(event.action, destination)
    ]


def retry_delay(attempts: int) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failed attempt: doubling from 5 s, at most an hour."""
    if attempts < 1:
        return dt.timedelta(0)
    delay: dt.timedelta = FIRST_RETRY * 2 ** min(attempts - 1, 20)
    return min(delay, LAST_RETRY)
