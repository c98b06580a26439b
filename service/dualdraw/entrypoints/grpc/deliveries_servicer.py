"""``DeliveryService``: where the outbox messages for the credit system and the event broker stand."""

from __future__ import annotations

import grpc

from dualdraw.domain.errors import invalid
from dualdraw.domain.outbox import DeliveryState, Destination, OutboxMessage
from dualdraw.entrypoints.grpc import convert
from dualdraw.entrypoints.grpc.pagination import next_page_token, page_request
from dualdraw.entrypoints.grpc.servicers import Services
from dualdraw.service_layer.delivery_status import delivery_summary, list_deliveries
from dualdraw.v1 import deliveries_pb2, deliveries_pb2_grpc

DESTINATIONS: dict[int, Destination] = {
    deliveries_pb2.DELIVERY_DESTINATION_CREDIT: Destination.CREDIT,
    deliveries_pb2.DELIVERY_DESTINATION_EVENTS: Destination.EVENTS,
}
DESTINATIONS_PB = {d: pb for pb, d in DESTINATIONS.items()}
STATES: dict[int, DeliveryState] = {
    deliveries_pb2.DELIVERY_STATE_PENDING: DeliveryState.PENDING,
    deliveries_pb2.DELIVERY_STATE_DELIVERED: DeliveryState.DELIVERED,
    deliveries_pb2.DELIVERY_STATE_FAILED: DeliveryState.FAILED,
}
STATES_PB = {s: pb for pb, s in STATES.items()}


def delivery_name(message: OutboxMessage) -> str:
    """``deliveries/{destination}-{audit sequence}``."""
    return f"deliveries/{message.destination.value}-{message.audit_sequence}"


def delivery_to_pb(message: OutboxMessage) -> deliveries_pb2.Delivery:
    out = deliveries_pb2.Delivery(
        name=delivery_name(message),
        destination=DESTINATIONS_PB[message.destination],  # type: ignore[arg-type]  # an int of the enum
        message_id=message.id,
        audit_sequence=message.audit_sequence,
        action=message.action,
        resource=message.resource,
        state=STATES_PB[message.state],  # type: ignore[arg-type]  # an int of the enum
        attempts=message.attempts,
        create_time=convert.timestamp(message.occurred_at),
        receipt=message.receipt,
        last_error=message.last_error,
    )
    if message.delivered_at is not None:
        out.deliver_time.CopyFrom(convert.timestamp(message.delivered_at))
    elif message.next_attempt_at is not None:
        out.next_attempt_time.CopyFrom(convert.timestamp(message.next_attempt_at))
    return out


def _destination(value: int, *, required: bool) -> Destination | None:
    if value == deliveries_pb2.DELIVERY_DESTINATION_UNSPECIFIED:
        if required:
            raise invalid("destination", "name the destination (CREDIT or EVENTS)", "FIELD_REQUIRED")
        return None
    if value not in DESTINATIONS:
        raise invalid("destination", f"unknown destination {value}", "ENUM_VALUE_UNKNOWN")
    return DESTINATIONS[value]


class DeliveryServicer(deliveries_pb2_grpc.DeliveryServiceServicer):
    def __init__(self, services: Services):
        self._s = services

    def ListDeliveries(
        self, request: deliveries_pb2.ListDeliveriesRequest, context: grpc.ServicerContext
    ) -> deliveries_pb2.ListDeliveriesResponse:
        destination = _destination(request.destination, required=True)
        assert destination is not None
        state: DeliveryState | None = None
        if request.state != deliveries_pb2.DELIVERY_STATE_UNSPECIFIED:
            if request.state not in STATES:
                raise invalid("state", f"unknown state {request.state}", "ENUM_VALUE_UNKNOWN")
            state = STATES[request.state]
        filters = (destination.value, state.value if state else "")
        page = list_deliveries(
            self._s.reader(),
            destination,
            page_request(request.page_size, request.page_token, *filters),
            state,
        )
        return deliveries_pb2.ListDeliveriesResponse(
            deliveries=[delivery_to_pb(m) for m in page.items],
            next_page_token=next_page_token(page.next_after, *filters),
        )

    def GetDeliverySummary(
        self, request: deliveries_pb2.GetDeliverySummaryRequest, context: grpc.ServicerContext
    ) -> deliveries_pb2.DeliverySummary:
        only = _destination(request.destination, required=False)
        destinations = [only] if only else [DESTINATIONS[pb] for pb in sorted(DESTINATIONS)]
        counts = delivery_summary(self._s.reader(), destinations)
        return deliveries_pb2.DeliverySummary(
            destinations=[
                deliveries_pb2.DestinationSummary(
                    destination=DESTINATIONS_PB[d],  # type: ignore[arg-type]  # an int of the enum
                    pending=counts[d][DeliveryState.PENDING],
                    delivered=counts[d][DeliveryState.DELIVERED],
                    failed=counts[d][DeliveryState.FAILED],
                )
                for d in destinations
            ]
        )
