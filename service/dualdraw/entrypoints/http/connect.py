"""The pieces of the Connect protocol (connectrpc.com/docs/protocol) the HTTP gateway speaks: status codes,
the JSON error body with ``google.rpc.Status`` details, stream envelopes and the timeout header.

Only what a forwarding front needs: no compression (``Connect-Content-Encoding`` other than ``identity``
is refused), JSON and binary protobuf codecs.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import grpc
from google.protobuf import any_pb2, descriptor_pool, json_format, message_factory
from google.rpc import (  # type: ignore[import-untyped]  # googleapis-common-protos has no py.typed
    error_details_pb2,
    status_pb2,
)

# gRPC status code -> (Connect code, HTTP status of a unary error), as the Connect protocol specifies.
CODES: dict[grpc.StatusCode, tuple[str, int]] = {
    grpc.StatusCode.CANCELLED: ("canceled", 499),
    grpc.StatusCode.UNKNOWN: ("unknown", 500),
    grpc.StatusCode.INVALID_ARGUMENT: ("invalid_argument", 400),
    grpc.StatusCode.DEADLINE_EXCEEDED: ("deadline_exceeded", 504),
    grpc.StatusCode.NOT_FOUND: ("not_found", 404),
    grpc.StatusCode.ALREADY_EXISTS: ("already_exists", 409),
    grpc.StatusCode.PERMISSION_DENIED: ("permission_denied", 403),
    grpc.StatusCode.RESOURCE_EXHAUSTED: ("resource_exhausted", 429),
    grpc.StatusCode.FAILED_PRECONDITION: ("failed_precondition", 400),
    grpc.StatusCode.ABORTED: ("aborted", 409),
    grpc.StatusCode.OUT_OF_RANGE: ("out_of_range", 400),
    grpc.StatusCode.UNIMPLEMENTED: ("unimplemented", 501),
    grpc.StatusCode.INTERNAL: ("internal", 500),
    grpc.StatusCode.UNAVAILABLE: ("unavailable", 503),
    grpc.StatusCode.DATA_LOSS: ("data_loss", 500),
    grpc.StatusCode.UNAUTHENTICATED: ("unauthenticated", 401),
}
TIMEOUT_HEADER = "connect-timeout-ms"
STATUS_DETAILS_KEY = "grpc-status-details-bin"
ERROR_DOMAIN = "dualdraw.v1"
FRAME_INVALID = "STREAM_FRAME_INVALID"
NO_ENCODING = "ENCODING_NOT_SUPPORTED"
END_STREAM = 0x02
COMPRESSED = 0x01
JSON_TYPES = ("application/json",)
PROTO_TYPES = ("application/proto",)
STREAM_JSON = "application/connect+json"
STREAM_PROTO = "application/connect+proto"


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class ProtocolError(Exception):
    """A request the gateway cannot forward (bad JSON, bad frame, bad header): answered with ``code`` and an
    ErrorInfo ``reason`` (docs/ERRORS.md) before the gRPC server sees it; ``http_status`` overrides the
    code's usual HTTP status."""

    def __init__(
        self, code: grpc.StatusCode, message: str, *, reason: str, http_status: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.http_status = http_status

    def body(self) -> dict[str, Any]:
        """The Connect error body, with the ErrorInfo (and for a request that does not parse, a field
        violation of the whole message, as the gRPC server gives for bytes that do not parse)."""
        info = any_pb2.Any()
        info.Pack(error_details_pb2.ErrorInfo(reason=self.reason, domain=ERROR_DOMAIN))
        details = [info]
        if self.code == grpc.StatusCode.INVALID_ARGUMENT:
            violation = error_details_pb2.BadRequest.FieldViolation(
                field="", description=str(self), reason=self.reason
            )
            bad_request = any_pb2.Any()
            bad_request.Pack(error_details_pb2.BadRequest(field_violations=[violation]))
            details.append(bad_request)
        return {
            "code": connect_code(self.code),
            "message": str(self),
            "details": [detail_json(d) for d in details],
        }


def http_status(code: grpc.StatusCode) -> int:
    """The HTTP status of a unary error with this gRPC code."""
    return CODES.get(code, ("unknown", 500))[1]


def connect_code(code: grpc.StatusCode) -> str:
    return CODES.get(code, ("unknown", 500))[0]


def timeout_s(header: str | None) -> float | None:
    """Seconds left from ``Connect-Timeout-Ms`` (at most 10 digits, as the protocol says); ``None``: none."""
    if header is None or header == "":
        return None
    if not header.isdigit() or len(header) > 10:
        raise ProtocolError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"Connect-Timeout-Ms must be 1-10 digits: {header!r}",
            reason="TIMEOUT_HEADER_INVALID",
        )
    return int(header) / 1000


def _unpadded(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def detail_json(detail: any_pb2.Any) -> dict[str, Any]:
    """One ``google.rpc.Status`` detail as Connect sends it: ``type`` (the full message name), ``value``
    (its bytes, base64) and ``debug`` (the same message in protobuf's JSON mapping, when it is known)."""
    name = detail.type_url.rsplit("/", 1)[-1]
    item: dict[str, Any] = {"type": name, "value": _unpadded(detail.value)}
    try:
        message = message_factory.GetMessageClass(descriptor_pool.Default().FindMessageTypeByName(name))()
    except KeyError:
        return item
    if detail.Unpack(message):
        item["debug"] = json_format.MessageToDict(message)
    return item


def error_json(
    code: grpc.StatusCode, message: str, trailers: Sequence[tuple[str, Any]] = ()
) -> dict[str, Any]:
    """The Connect error body for a gRPC outcome; details come from the ``grpc-status-details-bin``
    trailer the server's error mapping writes (ErrorInfo, BadRequest, RetryInfo...)."""
    body: dict[str, Any] = {"code": connect_code(code)}
    if message:
        body["message"] = message
    for key, value in trailers:
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            if status.details:
                body["details"] = [detail_json(d) for d in status.details]
    return body


def error_metadata(error: grpc.RpcError) -> tuple[grpc.StatusCode, str, list[tuple[str, Any]]]:
    """Code, message and trailers of a failed call (an ``RpcError`` is also its ``Call``)."""
    call: Any = error
    return call.code(), call.details() or "", list(call.trailing_metadata() or ())


def public_metadata(pairs: Sequence[tuple[str, Any]]) -> list[tuple[str, str]]:
    """The metadata a caller may see as headers: text entries, not gRPC's own (``grpc-*``)."""
    return [(k, v) for k, v in pairs if isinstance(v, str) and not k.startswith("grpc-")]


def envelope(flags: int, payload: bytes) -> bytes:
    """One Connect stream frame: a flags byte, a big-endian 32-bit length, the payload."""
    return struct.pack(">BI", flags, len(payload)) + payload


def end_stream(error: dict[str, Any] | None, trailers: Sequence[tuple[str, str]]) -> bytes:
    """The last frame of a Connect stream: the error, if any, and the trailers."""
    body: dict[str, Any] = {}
    if error is not None:
        body["error"] = error
    metadata: dict[str, list[str]] = {}
    for key, value in trailers:
        metadata.setdefault(key, []).append(value)
    if metadata:
        body["metadata"] = metadata
    return envelope(END_STREAM, json.dumps(body, ensure_ascii=False).encode())


def read_envelopes(body: Readable, limit: int) -> Iterator[bytes]:
    """The payloads of the Connect frames in ``body`` until it ends; refuses compressed frames, frames
    over ``limit`` bytes and a truncated frame."""
    while True:
        head = body.read(5)
        if not head:
            return
        if len(head) < 5:
            raise ProtocolError(
                grpc.StatusCode.INVALID_ARGUMENT, "truncated frame header", reason=FRAME_INVALID
            )
        flags, size = struct.unpack(">BI", head)
        if flags & COMPRESSED:
            raise ProtocolError(
                grpc.StatusCode.UNIMPLEMENTED,
                "compressed frames are not supported",
                reason="ENCODING_NOT_SUPPORTED",
            )
        if size > limit:
            raise ProtocolError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"a frame of {size} bytes is over the limit of {limit}",
                reason="REQUEST_TOO_LARGE",
                http_status=413,
            )
        payload = body.read(size)
        if len(payload) < size:
            raise ProtocolError(grpc.StatusCode.INVALID_ARGUMENT, "truncated frame", reason=FRAME_INVALID)
        if flags & END_STREAM:
            return
        yield payload
