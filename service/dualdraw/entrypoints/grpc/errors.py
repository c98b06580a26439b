"""The one place where errors become gRPC statuses.

Every ``DomainError`` maps to one status code with a ``google.rpc.ErrorInfo`` (its stable ``reason``) and,
for ``InvalidArgument`` and a ``FailedPrecondition`` that names fields, a ``google.rpc.BadRequest`` listing
every field violation (AIP-193), for ``ResourceExhausted`` a ``google.rpc.RetryInfo`` with the wait before a
retry. Anything else is an ``INTERNAL`` error whose details are logged, never sent.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn, cast

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import (  # type: ignore[import-untyped]  # googleapis-common-protos has no py.typed
    code_pb2,
    error_details_pb2,
    status_pb2,
)
from grpc_status import rpc_status

from dualdraw.domain.errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    DataLoss,
    DeadlineExceeded,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from dualdraw.entrypoints.grpc.wrapping import Behaviour, wrap_handler
from dualdraw.runtime.telemetry import current_request_id

ERROR_DOMAIN = "dualdraw.v1"
log = logging.getLogger(__name__)

_CODES: list[tuple[type[DomainError], grpc.StatusCode]] = [
    (InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (Unavailable, grpc.StatusCode.UNAVAILABLE),
    (DeadlineExceeded, grpc.StatusCode.DEADLINE_EXCEEDED),
    (Cancelled, grpc.StatusCode.CANCELLED),
    (Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (Aborted, grpc.StatusCode.ABORTED),
    (ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (DataLoss, grpc.StatusCode.DATA_LOSS),
]


def status_code_of(kind: type[DomainError]) -> grpc.StatusCode:
    """The status every error of class ``kind`` goes out with."""
    for cls, code in _CODES:
        if issubclass(kind, cls):
            return code
    return grpc.StatusCode.INTERNAL


def status_code_for(error: DomainError) -> grpc.StatusCode:
    return status_code_of(type(error))


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


# Bounds on what one error carries (grpc's default limit on a response's metadata is 8 KiB, and the status
# travels twice: its message in ``grpc-message``, percent-encoded, and all of it, base64, in
# ``grpc-status-details-bin``). With these, message and details stay under ~6 KiB on the wire.
MAX_MESSAGE_BYTES = 400
MAX_METADATA_ENTRIES = 10  # each key up to 40 bytes
MAX_METADATA_VALUE_BYTES = 100
MAX_VIOLATIONS_BYTES = 1500  # field violations are listed in order while their text fits
MAX_FIELD_BYTES = 80
MAX_DESCRIPTION_BYTES = 160
_ELLIPSIS = "…"


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes (on a character boundary), ending in "…" when cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    room = limit - len(_ELLIPSIS.encode("utf-8"))
    return data[:room].decode("utf-8", errors="ignore") + _ELLIPSIS


def _bounded_metadata(metadata: dict[str, str]) -> tuple[dict[str, str], bool]:
    """The metadata within bounds, and whether anything was left out.

    A comma-separated list too long for one value keeps its first items and gains ``<key>_count`` (all of
    them) and ``<key>_shown`` (how many are listed).
    """
    bounded: dict[str, str] = {}
    cut = False
    for key, value in list(metadata.items())[:MAX_METADATA_ENTRIES]:
        key = _cut(key, 40)
        if len(value.encode("utf-8")) <= MAX_METADATA_VALUE_BYTES:
            bounded[key] = value
            continue
        cut = True
        items = value.split(",")
        if len(items) == 1:
            bounded[key] = _cut(value, MAX_METADATA_VALUE_BYTES)
            continue
        shown: list[str] = []
        for item in items:
            if len(",".join([*shown, item]).encode("utf-8")) > MAX_METADATA_VALUE_BYTES:
                break
            shown.append(item)
        bounded[key] = ",".join(shown)
        bounded[f"{key}_count"] = str(len(items))
        bounded[f"{key}_shown"] = str(len(shown))
    return bounded, cut or len(metadata) > MAX_METADATA_ENTRIES


def rich_status(error: DomainError, request_id: str = "") -> grpc.Status:
    """The ``grpc.Status`` (code, message, details trailer) that represents ``error`` on the wire.

    Message, ErrorInfo metadata and field violations are bounded (first items plus counts) so that the
    status always fits a client's metadata limit. When anything was left out, the ErrorInfo metadata says
    ``details_truncated: true`` and carries the call's ``request_id``: the server log line of that request
    id holds the error in full (``ErrorMappingInterceptor`` logs it).
    """
    code = status_code_for(error)
    metadata, cut = _bounded_metadata(error.metadata)
    message = _cut(error.message, MAX_MESSAGE_BYTES)
    cut = cut or message != error.message
    violations: list[Any] = []
    if isinstance(error, InvalidArgument | FailedPrecondition) and error.violations:
        used = 0
        for v in error.violations:
            field, description = _cut(v.field, MAX_FIELD_BYTES), _cut(v.description, MAX_DESCRIPTION_BYTES)
            used += len(field.encode("utf-8")) + len(description.encode("utf-8")) + len(v.reason) + 8
            if used > MAX_VIOLATIONS_BYTES:
                break
            cut = cut or (field, description) != (v.field, v.description)
            violations.append(
                error_details_pb2.BadRequest.FieldViolation(
                    field=field, description=description, reason=v.reason
                )
            )
        if len(violations) < len(error.violations):
            cut = True
            metadata["field_violations_count"] = str(len(error.violations))
    if cut:
        metadata["details_truncated"] = "true"
        if request_id:
            metadata["request_id"] = request_id
    details = [
        _pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN, metadata=metadata))
    ]
    if violations:
        details.append(_pack(error_details_pb2.BadRequest(field_violations=violations)))
    if isinstance(error, ResourceExhausted):
        delay = duration_pb2.Duration()
        delay.FromTimedelta(dt.timedelta(seconds=max(error.retry_after_s, 0.001)))
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=message, details=details)
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
            [
                FieldViolation(
                    "", f"not a valid {self.message_type} message: {self.problem}", reason="MALFORMED_REQUEST"
                )
            ],
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
    if isinstance(exc, DomainError):  # logged in full: the status may carry only the first items
        log.info(
            "%s -> %s %s: %s%s",
            method,
            status_code_for(exc).name,
            exc.reason,
            exc.message,
            "".join(f"; {k}={v}" for k, v in exc.metadata.items()),
        )
        context.abort_with_status(rich_status(exc, current_request_id()))
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
