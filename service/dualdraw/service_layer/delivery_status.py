"""Where the messages for other systems stand (the outbox, ``dualdraw.domain.outbox``): read-only."""

from __future__ import annotations

from collections.abc import Sequence

from dualdraw.domain.outbox import DeliveryState, Destination, OutboxMessage
from dualdraw.service_layer.ports import Page, PageRequest, UnitOfWork


def list_deliveries(
    uow: UnitOfWork, destination: Destination, page: PageRequest, state: DeliveryState | None = None
) -> Page[OutboxMessage]:
    """The messages of ``destination`` (in ``state`` when given), in the order of the audit log."""
    with uow:
        return uow.outbox.list(destination, page, state)


def delivery_summary(
    uow: UnitOfWork, destinations: Sequence[Destination]
) -> dict[Destination, dict[DeliveryState, int]]:
    """The number of messages in each state, per destination, read in one transaction."""
    with uow:
        return {destination: uow.outbox.counts(destination) for destination in destinations}
