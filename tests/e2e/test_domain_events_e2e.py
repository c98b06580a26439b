"""Domain events reach a NATS JetStream consumer end to end, exactly once per id, even across kill -9.

A draw through gRPC arrives as ``draw.committed`` then ``draw.executed`` with the ids of its audit events.
Then ``dualdraw serve`` as a subprocess is killed (SIGKILL) twice over: once while its events are committed
but cannot be sent (the broker URL names a port where nothing listens), and once right after publishing an
event and before marking it delivered (crash point ``events.after_publish``); restarted with the broker,
it sends what was left, the stream drops the copy sent again, and the consumer sees each id exactly once.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest

from dualdraw.adapters.store.unit_of_work import Store
from dualdraw.domain.outbox import DeliveryState, Destination, OutboxMessage
from dualdraw.entrypoints.grpc.server import create_server
from dualdraw.service_layer.demo_directory import DEMO_AS_OF
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.service_layer.ports import PageRequest
from dualdraw.settings import Settings
from dualdraw_client import DualdrawClient
from dualdraw_client.errors import DualdrawError
from tests.e2e.conftest import RULES
from tests.e2e.server_processes import free_port, server_process, wait_serving
from tests.e2e.test_crash_e2e import demo_task, demo_url
from tests.nats_broker import EventStream, event_stream, nats_url

__all__ = ["event_stream", "nats_url"]  # fixtures

pytestmark = pytest.mark.slow


def outbox(url: str) -> list[OutboxMessage]:
    store = Store.from_url(url)
    try:
        with store.read_unit_of_work() as uow:
            return uow.outbox.list(Destination.EVENTS, PageRequest(1000)).items
    finally:
        store.dispose()


def wait_delivered(url: str, timeout_s: float = 60) -> list[OutboxMessage]:
    """The EVENTS messages once every one is delivered (fails after ``timeout_s``)."""
    give_up = time.monotonic() + timeout_s
    while True:
        messages = outbox(url)
        if messages and all(m.state is DeliveryState.DELIVERED for m in messages):
            return messages
        if time.monotonic() > give_up:
            pytest.fail(f"events not delivered in {timeout_s} s: {[(m.id, m.last_error) for m in messages]}")
        time.sleep(0.2)


@contextmanager
def serving(
    url: str, events_url: str, stream: EventStream, crash_at: str = ""
) -> Iterator[tuple[subprocess.Popen[bytes], DualdrawClient]]:
    """A ``dualdraw serve`` subprocess on ``url`` sending events to ``events_url`` (``stream``'s names)."""
    settings = {
        "DUALDRAW_EVENTS_URL": events_url,
        "DUALDRAW_EVENTS_STREAM": stream.name,
        "DUALDRAW_EVENTS_SUBJECT_PREFIX": stream.subject_prefix,
        "DUALDRAW_EVENTS_INTERVAL_S": "0.2",
    }
    with server_process(url, settings, crash_at=crash_at) as (process, target):
        wait_serving(target)
        with DualdrawClient(target, actor="events-tester", timeout=60) as client:
            yield process, client


def exactly_once(stream: EventStream, messages: list[OutboxMessage]) -> None:
    """The stream holds each outbox message's event once, in the order of the audit log."""
    received = stream.read(at_least=len(messages))
    counts = Counter(r.event["id"] for r in received)
    assert counts == Counter(m.id for m in messages), counts
    assert [r.event["auditsequence"] for r in received] == sorted(m.audit_sequence for m in messages)
    assert all(r.headers["Nats-Msg-Id"] == r.event["id"] for r in received)


def test_a_draw_through_grpc_arrives_as_committed_then_executed_with_the_audit_ids(
    database_url: str, event_stream: EventStream
) -> None:
    settings = Settings(
        database_url=database_url,
        rules_path=RULES,
        address="127.0.0.1:0",
        auth="off",
        allow_local_entropy=True,
        draw_process="off",
        events_url=event_stream.url,
        events_stream=event_stream.name,
        events_subject_prefix=event_stream.subject_prefix,
        events_instance="e2e",
        events_interval_s=0.1,
    )
    running = create_server(settings)
    try:
        assert len(running.relays) == 1
        load_demo(running.services.unit_of_work)
        with DualdrawClient(f"127.0.0.1:{running.port}", actor="e2e-tester", timeout=60) as client:
            draw = client.draw(demo_task(client).id, DEMO_AS_OF)
            audit = list(client.iter_audit_events(resource=f"draws/{draw.id}"))
        received = event_stream.read(at_least=2)
    finally:
        running.stop(grace=1)
    assert [e.action for e in audit] == ["draw.commit", "draw.execute"]
    draw_events = [r.event for r in received if r.event["subject"] == f"draws/{draw.id}"]
    assert [e["id"] for e in draw_events] == [f"events/{e.sequence}" for e in audit]
    assert [e["type"] for e in draw_events] == [
        "org.dualdraw.draw.committed.v1",
        "org.dualdraw.draw.executed.v1",
    ]
    assert all(e["source"] == "/dualdraw/e2e" for e in draw_events)
    committed, executed = (e["data"] for e in draw_events)
    assert committed["task_id"] == executed["task_id"] == draw.task_id
    assert committed["manifest_hash"] == draw.manifest_hash
    assert executed["selected_count"] == draw.selected_count > 0
    assert not {"selected", "seed", "entropy"} & executed.keys()


def test_events_committed_but_not_sent_when_the_server_is_killed_arrive_once_after_the_restart(
    database_url: str, event_stream: EventStream
) -> None:
    url = demo_url(database_url)
    nowhere = f"nats://127.0.0.1:{free_port()}"  # nothing listens: the events stay in the outbox
    with serving(url, nowhere, event_stream) as (process, client):
        draw = client.draw(demo_task(client).id, DEMO_AS_OF)
        time.sleep(0.5)  # a few relay rounds pass meanwhile
        process.kill()
        assert process.wait(timeout=30) == -signal.SIGKILL
    waiting = outbox(url)
    assert {m.resource for m in waiting} == {f"draws/{draw.id}"}
    # waiting, not failed: no attempt is made while the broker is away (so no backoff to wait out later)
    assert all((m.state, m.attempts) == (DeliveryState.PENDING, 0) for m in waiting)
    assert event_stream.read() == []
    with serving(url, event_stream.url, event_stream):
        delivered = wait_delivered(url)
    assert [m.id for m in delivered] == [m.id for m in waiting]
    exactly_once(event_stream, delivered)


def test_an_event_published_by_a_server_killed_before_marking_it_delivered_is_not_seen_twice(
    database_url: str, event_stream: EventStream
) -> None:
    url = demo_url(database_url)
    with serving(url, event_stream.url, event_stream, crash_at="events.after_publish") as (process, client):
        with suppress(DualdrawError):  # the relay may kill the server while the draw is answered
            client.draw(demo_task(client).id, DEMO_AS_OF)
        assert process.wait(timeout=60) == -signal.SIGKILL
    (published,) = event_stream.read(at_least=1)
    first = published.event["id"]
    before = {m.id: m for m in outbox(url)}
    assert before[first].state is DeliveryState.PENDING  # published, yet not marked delivered
    with serving(url, event_stream.url, event_stream):
        delivered = wait_delivered(url)
    exactly_once(event_stream, delivered)
    resent = next(m for m in delivered if m.id == first)
    assert resent.receipt == f"{event_stream.name}:{published.sequence} duplicate"
