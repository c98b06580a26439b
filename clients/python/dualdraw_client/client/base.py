"""The connection under :class:`~dualdraw_client.client.DualdrawClient`: channel, stubs, metadata,
and the plumbing every call goes through (errors mapped to :class:`DualdrawError`, pages followed, retries).

Two kinds of retry, both with the same request (so a mutating call keeps its ``request_id``):

- ``UNAVAILABLE`` (the server cannot be reached, or says it cannot serve now) is retried by gRPC itself,
  through the channel's service config (:data:`SERVICE_CONFIG`: up to 4 attempts, randomised exponential
  backoff from 0.2 s to at most 2 s). Only channels this client creates carry it.
- An **unknown outcome** of a mutating call (one whose request has a ``request_id``) is retried here:
  ``DEADLINE_EXCEEDED`` or ``CANCELLED`` that the client did not cause by running out of its overall
  ``budget``, and that is not a specific answer of the server (an ErrorInfo reason other than the generic
  ``DEADLINE_EXCEEDED``/``CANCELLED``, such as ``DRAW_TIMEOUT``: the server then knows nothing was written
  and says why). The write may or may not have committed; the server's idempotency ledger answers a
  repeated ``request_id`` with the first response, so a retry is never applied twice. After
  ``attempts`` attempts the last error is raised, naming the ``request_id`` to retry with later.
  Reads are not retried on ``DEADLINE_EXCEEDED``: a slow read stays slow.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Final, Self, TypeVar

import grpc

from dualdraw.v1 import (
    audit_pb2_grpc,
    directory_pb2_grpc,
    draws_pb2_grpc,
    items_pb2_grpc,
    public_pb2_grpc,
    publication_pb2_grpc,
    results_pb2_grpc,
    tasks_pb2_grpc,
)

from ..errors import DualdrawError, from_rpc_error

__all__ = [
    "ACTOR_METADATA_KEY",
    "DEFAULT_TARGET",
    "SERVICE_CONFIG",
    "ClientBase",
    "new_request_id",
    "rpc_errors_mapped",
]

DEFAULT_TARGET: Final = "127.0.0.1:50051"
ACTOR_METADATA_KEY: Final = "x-dualdraw-actor"
"""Metadata key naming the caller (an ASCII login name or badge number) until authentication exists."""

_MAX_RECEIVE_BYTES: Final = 32 * 1024 * 1024

SERVICE_CONFIG: Final = {
    "methodConfig": [
        {
            "name": [{}],  # every method of every service
            "retryPolicy": {
                "maxAttempts": 4,
                "initialBackoff": "0.2s",
                "maxBackoff": "2s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ]
}
"""gRPC service config of the channels this client creates: ``UNAVAILABLE`` is retried by gRPC (each
backoff is random between 0 and the current bound, which doubles from 0.2 s up to 2 s)."""

UNKNOWN_OUTCOME_CODES: Final = frozenset({grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED})
"""Statuses after which a write may or may not have committed."""
_GENERIC_REASONS: Final = frozenset({"", "DEADLINE_EXCEEDED", "CANCELLED"})
UNKNOWN_OUTCOME_BACKOFF_S: Final = 0.1
"""Pause before the first retry of an unknown outcome; doubled before each further one."""

_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")
_Page = TypeVar("_Page")
_Item = TypeVar("_Item")


def new_request_id() -> str:
    """A fresh idempotency key (uuid4, canonical text form)."""
    return str(uuid.uuid4())


def _check_actor(actor: str) -> str:
    """gRPC metadata values must be printable ASCII; reject others here rather than fail in the transport."""
    if not actor.isascii() or not actor.isprintable():
        raise ValueError(f"actor must be printable ASCII (a login name or badge number), got {actor!r}")
    return actor


def rpc_errors_mapped(responses: Iterable[_Resp]) -> Iterator[_Resp]:
    """``responses`` with ``grpc.RpcError`` turned into :class:`DualdrawError`."""
    try:
        yield from responses
    except grpc.RpcError as exc:
        raise from_rpc_error(exc) from None


class ClientBase:
    """A channel to a dualdraw server with a stub per service; the area mixins add the calls.

    The parameters are those of :class:`~dualdraw_client.client.DualdrawClient`.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        actor: str | None = None,
        timeout: float | None = 30.0,
        channel: grpc.Channel | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        token: str | None = None,
        attempts: int = 3,
        budget: float | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        self.target = target
        self.attempts = attempts
        self.budget = budget
        self.actor = None if actor is None else _check_actor(actor)
        self.token = None if not token else _check_actor(token.strip())
        self.timeout = timeout
        self._owns_channel = channel is None
        if channel is None:
            options: list[tuple[str, int | str]] = [
                ("grpc.max_receive_message_length", _MAX_RECEIVE_BYTES),
                ("grpc.enable_retries", 1),
                ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
            ]
            if credentials is None:
                channel = grpc.insecure_channel(target, options=options)
            else:
                channel = grpc.secure_channel(target, credentials, options=options)
        self._channel = channel
        self._directory = directory_pb2_grpc.DirectoryServiceStub(channel)
        self._items = items_pb2_grpc.InspectionItemServiceStub(channel)
        self._tasks = tasks_pb2_grpc.TaskServiceStub(channel)
        self._draws = draws_pb2_grpc.DrawServiceStub(channel)
        self._audit = audit_pb2_grpc.AuditServiceStub(channel)
        self._results = results_pb2_grpc.ResultServiceStub(channel)
        self._publication = publication_pb2_grpc.PublicationServiceStub(channel)
        self._public = public_pb2_grpc.PublicServiceStub(channel)

    # -- lifecycle -------------------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the channel if this client created it. Idempotent."""
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------------------

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        metadata = () if self.actor is None else ((ACTOR_METADATA_KEY, self.actor),)
        if self.token:
            metadata = (*metadata, ("authorization", f"Bearer {self.token}"))
        return metadata

    def _call(
        self,
        method: grpc.UnaryUnaryMultiCallable[_Req, _Resp],
        request: _Req,
        timeout: float | None = None,
    ) -> _Resp:
        """``method(request)``; a mutating request (one with a ``request_id``) is sent again, unchanged,
        after an unknown outcome (see the module docstring), at most ``attempts`` times within ``budget``."""
        attempt_s = self.timeout if timeout is None else timeout
        request_id = str(getattr(request, "request_id", "") or "")
        attempts = self.attempts if request_id else 1
        give_up_at = None if self.budget is None else time.monotonic() + self.budget
        pause = UNKNOWN_OUTCOME_BACKOFF_S
        for attempt in range(1, attempts + 1):
            deadline_s, budget_bound = attempt_s, False
            if give_up_at is not None:
                left = give_up_at - time.monotonic()
                if attempt_s is None or left <= attempt_s:
                    deadline_s, budget_bound = max(0.0, left), True
            try:
                return method(request, timeout=deadline_s, metadata=self._metadata())
            except grpc.RpcError as exc:
                error = from_rpc_error(exc)
            unknown = error.code in UNKNOWN_OUTCOME_CODES and error.reason in _GENERIC_REASONS
            if not request_id or not unknown:
                raise error from None
            spent = budget_bound and error.code == grpc.StatusCode.DEADLINE_EXCEEDED
            if spent or attempt == attempts:
                break
            if give_up_at is not None:
                pause = min(pause, max(0.0, give_up_at - time.monotonic()))
            time.sleep(pause)
            pause *= 2
        error.message = (
            f"{error.message or error.code.name}; whether the write committed is unknown after"
            f" {attempt} attempt(s): retry with request_id {request_id} (never applied twice)"
        )
        error.args = (error.message,)
        error.metadata.setdefault("request_id", request_id)
        raise error from None

    @staticmethod
    def _follow(fetch: Callable[[str], _Page], items: Callable[[_Page], Iterable[_Item]]) -> Iterator[_Item]:
        """Yields ``items(page)`` for every page, passing each ``next_page_token`` back to ``fetch``."""
        token = ""
        while True:
            page = fetch(token)
            yield from items(page)
            next_token = str(getattr(page, "next_page_token", ""))
            if not next_token:
                return
            if next_token == token:
                raise DualdrawError(
                    f"server returned the page token it was given ({next_token!r}); stopping",
                    code=grpc.StatusCode.INTERNAL,
                )
            token = next_token

    def _stream(
        self,
        method: grpc.UnaryStreamMultiCallable[_Req, _Resp],
        request: _Req,
        timeout: float | None = None,
    ) -> Iterator[_Resp]:
        """Yields a server stream's messages, turning ``grpc.RpcError`` into :class:`DualdrawError`."""
        try:
            yield from method(
                request, timeout=self.timeout if timeout is None else timeout, metadata=self._metadata()
            )
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
