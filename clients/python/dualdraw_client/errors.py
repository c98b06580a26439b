"""Client-side errors: a ``grpc.RpcError`` becomes a typed ``DualdrawError`` with the rich status unpacked.

The server sends a ``google.rpc.Status`` in the ``grpc-status-details-bin`` trailer carrying one
``google.rpc.ErrorInfo`` (``reason``, ``domain``, ``metadata``) and, for INVALID_ARGUMENT, a
``google.rpc.BadRequest`` whose field violations name dotted request paths (``task.ratio``,
``objects[3].credit_code``). :func:`from_rpc_error` reads both and also works when no details were sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError

# googleapis-common-protos ships .pyi files but no py.typed marker, so mypy treats it as untyped;
# every value read from these modules is converted to a plain str/list right away below.
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]

__all__ = [
    "STATUS_DETAILS_KEY",
    "AlreadyExistsError",
    "BundleIntegrityError",
    "DataLossError",
    "DeadlineExceededError",
    "DualdrawError",
    "EvidenceIntegrityError",
    "FailedPreconditionError",
    "FieldViolation",
    "InternalError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "UnauthenticatedError",
    "UnavailableError",
    "from_rpc_error",
]

STATUS_DETAILS_KEY = "grpc-status-details-bin"
"""Trailing-metadata key of the serialized ``google.rpc.Status`` (as written by ``grpc_status``)."""


@dataclass(frozen=True)
class FieldViolation:
    """One bad request field: its dotted path (``task.ratio``, ``objects[3].credit_code``) and the problem;
    ``reason`` is the UPPER_SNAKE kind of problem (``FIELD_REQUIRED``, ``RATIO_OUT_OF_RANGE``…, listed in the
    server's docs/ERRORS.md), set on every violation by this server; "" from a server that sends none."""

    field: str
    description: str
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.field}: {self.description}" if self.field else self.description


class DualdrawError(Exception):
    """A failed call: ``code`` is the gRPC status, ``reason`` the server's stable UPPER_SNAKE reason or "".

    ``metadata`` is the ErrorInfo metadata, ``field_violations`` the BadRequest violations (empty unless the
    server sent any), ``details`` every detail of the rich status as packed ``Any`` messages.
    """

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        reason: str = "",
        domain: str = "",
        metadata: Mapping[str, str] | None = None,
        field_violations: Iterable[FieldViolation] = (),
        details: Iterable[any_pb2.Any] = (),
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.reason = reason
        self.domain = domain
        self.metadata: dict[str, str] = dict(metadata or {})
        self.field_violations: list[FieldViolation] = list(field_violations)
        self.details: list[any_pb2.Any] = list(details)

    def __str__(self) -> str:
        """The message (and the reason in brackets unless it merely repeats the code or the message),
        then one indented line per field violation."""
        head = self.message or self.code.name
        if self.reason and self.reason != self.code.name and self.reason not in head:
            head = f"{head} [{self.reason}]"
        return "\n".join([head, *(f"  {v}" for v in self.field_violations)])

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(code={self.code.name}, reason={self.reason!r}, message={self.message!r})"


class InvalidArgumentError(DualdrawError):
    """The request was malformed; ``field_violations`` names each bad field. Nothing was written."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFoundError(DualdrawError):
    """A named resource does not exist."""

    code = grpc.StatusCode.NOT_FOUND


class AlreadyExistsError(DualdrawError):
    """The resource exists already (e.g. reason ``DRAW_EXISTS``)."""

    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPreconditionError(DualdrawError):
    """The system's state does not allow the request (e.g. reason ``TOO_FEW_INSPECTORS``)."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class PermissionDeniedError(DualdrawError):
    """The actor may not do this."""

    code = grpc.StatusCode.PERMISSION_DENIED


class UnauthenticatedError(DualdrawError):
    """The caller's identity is missing or invalid."""

    code = grpc.StatusCode.UNAUTHENTICATED


class UnavailableError(DualdrawError):
    """The server (or one of its dependencies) cannot serve now; retrying may succeed."""

    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceededError(DualdrawError):
    """The call did not finish within its timeout. A mutating call may still have taken effect."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class InternalError(DualdrawError):
    """The server failed unexpectedly."""

    code = grpc.StatusCode.INTERNAL


class DataLossError(DualdrawError):
    """Data is lost or corrupt: stored on the server (reason ``EVIDENCE_MISSING``, ``EVIDENCE_ALTERED``, with
    ``metadata["name"]`` naming it), or on the way here (the subclasses below, raised by the client)."""

    code = grpc.StatusCode.DATA_LOSS


class BundleIntegrityError(DataLossError):
    """A streamed draw bundle did not arrive whole: cut short, out of order, or not matching the length or
    SHA-256 the server announced (raised by the client, never sent by the server)."""


class EvidenceIntegrityError(DataLossError):
    """A downloaded evidence file did not arrive whole or not with the SHA-256 and length it is named by
    (raised by the client, never sent by the server): discard what arrived."""


_CLASSES: dict[grpc.StatusCode, type[DualdrawError]] = {
    cls.code: cls
    for cls in (
        InvalidArgumentError,
        NotFoundError,
        AlreadyExistsError,
        FailedPreconditionError,
        PermissionDeniedError,
        UnauthenticatedError,
        UnavailableError,
        DeadlineExceededError,
        InternalError,
        DataLossError,
    )
}


def error_class(code: grpc.StatusCode) -> type[DualdrawError]:
    """The ``DualdrawError`` subclass for a status code (the base class for codes without one)."""
    return _CLASSES.get(code, DualdrawError)


def _trailer_bytes(error: grpc.RpcError) -> bytes | None:
    """The raw ``grpc-status-details-bin`` value, or None when absent or unreadable."""
    trailing = getattr(error, "trailing_metadata", None)
    if not callable(trailing):
        return None
    try:
        items = trailing() or ()
    except Exception:  # a half-built RpcError may raise from its accessors; the trailer is optional
        return None
    for item in items:
        # grpc returns (key, value) namedtuples; plain tuples from hand-made errors work the same way
        key, value = cast("Sequence[object]", item)[:2]
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            return value
    return None


def _call_code(error: grpc.RpcError) -> grpc.StatusCode:
    getter = getattr(error, "code", None)
    code = getter() if callable(getter) else None
    return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN


def _call_message(error: grpc.RpcError) -> str:
    getter = getattr(error, "details", None)
    message = getter() if callable(getter) else None
    return message if isinstance(message, str) else ""


def from_rpc_error(error: grpc.RpcError) -> DualdrawError:
    """Converts a failed call into the matching ``DualdrawError`` subclass.

    Reads ErrorInfo and BadRequest from the rich status when the server sent one; an absent or
    undecodable trailer just leaves ``reason``/``field_violations`` empty. Never raises.
    """
    code = _call_code(error)
    message = _call_message(error)
    reason = domain = ""
    metadata: dict[str, str] = {}
    violations: list[FieldViolation] = []
    details: list[any_pb2.Any] = []
    raw = _trailer_bytes(error)
    if raw is not None:
        try:
            status = status_pb2.Status.FromString(raw)
        except DecodeError:
            status = None
        if status is not None:
            message = message or str(status.message)
            for packed in status.details:
                detail = any_pb2.Any()
                detail.CopyFrom(packed)
                details.append(detail)
                if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    detail.Unpack(info)
                    reason, domain = str(info.reason), str(info.domain)
                    metadata.update({str(k): str(v) for k, v in info.metadata.items()})
                elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad = error_details_pb2.BadRequest()
                    detail.Unpack(bad)
                    violations.extend(
                        FieldViolation(str(v.field), str(v.description), str(v.reason))
                        for v in bad.field_violations
                    )
    cls = error_class(code)
    return cls(
        message,
        code=code,
        reason=reason,
        domain=domain,
        metadata=metadata,
        field_violations=violations,
        details=details,
    )
