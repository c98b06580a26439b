"""Domain events on a real NATS JetStream server: the outbox relay publishes each event once per id, in the
order of the audit log, the stream drops a message sent again, and a broker that is away only delays."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from dualdraw.adapters.event_broker import BrokerUnavailable, JetStreamEvents
from dualdraw.adapters.store import Store
from dualdraw.domain.outbox import DeliveryState, Destination, OutboxMessage
from dualdraw.entrypoints.cli.main import main
from dualdraw.entrypoints.grpc.server import create_server
from dualdraw.service_layer.audit_events import append_event
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.outbox_delivery import deliver_due
from dualdraw.service_layer.outbox_relay import OutboxRelay
from dualdraw.settings import Settings
from tests.e2e.conftest import RULES
from tests.e2e.server_processes import free_port
from tests.nats_broker import EventStream, event_stream, nats_url

__all__ = ["event_stream", "nats_url"]  # fixtures

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store.from_url(database_url)
    yield store
    store.dispose()


@pytest.fixture
def broker(event_stream: EventStream) -> Iterator[JetStreamEvents]:
    events = JetStreamEvents(
        event_stream.url,
        stream=event_stream.name,
        subject_prefix=event_stream.subject_prefix,
        instance="test",
    ).start()
    assert events.wait_ready(20)
    yield events
    events.close()


def record(store: Store, action: str, after: dict[str, object], resource: str = "draws/d-1") -> int:
    with store.unit_of_work() as uow:
        event = append_event(
            uow,
            Caller(actor="clerk", request_id="r-1", now=T0),
            action=action,
            resource=resource,
            after=after,
        )
        uow.commit()
    return event.sequence


def message(id: str = "events/7") -> OutboxMessage:
    return OutboxMessage(
        id=id,
        destination=Destination.EVENTS,
        audit_sequence=7,
        action="draw.execute",
        resource="draws/d-1",
        occurred_at=T0,
        actor="clerk",
        after_json=json.dumps({"draw_id": "d-1", "selected": ["a", "b"]}),
    )


def test_the_same_message_published_twice_is_one_stream_message(
    broker: JetStreamEvents, event_stream: EventStream
) -> None:
    first = broker.send(message())
    again = broker.send(message())
    assert first == f"{event_stream.name}:1"
    assert again == f"{event_stream.name}:1 duplicate"
    (only,) = event_stream.read(at_least=1)
    assert only.headers["Nats-Msg-Id"] == "events/7"
    assert only.headers["Content-Type"] == "application/cloudevents+json"
    assert only.subject == f"{event_stream.subject_prefix}.draw.executed"
    assert only.event["id"] == "events/7"
    assert only.event["source"] == "/dualdraw/test"
    assert only.event["type"] == "org.dualdraw.draw.executed.v1"
    assert only.event["data"]["selected_count"] == 2
    assert "selected" not in only.event["data"]


def test_the_stream_is_created_with_a_two_hour_duplicate_window(
    broker: JetStreamEvents, event_stream: EventStream
) -> None:
    broker.send(message())

    async def window() -> float:
        client = await nats.connect(event_stream.url)
        try:
            info = await client.jetstream().stream_info(event_stream.name)
            return float(info.config.duplicate_window or 0)
        finally:
            await client.close()

    assert asyncio.run(window()) == 7200.0


def test_the_relay_publishes_the_outbox_in_audit_order_and_keeps_the_receipts(
    store: Store, broker: JetStreamEvents, event_stream: EventStream
) -> None:
    commit = record(store, "draw.commit", {"draw_id": "d-1", "task_id": "t-1", "manifest_hash": "ab" * 32})
    record(store, "item.create", {"code": "X"}, "items/X")  # not a domain event for other services
    execute = record(store, "draw.execute", {"draw_id": "d-1", "task_id": "t-1", "selected": ["c"]})
    relay = OutboxRelay(store.unit_of_work, Destination.EVENTS, broker.send, interval_s=0.05).start()
    try:
        received = event_stream.read(at_least=2)
    finally:
        relay.close()
    assert [r.event["id"] for r in received] == [f"events/{commit}", f"events/{execute}"]
    assert [r.event["type"] for r in received] == [
        "org.dualdraw.draw.committed.v1",
        "org.dualdraw.draw.executed.v1",
    ]
    assert [r.event["auditsequence"] for r in received] == [commit, execute]
    with store.read_unit_of_work() as uow:
        stored = uow.outbox.get(f"events/{execute}")
        assert stored is not None
        assert stored.state is DeliveryState.DELIVERED
        assert stored.receipt == f"{event_stream.name}:2"


def test_a_broker_that_is_away_fails_at_once_and_the_event_waits_in_the_outbox(store: Store) -> None:
    sequence = record(store, "draw.abandon", {"draw_id": "d-1", "state": "abandoned", "reason": "X"})
    away = JetStreamEvents(f"nats://127.0.0.1:{free_port()}").start()
    try:
        started = time.monotonic()
        with pytest.raises(BrokerUnavailable):
            away.send(message())
        assert time.monotonic() - started < 1  # never holds the relay's transaction open
        done = deliver_due(store.unit_of_work(), Destination.EVENTS, away.send, lambda: T0)
        assert done.failed == 1
    finally:
        away.close()
    with store.read_unit_of_work() as uow:
        waiting = uow.outbox.get(f"events/{sequence}")
        assert waiting is not None
        assert waiting.state is DeliveryState.FAILED
        assert "not connected" in waiting.last_error


def test_while_the_broker_is_away_the_relay_leaves_events_waiting_without_counting_attempts(
    store: Store,
) -> None:
    sequence = record(store, "draw.commit", {"draw_id": "d-1", "task_id": "t-1"})
    away = JetStreamEvents(f"nats://127.0.0.1:{free_port()}").start()
    relay = OutboxRelay(
        store.unit_of_work, Destination.EVENTS, away.send, interval_s=0.05, ready=away.connected
    ).start()
    try:
        time.sleep(0.5)  # ten rounds' worth
    finally:
        relay.close()
        away.close()
    with store.read_unit_of_work() as uow:
        waiting = uow.outbox.get(f"events/{sequence}")
        assert waiting is not None
        assert (waiting.state, waiting.attempts) == (DeliveryState.PENDING, 0)


def test_events_tail_prints_the_stream_from_its_first_event(
    broker: JetStreamEvents, event_stream: EventStream, capsys: pytest.CaptureFixture[str]
) -> None:
    broker.send(message("events/7"))
    broker.send(message("events/8"))
    names = ["--url", event_stream.url, "--stream", event_stream.name]
    names += ["--subject-prefix", event_stream.subject_prefix]
    assert main(["events", "tail", *names, "--all", "--limit", "2", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["events/7", "events/8"]
    assert main(["events", "tail", *names, "--all", "--wait", "1"]) == 0  # stops when nothing more comes
    text = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[1:4] for line in text] == [
        ["org.dualdraw.draw.executed.v1", "draws/d-1", "events/7"],
        ["org.dualdraw.draw.executed.v1", "draws/d-1", "events/8"],
    ]


def test_events_tail_says_when_the_broker_or_the_stream_is_not_there(
    event_stream: EventStream, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events", "tail", "--url", f"nats://127.0.0.1:{free_port()}"]) == 2
    assert "cannot reach the event broker" in capsys.readouterr().err
    assert main(["events", "tail", "--url", event_stream.url, "--stream", event_stream.name]) == 2
    assert f"no stream {event_stream.name}" in capsys.readouterr().err


def test_a_server_refuses_to_start_with_an_events_url_that_is_not_nats(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'dualdraw.db'}",
        rules_path=RULES,
        address="127.0.0.1:0",
        auth="off",
        events_url="http://127.0.0.1:4222",
    )
    with pytest.raises(ValueError, match="DUALDRAW_EVENTS_URL must be a NATS server URL"):
        create_server(settings)
