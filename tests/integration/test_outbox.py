"""The transactional outbox on SQLite and PostgreSQL: messages are written with their audit event or not at
all, delivered at least once with a stable id, retried with growing delays, and each marked delivered once."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest

from dualdraw.adapters.store import Store
from dualdraw.domain.outbox import DeliveryState, Destination, OutboxMessage, retry_delay, routed
from dualdraw.service_layer.audit_events import record_event
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.outbox_delivery import deliver_due
from dualdraw.service_layer.outbox_relay import OutboxRelay
from dualdraw.service_layer.ports import PageRequest

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store.from_url(database_url)
    yield store
    store.dispose()


def caller(at: dt.datetime = T0) -> Caller:
    return Caller(actor="clerk", request_id="r-1", now=at)


def record(store: Store, action: str, *, commit: bool = True) -> int:
    """Records an event as a use case does (staged, appended by the commit); the log's size after it."""
    with store.unit_of_work() as uow:
        record_event(uow, caller(), action=action, resource="draws/d-1", after={"id": "d-1"})
        if commit:
            uow.commit()
    with store.read_unit_of_work() as uow:
        return len(uow.audit.leaf_hashes())


def pending(store: Store, destination: Destination) -> list[OutboxMessage]:
    with store.read_unit_of_work() as uow:
        return uow.outbox.list(destination, PageRequest(100)).items


def test_routes_send_domain_events_out_and_keep_the_rest_in() -> None:
    assert routed("draw.execute", Destination.EVENTS)
    assert routed("result.correct", Destination.EVENTS)
    assert routed("result.correct", Destination.CREDIT)
    assert routed("follow_up.close", Destination.CREDIT)
    assert not routed("draw.execute", Destination.CREDIT)
    assert not routed("access.denied", Destination.EVENTS)
    assert not routed("directory.import", Destination.EVENTS)
    assert not routed("resultx", Destination.EVENTS)


def test_retry_delays_double_up_to_an_hour() -> None:
    assert [retry_delay(n).total_seconds() for n in range(1, 5)] == [5, 10, 20, 40]
    assert retry_delay(40) == dt.timedelta(hours=1)


def test_a_routed_event_writes_one_message_per_destination_in_its_transaction(store: Store) -> None:
    sequence = record(store, "result.record")
    record(store, "item.create")  # not routed anywhere
    events, credit = pending(store, Destination.EVENTS), pending(store, Destination.CREDIT)
    assert [m.id for m in events] == [f"events/{sequence}"]
    assert [m.id for m in credit] == [f"credit/{sequence}"]
    assert events[0].after_json == '{"id":"d-1"}'
    assert events[0].state is DeliveryState.PENDING


def test_a_rolled_back_change_leaves_no_message(store: Store) -> None:
    record(store, "draw.execute", commit=False)
    assert pending(store, Destination.EVENTS) == []


def test_delivery_marks_each_message_once_and_keeps_the_receipt(store: Store) -> None:
    first, second = record(store, "draw.commit"), record(store, "draw.execute")
    sent: list[str] = []

    def send(message: OutboxMessage) -> str:
        sent.append(message.id)
        return f"receipt-{message.audit_sequence}"

    done = deliver_due(store.unit_of_work(), Destination.EVENTS, send, lambda: T0 + dt.timedelta(seconds=1))
    assert (done.delivered, done.failed) == (2, 0)
    assert sent == [f"events/{first}", f"events/{second}"]  # in the order of the log
    again = deliver_due(store.unit_of_work(), Destination.EVENTS, send, lambda: T0 + dt.timedelta(hours=2))
    assert again.idle
    assert len(sent) == 2
    with store.read_unit_of_work() as uow:
        stored = uow.outbox.get(f"events/{first}")
        assert stored is not None
        assert stored.receipt == f"receipt-{first}"
        assert stored.state is DeliveryState.DELIVERED
        assert stored.attempts == 1
        assert uow.outbox.counts(Destination.EVENTS)[DeliveryState.DELIVERED] == 2


def test_a_failed_attempt_is_retried_after_its_delay_and_then_delivered(store: Store) -> None:
    sequence = record(store, "result.record")
    answers: list[Exception | str] = [ConnectionError("receiver down"), "ok-1"]

    def send(message: OutboxMessage) -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert deliver_due(store.unit_of_work(), Destination.CREDIT, send, lambda: T0).failed == 1
    with store.read_unit_of_work() as uow:
        failed = uow.outbox.get(f"credit/{sequence}")
        assert failed is not None
        assert failed.state is DeliveryState.FAILED
        assert "receiver down" in failed.last_error
        assert failed.next_attempt_at == T0 + retry_delay(1)
        assert uow.outbox.counts(Destination.CREDIT)[DeliveryState.FAILED] == 1
    too_early = T0 + retry_delay(1) - dt.timedelta(seconds=1)
    assert deliver_due(store.unit_of_work(), Destination.CREDIT, send, lambda: too_early).idle
    later = deliver_due(store.unit_of_work(), Destination.CREDIT, send, lambda: T0 + retry_delay(1))
    assert later.delivered == 1
    with store.read_unit_of_work() as uow:
        done = uow.outbox.get(f"credit/{sequence}")
        assert done is not None
        assert done.state is DeliveryState.DELIVERED
        assert done.attempts == 2
        assert done.last_error == ""
        assert done.receipt == "ok-1"
        only_failed = uow.outbox.list(Destination.CREDIT, PageRequest(10), DeliveryState.FAILED)
        assert only_failed.items == []


def test_the_relay_delivers_in_the_background_and_stops_cleanly(store: Store) -> None:
    sequence = record(store, "draw.execute")
    sent = threading.Event()

    def send(message: OutboxMessage) -> str:
        sent.set()
        return "ok"

    relay = OutboxRelay(store.unit_of_work, Destination.EVENTS, send, interval_s=0.05).start()
    try:
        assert sent.wait(10)
    finally:
        relay.close()
    with store.read_unit_of_work() as uow:
        message = uow.outbox.get(f"events/{sequence}")
        assert message is not None
        assert message.state is DeliveryState.DELIVERED
