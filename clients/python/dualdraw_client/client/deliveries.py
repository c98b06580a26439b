"""Deliveries to other systems (DeliveryService): where the outbox messages for the credit system and the
event broker stand."""

from __future__ import annotations

from collections.abc import Iterator

from dualdraw.v1 import deliveries_pb2, deliveries_pb2_grpc

from .base import ClientBase

DESTINATIONS = {
    "credit": deliveries_pb2.DELIVERY_DESTINATION_CREDIT,
    "events": deliveries_pb2.DELIVERY_DESTINATION_EVENTS,
}
STATES = {
    "pending": deliveries_pb2.DELIVERY_STATE_PENDING,
    "delivered": deliveries_pb2.DELIVERY_STATE_DELIVERED,
    "failed": deliveries_pb2.DELIVERY_STATE_FAILED,
}


class DeliveryCalls(ClientBase):
    """The delivery status of the credit push (Art. 13) and of the event broker."""

    @property
    def _deliveries(self) -> deliveries_pb2_grpc.DeliveryServiceStub:
        return deliveries_pb2_grpc.DeliveryServiceStub(self._channel)

    def delivery_summary(self, destination: str = "") -> deliveries_pb2.DeliverySummary:
        """Messages pending, delivered and failed, per destination (``"credit"``, ``"events"``; "": all)."""
        request = deliveries_pb2.GetDeliverySummaryRequest(
            destination=DESTINATIONS[destination]
            if destination
            else deliveries_pb2.DELIVERY_DESTINATION_UNSPECIFIED
        )
        return self._call(self._deliveries.GetDeliverySummary, request)

    def list_deliveries(
        self, destination: str, *, state: str = "", page_size: int = 0, page_token: str = ""
    ) -> deliveries_pb2.ListDeliveriesResponse:
        """One page of a destination's messages (in ``state``: ``pending``, ``delivered``, ``failed``)."""
        request = deliveries_pb2.ListDeliveriesRequest(
            destination=DESTINATIONS[destination],
            state=STATES[state] if state else deliveries_pb2.DELIVERY_STATE_UNSPECIFIED,
            page_size=page_size,
            page_token=page_token,
        )
        return self._call(self._deliveries.ListDeliveries, request)

    def iter_deliveries(
        self, destination: str, *, state: str = "", page_size: int = 0
    ) -> Iterator[deliveries_pb2.Delivery]:
        """Every message of a destination (in ``state``), oldest event first, following page tokens."""
        return self._follow(
            lambda token: self.list_deliveries(
                destination, state=state, page_size=page_size, page_token=token
            ),
            lambda page: page.deliveries,
        )
