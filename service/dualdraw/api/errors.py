"""The one place where errors become gRPC statuses.

Every ``DomainError`` maps to one status code with a ``google.rpc.ErrorInfo`` (its stable ``reason``) and,
for ``InvalidArgument``, a ``google.rpc.BadRequest`` listing every field violation (AIP-193). Anything else
is an ``INTERNAL`` error whose details are logged, never sent.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn, cast

import grpc
from google.protobuf import any_pb2
from google.rpc import (  # type: ignore[import-untyped]  # googleapis-common-protos has no py.typed
    code_pb2,
    error_details_pb2,
    status_pb2,
)
from grpc_status import rpc_status

from dualdraw.api.wrapping import Behaviour, wrap_handler
from dualdraw.domain.errors import (
    Aborted,
    AlreadyExists,
    DeadlineExceeded,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)

ERROR_DOMAIN = "dualdraw.v1"
log = logging.getLogger(__name__)

_CODES: list[tuple[type[DomainError], grpc.StatusCode]] = [
    (InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (Unavailable, grpc.StatusCode.UNAVAILABLE),
    (DeadlineExceeded, grpc.StatusCode.DEADLINE_EXCEEDED),
    (Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (Aborted, grpc.StatusCode.ABORTED),
]


def status_code_for(error: DomainError) -> grpc.StatusCode:
    for cls, code in _CODES:
        if isinstance(error, cls):
            return code
    return grpc.StatusCode.INTERNAL


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def rich_status(error: DomainError) -> grpc.Status:
    """The ``grpc.Status`` (code, message, details trailer) that represents ``error`` on the wire."""
    code = status_code_for(error)
    details = [
        _pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata))
    ]
    if isinstance(error, InvalidArgument):
        details.append(
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                        for v in error.violations
                    ]
                )
            )
        )
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=error.message, details=details)
    return cast(grpc.Status, rpc_status.to_status(status))


def internal_status(message: str = "internal error; see the server log") -> grpc.Status:
    status = status_pb2.Status(
        code=code_pb2.INTERNAL,
        message=message,
        details=[_pack(error_details_pb2.ErrorInfo(reason="INTERNAL", domain=ERROR_DOMAIN))],
    )
    return cast(grpc.Status, rpc_status.to_status(status))


def abort_with(context: grpc.ServicerContext, error: DomainError) -> NoReturn:
    context.abort_with_status(rich_status(error))
    raise AssertionError("abort_with_status returned")  # pragma: no cover - grpc raises


class MalformedRequest(InvalidArgument):
    """The request bytes do not parse as the method's protobuf message (bad UTF-8, too deep, truncated)."""

    reason = "MALFORMED_REQUEST"


@dataclass(frozen=True)
class _Undecodable:
    """Stands for a request message that did not parse, so that the call can answer INVALID_ARGUMENT
    (grpc itself answers INTERNAL when a deserializer raises)."""

    message_type: str
    problem: str

    def error(self) -> MalformedRequest:
        return MalformedRequest(
            [FieldViolation("", f"not a valid {self.message_type} message: {self.problem}")],
            f"the request is not a valid {self.message_type} message",
        )


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """``deserializer`` answering an ``_Undecodable`` instead of raising."""
    if deserializer is None:
        return None
    owner = getattr(deserializer, "__self__", None)
    descriptor = getattr(owner, "DESCRIPTOR", None)
    message_type = str(getattr(descriptor, "full_name", "request"))

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception as exc:  # DecodeError, RecursionError, ...: whatever the parser rejects
            return _Undecodable(message_type, str(exc) or type(exc).__name__)

    return deserialize


def _checked(requests: Iterator[Any]) -> Iterator[Any]:
    """The request stream, failing with ``MalformedRequest`` at the first message that did not parse."""
    for request in requests:
        if isinstance(request, _Undecodable):
            raise request.error()
        yield request


class ErrorMappingInterceptor(grpc.ServerInterceptor):
    """Wraps every handler so that domain errors, unexpected exceptions and request messages that do not
    parse become proper statuses."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        wrapped = wrap_handler(
            handler,
            lambda behaviour, shape: (
                _guard_stream(behaviour, method, shape.startswith("stream_"))
                if shape.endswith("_stream")
                else _guard(behaviour, method, shape.startswith("stream_"))
            ),
        )
        tolerant: grpc.RpcMethodHandler[Any, Any] = wrapped._replace(  # type: ignore[attr-defined]  # a named tuple at run time
            request_deserializer=_tolerant(wrapped.request_deserializer)
        )
        return tolerant


def _abort_for(exc: Exception, context: grpc.ServicerContext, method: str) -> None:
    """Aborts the call with the status that represents ``exc``; grpc's own aborts pass through."""
    if isinstance(exc, DomainError):
        log.info("%s -> %s %s: %s", method, status_code_for(exc).name, exc.reason, exc.message)
        context.abort_with_status(rich_status(exc))
    if _is_abort(exc, context):
        raise exc
    log.exception("%s failed unexpectedly", method)
    context.abort_with_status(internal_status())


def _parsed(request: Any, streaming: bool) -> Any:
    """The request (or request stream), with a message that did not parse turned into ``MalformedRequest``."""
    if streaming:
        return _checked(request)
    if isinstance(request, _Undecodable):
        raise request.error()
    return request


def _guard(behaviour: Behaviour, method: str, streaming_request: bool) -> Behaviour:
    @functools.wraps(behaviour)
    def guarded(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return behaviour(_parsed(request, streaming_request), context)
        except Exception as exc:  # every failure becomes a status here, in the one place
            _abort_for(exc, context, method)
        return None  # pragma: no cover - abort_with_status raises

    return guarded


def _guard_stream(behaviour: Behaviour, method: str, streaming_request: bool) -> Behaviour:
    @functools.wraps(behaviour)
    def guarded(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            yield from behaviour(_parsed(request, streaming_request), context)
        except Exception as exc:  # every failure becomes a status here, in the one place
            _abort_for(exc, context, method)

    return guarded


def _is_abort(exc: Exception, context: grpc.ServicerContext) -> bool:
    """grpc signals ``context.abort`` by raising a bare ``Exception``; let those pass through untouched."""
    code = getattr(context, "code", None)  # ServicerContext.code() exists at run time since grpc 1.38
    return type(exc) is Exception and code is not None and code() is not None
