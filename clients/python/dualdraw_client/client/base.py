"""The connection under :class:`~dualdraw_client.client.DualdrawClient`: channel, stubs, metadata,
and the plumbing every call goes through (errors mapped to :class:`DualdrawError`, pages followed)."""

from __future__ import annotations

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

__all__ = ["ACTOR_METADATA_KEY", "DEFAULT_TARGET", "ClientBase", "new_request_id", "rpc_errors_mapped"]

DEFAULT_TARGET: Final = "127.0.0.1:50051"
ACTOR_METADATA_KEY: Final = "x-dualdraw-actor"
"""Metadata key naming the caller (an ASCII login name or badge number) until authentication exists."""

_MAX_RECEIVE_BYTES: Final = 32 * 1024 * 1024

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
    ) -> None:
        self.target = target
        self.actor = None if actor is None else _check_actor(actor)
        self.token = None if not token else _check_actor(token.strip())
        self.timeout = timeout
        self._owns_channel = channel is None
        if channel is None:
            options = [("grpc.max_receive_message_length", _MAX_RECEIVE_BYTES)]
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
        try:
            return method(
                request, timeout=self.timeout if timeout is None else timeout, metadata=self._metadata()
            )
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

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
