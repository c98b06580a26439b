"""Delivering outbox messages (``dualdraw.domain.outbox``): one message at a time, at least once.

A sender takes a message and returns the receiver's receipt, or raises to say the attempt failed; the message
is then retried after ``retry_delay``. No transaction is open while a message is sent (a slow receiver must
not hold SQLite's write lock, nor a PostgreSQL connection idle in a transaction): a short transaction leases
the message (its next attempt moves to the end of the lease, so other relays skip it), the send follows, and
a second transaction marks the outcome. A crash between a successful send and the mark sends the message
again once the lease has run out — receivers drop the duplicate by the message id — so nothing is ever lost,
and each message is marked delivered exactly once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from dualdraw.domain.outbox import Destination, OutboxMessage, retry_delay
from dualdraw.service_layer.ports import UnitOfWork

log = logging.getLogger(__name__)

Sender = Callable[[OutboxMessage], str]
ERROR_TEXT_LIMIT = 500  # characters of a failure kept on the message (the log has it in full)
LEASE = dt.timedelta(
    minutes=5
)  # longer than any sender's timeout: no other relay sends the message meanwhile


def lease_for(send_timeout_s: float) -> dt.timedelta:
    """A lease outlasting one attempt that gives up after ``send_timeout_s`` (twice it, plus 5 s): no other
    relay sends the message meanwhile, and a message leased by a server that died is sent again seconds
    after a restart, not minutes."""
    return dt.timedelta(seconds=2 * send_timeout_s + 5)


@dataclass(frozen=True)
class DeliveryRound:
    """What one call of ``deliver_due`` did."""

    delivered: int = 0
    failed: int = 0

    @property
    def idle(self) -> bool:
        return not self.delivered and not self.failed


def deliver_due(
    uow: UnitOfWork,
    destination: Destination,
    send: Sender,
    now: Callable[[], dt.datetime],
    limit: int = 100,
    lease: dt.timedelta = LEASE,
) -> DeliveryRound:
    """Sends up to ``limit`` due messages of ``destination``, oldest event first, each leased for ``lease``
    in a transaction of its own and marked in another, with no transaction open while it is sent."""
    delivered = failed = 0
    for _ in range(limit):
        with uow:
            due = uow.outbox.due(destination, now(), 1)
            if not due:
                break
            (message,) = due
            uow.outbox.lease(message.id, now() + lease)
            uow.commit()
        try:
            receipt = send(message)
        except Exception as exc:  # any failure of the receiver or the way there: retry later
            log.warning("outbox %s: attempt %d failed: %s", message.id, message.attempts + 1, exc)
            error = f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_LIMIT]
            with uow:
                uow.outbox.failed(message.id, error, now() + retry_delay(message.attempts + 1))
                uow.commit()
            failed += 1
        else:
            with uow:
                uow.outbox.delivered(message.id, now(), receipt)
                uow.commit()
            delivered += 1
    return DeliveryRound(delivered, failed)
