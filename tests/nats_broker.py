"""The NATS JetStream server the event tests publish to, and a consumer that reads what arrived.

``DUALDRAW_TEST_NATS_URL`` (default ``nats://127.0.0.1:4222``) names the server. When it does not answer
the tests that need it are skipped locally; ``DUALDRAW_REQUIRE_NATS=1`` (set by .ci/run) turns that into a
failure. Every test gets a stream and subject prefix of its own (``event_stream``), deleted afterwards, so
runs never see each other's events.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import nats
import nats.js.errors
import pytest

DEFAULT_NATS = "nats://127.0.0.1:4222"


def _nats_required() -> bool:
    return os.environ.get("DUALDRAW_REQUIRE_NATS", "") not in ("", "0", "false")


def _answers(url: str) -> str:
    """ "" when something listens at ``url``'s host and port, else the problem."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), timeout=2):
            return ""
    except OSError as exc:
        return f"NATS unreachable at {url}: {exc}"


@pytest.fixture(scope="session")
def nats_url() -> str:
    url = os.environ.get("DUALDRAW_TEST_NATS_URL", "") or DEFAULT_NATS
    problem = _answers(url)
    if problem:
        if _nats_required():
            pytest.fail(f"NATS JetStream is required (DUALDRAW_REQUIRE_NATS=1): {problem}")
        pytest.skip(problem)
    return url


@dataclass(frozen=True)
class Received:
    """One message read back from the stream."""

    sequence: int
    subject: str
    headers: dict[str, str]
    event: dict[str, Any]


@dataclass(frozen=True)
class EventStream:
    """A stream and subject prefix of one test, and a way to read everything in it."""

    url: str
    name: str
    subject_prefix: str

    def read(self, *, at_least: int = 0, timeout_s: float = 20.0) -> list[Received]:
        """Every message of the stream in order, waiting up to ``timeout_s`` for ``at_least`` of them."""
        return asyncio.run(self._read(at_least, timeout_s))

    async def _read(self, at_least: int, timeout_s: float) -> list[Received]:
        client = await nats.connect(self.url, connect_timeout=2, max_reconnect_attempts=1)
        try:
            jetstream = client.jetstream()
            loop = asyncio.get_running_loop()
            give_up = loop.time() + timeout_s
            while True:
                try:
                    count = (await jetstream.stream_info(self.name)).state.messages
                except nats.js.errors.NotFoundError:
                    count = 0
                if count >= at_least or loop.time() > give_up:
                    break
                await asyncio.sleep(0.2)
            if count == 0:
                return []
            # An ephemeral ordered consumer from the start: reads each stored message once, in order.
            subscription = await jetstream.subscribe(
                f"{self.subject_prefix}.>", stream=self.name, ordered_consumer=True
            )
            received: list[Received] = []
            try:
                while len(received) < count:
                    message = await subscription.next_msg(timeout=5)
                    received.append(
                        Received(
                            sequence=message.metadata.sequence.stream,
                            subject=message.subject,
                            headers=dict(message.headers or {}),
                            event=json.loads(message.data),
                        )
                    )
            finally:
                await subscription.unsubscribe()
            return received
        finally:
            await client.close()

    def delete(self) -> None:
        async def drop() -> None:
            client = await nats.connect(self.url, connect_timeout=2, max_reconnect_attempts=1)
            try:
                await client.jetstream().delete_stream(self.name)
            except nats.js.errors.NotFoundError:
                pass
            finally:
                await client.close()

        asyncio.run(drop())


@pytest.fixture
def event_stream(nats_url: str) -> Iterator[EventStream]:
    token = uuid.uuid4().hex[:12]
    stream = EventStream(nats_url, f"DUALDRAW_TEST_{token.upper()}", f"dualdraw-test-{token}.events")
    yield stream
    stream.delete()
