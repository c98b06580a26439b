"""The event broker: domain events as CloudEvents on a NATS JetStream stream (the EVENTS outbox sender).

``JetStreamEvents.send`` is the synchronous ``Sender`` the outbox relay calls: it publishes one message to
the stream and returns the stream's acknowledgement ``<stream>:<sequence>`` as the receipt. The message
carries ``Nats-Msg-Id`` = the outbox message id, so a message sent again (the relay died after publishing
and before marking it delivered) is dropped by the stream within its duplicate window — the publish is
acknowledged with the first copy's sequence (receipt ``... duplicate``). Receivers still de-duplicate by
the CloudEvent ``id`` beyond that window.

Structured content mode of the CloudEvents NATS binding: the body is the JSON event format, header
``Content-Type: application/cloudevents+json``. Subjects are ``<prefix>.<type name>``, e.g.
``dualdraw.events.draw.executed``.

nats-py is asyncio: one event loop runs in a thread of its own with one connection that reconnects by
itself. While it is not connected ``send`` fails at once (the relay retries later): the relay holds a
database transaction around ``send``, which must never wait for a broker that is down.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Self

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy, Header, StorageType, StreamConfig

from dualdraw.domain.cloud_events import CONTENT_TYPE, cloud_event, encode, subject_suffix
from dualdraw.domain.outbox import OutboxMessage
from dualdraw.runtime.crashpoints import crash_point

log = logging.getLogger(__name__)

DEFAULT_STREAM = "DUALDRAW_EVENTS"
DEFAULT_SUBJECT_PREFIX = "dualdraw.events"
DEFAULT_DUPLICATE_WINDOW = dt.timedelta(hours=2)


class BrokerUnavailable(ConnectionError):
    """The broker cannot take a message now (not connected, or no acknowledgement in time)."""


class JetStreamEvents:
    """Publishes outbox messages as CloudEvents to ``stream`` on the NATS server at ``url``."""

    def __init__(
        self,
        url: str,
        *,
        stream: str = DEFAULT_STREAM,
        subject_prefix: str = DEFAULT_SUBJECT_PREFIX,
        instance: str = "",
        duplicate_window: dt.timedelta = DEFAULT_DUPLICATE_WINDOW,
        publish_timeout_s: float = 5.0,
        connect_timeout_s: float = 2.0,
    ) -> None:
        self.url = url
        self.stream = stream
        self.subject_prefix = subject_prefix.rstrip(".")
        self.instance = instance
        self.duplicate_window = duplicate_window
        self._publish_timeout_s = publish_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="event-broker", daemon=True)
        self._client: Client | None = None
        self._jetstream: JetStreamContext | None = None
        self._ready = threading.Event()  # connected once and the stream exists
        self._connecting: Future[None] | None = None
        self._closed = False
        self._on_ready: Callable[[], None] | None = None

    # -- life cycle ---------------------------------------------------------------------------------------

    def start(self) -> Self:
        """Starts connecting in the background (returns at once; ``send`` fails until connected)."""
        self._thread.start()
        self._connecting = asyncio.run_coroutine_threadsafe(self._connect(), self._loop)
        self._connecting.add_done_callback(self._connect_ended)
        return self

    def _connect_ended(self, connecting: Future[None]) -> None:
        if not connecting.cancelled() and connecting.exception() is not None:
            log.error(
                "event broker %s: gave up connecting; events wait in the outbox: %s",
                self.url,
                connecting.exception(),
            )

    def connected(self) -> bool:
        """Whether a message sent now can reach the stream (connected, stream set up)."""
        client = self._client
        return not self._closed and self._ready.is_set() and client is not None and client.is_connected

    def when_ready(self, notify: Callable[[], None]) -> None:
        """``notify()`` runs (in the broker's thread) each time the broker becomes reachable again."""
        self._on_ready = notify

    def _notify_ready(self) -> None:
        if self._on_ready is not None:
            self._on_ready()

    def wait_ready(self, timeout_s: float) -> bool:
        """Whether the connection and the stream are ready within ``timeout_s`` seconds."""
        return self._ready.wait(timeout_s)

    def close(self) -> None:
        """Closes the connection and stops the loop's thread (idempotent)."""
        if self._closed or not self._thread.is_alive():
            self._closed = True
            return
        self._closed = True
        if self._connecting is not None:
            self._connecting.cancel()
        closing = asyncio.run_coroutine_threadsafe(self._disconnect(), self._loop)
        try:
            closing.result(5)
        except Exception as exc:  # closing must not fail the server's shutdown
            log.warning("event broker: closing the connection failed: %s", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    # -- sending ------------------------------------------------------------------------------------------

    def subject(self, message: OutboxMessage) -> str:
        return f"{self.subject_prefix}.{subject_suffix(message.action)}"

    @property
    def send_timeout_s(self) -> float:
        """The longest ``send`` waits for the stream's acknowledgement."""
        return self._publish_timeout_s + 1

    def send(self, message: OutboxMessage) -> str:
        """Publishes ``message``; returns the receipt ``<stream>:<sequence>`` (`` duplicate`` when the stream
        had it already). Raises ``BrokerUnavailable`` when not connected or not acknowledged in time."""
        if not self.connected():
            raise BrokerUnavailable(f"not connected to the event broker at {self.url}")
        pending = asyncio.run_coroutine_threadsafe(self._publish(message), self._loop)
        try:
            receipt = pending.result(self.send_timeout_s)
        except FutureTimeout as exc:
            pending.cancel()
            raise BrokerUnavailable(f"no acknowledgement from {self.stream} in time") from exc
        crash_point("events.after_publish")  # tests: published, not yet marked delivered
        return receipt

    async def _publish(self, message: OutboxMessage) -> str:
        body = encode(cloud_event(message, instance=self.instance))
        headers = {Header.MSG_ID.value: message.id, "Content-Type": CONTENT_TYPE}
        jetstream = self._jetstream
        assert jetstream is not None  # _ready is set only after it is
        try:
            ack = await jetstream.publish(
                self.subject(message), body, timeout=self._publish_timeout_s, headers=headers
            )
        except nats.js.errors.NoStreamResponseError:  # the stream was deleted meanwhile: make it again
            await self._ensure_stream(jetstream)
            ack = await jetstream.publish(
                self.subject(message), body, timeout=self._publish_timeout_s, headers=headers
            )
        except nats.errors.TimeoutError as exc:
            raise BrokerUnavailable(f"no acknowledgement from {self.stream} in time") from exc
        return f"{ack.stream}:{ack.seq}" + (" duplicate" if ack.duplicate else "")

    # -- connection ---------------------------------------------------------------------------------------

    async def _connect(self) -> None:
        """Connects (retrying until it succeeds or ``close``), then makes sure the stream exists."""
        warned = False

        async def on_error(exc: Exception) -> None:
            nonlocal warned
            if not warned:  # once, not at every reconnection attempt
                log.warning("event broker %s: %s (retrying in the background)", self.url, exc)
                warned = True

        async def on_disconnected() -> None:
            if self._closed:
                return
            log.warning("event broker %s: disconnected; messages wait in the outbox", self.url)

        async def on_reconnected() -> None:
            nonlocal warned
            warned = False
            log.info("event broker %s: reconnected", self.url)
            self._notify_ready()

        client = await nats.connect(
            self.url,
            name="dualdraw",
            allow_reconnect=True,
            max_reconnect_attempts=-1,  # for ever: the outbox keeps messages meanwhile
            reconnect_time_wait=1,
            connect_timeout=max(1, round(self._connect_timeout_s)),
            error_cb=on_error,
            disconnected_cb=on_disconnected,
            reconnected_cb=on_reconnected,
        )
        self._client = client
        jetstream = client.jetstream(timeout=self._publish_timeout_s)
        while True:
            try:
                await self._ensure_stream(jetstream)
                break
            except (TimeoutError, nats.errors.Error, nats.js.errors.Error) as exc:
                log.warning("event broker %s: cannot set up stream %s: %s", self.url, self.stream, exc)
                await asyncio.sleep(5)
        self._jetstream = jetstream
        self._ready.set()
        self._notify_ready()
        log.info(
            "event broker %s: publishing to stream %s (%s.>)", self.url, self.stream, self.subject_prefix
        )

    async def _ensure_stream(self, jetstream: JetStreamContext) -> None:
        """Creates the stream, or adds this prefix's subjects and the duplicate window to an existing one."""
        subjects = f"{self.subject_prefix}.>"
        window_s = self.duplicate_window.total_seconds()
        try:
            info = await jetstream.stream_info(self.stream)
        except nats.js.errors.NotFoundError:
            await jetstream.add_stream(
                StreamConfig(
                    name=self.stream,
                    subjects=[subjects],
                    storage=StorageType.FILE,
                    duplicate_window=window_s,
                    description="dualdraw domain events (CloudEvents 1.0, structured mode)",
                )
            )
            return
        config = info.config
        wanted: dict[str, Any] = {}
        if subjects not in (config.subjects or []):
            wanted["subjects"] = [*(config.subjects or []), subjects]
        if config.duplicate_window is None or abs(config.duplicate_window - window_s) > 0.5:
            wanted["duplicate_window"] = window_s
        if wanted:
            await jetstream.update_stream(dataclasses.replace(config, **wanted))

    async def _disconnect(self) -> None:
        client = self._client
        if client is not None and not client.is_closed:
            await client.close()


class StreamMissing(LookupError):
    """The stream to read does not exist (no server with ``DUALDRAW_EVENTS_URL`` has started yet)."""


def tail(
    url: str,
    *,
    stream: str = DEFAULT_STREAM,
    subject_prefix: str = DEFAULT_SUBJECT_PREFIX,
    from_start: bool = False,
    limit: int = 0,
    wait_s: float = 0.0,
    emit: Callable[[dict[str, Any]], None],
) -> int:
    """Reads the events of ``stream`` in order and hands each to ``emit``: only new ones, or from the
    stream's first with ``from_start``; stops after ``limit`` events or ``wait_s`` seconds without one (0:
    never). Returns how many it read. Raises ``BrokerUnavailable`` or ``StreamMissing``."""
    return asyncio.run(_tail(url, stream, subject_prefix.rstrip("."), from_start, limit, wait_s, emit))


async def _tail(
    url: str,
    stream: str,
    subject_prefix: str,
    from_start: bool,
    limit: int,
    wait_s: float,
    emit: Callable[[dict[str, Any]], None],
) -> int:
    async def quiet(exc: Exception) -> None:  # the failure is raised below, once; no traceback per attempt
        del exc

    try:
        client = await nats.connect(
            url,
            connect_timeout=2,
            allow_reconnect=False,
            max_reconnect_attempts=1,  # nats-py retries for ever below 1, even without reconnecting
            reconnect_time_wait=0,
            error_cb=quiet,
        )
    except (OSError, nats.errors.Error) as exc:
        raise BrokerUnavailable(f"cannot reach the event broker at {url}: {exc}") from exc
    try:
        jetstream = client.jetstream()
        try:
            await jetstream.stream_info(stream)
        except nats.js.errors.NotFoundError as exc:
            raise StreamMissing(stream) from exc
        subscription = await jetstream.subscribe(
            f"{subject_prefix}.>",
            stream=stream,
            ordered_consumer=True,  # an ephemeral consumer that reads each message once, in order
            deliver_policy=DeliverPolicy.ALL if from_start else DeliverPolicy.NEW,
        )
        read = 0
        idle_since = asyncio.get_running_loop().time()
        while not limit or read < limit:
            try:
                message = await subscription.next_msg(timeout=1.0)
            except nats.errors.TimeoutError:
                if wait_s and asyncio.get_running_loop().time() - idle_since >= wait_s:
                    break
                continue
            try:
                event = json.loads(message.data)
            except ValueError:
                event = {"subject": message.subject, "data": message.data.decode(errors="replace")}
            emit(event)
            read += 1
            idle_since = asyncio.get_running_loop().time()
        await subscription.unsubscribe()
        return read
    finally:
        await client.close()
