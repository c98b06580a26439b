"""Domain errors. The API layer maps each class to one gRPC status (``dualdraw.entrypoints.grpc.errors``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_REASON = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: a dotted path into the request (``task.ratio``), what is wrong with it in words for
    people, and ``reason``, the UPPER_SNAKE code of that problem for programs (docs/ERRORS.md lists them).
    Every violation has a reason."""

    field: str
    description: str
    reason: str

    def __post_init__(self) -> None:
        if not _REASON.fullmatch(self.reason):
            raise ValueError(
                f"field violation {self.field!r} needs an UPPER_SNAKE reason, got {self.reason!r}"
            )


class DomainError(Exception):
    """Base of every error the domain raises on purpose. ``reason`` is a stable UPPER_SNAKE code."""

    reason: str = "DOMAIN_ERROR"

    def __init__(self, message: str, *, reason: str | None = None, metadata: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.metadata: dict[str, str] = dict(metadata or {})


class InvalidArgument(DomainError):
    """The request is malformed; ``violations`` names every bad field. Nothing was written.

    Its reason is the violations' reason when they all share one (``CREDIT_CODE_CHECK_CHARACTER``), else
    ``INVALID_ARGUMENT`` (each violation still carries its own); a subclass with a reason of its own keeps it.
    """

    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: list[FieldViolation], message: str | None = None):
        if not violations:
            raise ValueError("InvalidArgument needs at least one violation")
        text = message or "; ".join(f"{v.field}: {v.description}" for v in violations)
        shared = {v.reason for v in violations}
        super().__init__(
            text,
            reason=shared.pop() if len(shared) == 1 and type(self).reason == "INVALID_ARGUMENT" else None,
        )
        self.violations = list(violations)


def invalid(field: str, description: str, reason: str) -> InvalidArgument:
    """One bad request field, with the reason of its problem."""
    return InvalidArgument([FieldViolation(field, description, reason=reason)])


class NotFound(DomainError):
    """A named resource does not exist."""

    reason = "NOT_FOUND"

    def __init__(self, resource: str, key: str):
        super().__init__(f"{resource} {key!r} not found", metadata={"resource": resource, "key": key})
        self.resource = resource
        self.key = key


class AlreadyExists(DomainError):
    """A resource with the same key exists already."""

    reason = "ALREADY_EXISTS"


class FailedPrecondition(DomainError):
    """The request is well formed but the system's state does not allow it (e.g. too few inspectors).
    ``violations`` names the request fields at fault, when there are such."""

    reason = "FAILED_PRECONDITION"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
        violations: list[FieldViolation] | None = None,
    ):
        super().__init__(message, reason=reason, metadata=metadata)
        self.violations = list(violations or [])


class DeadlineExceeded(DomainError):
    """The caller's deadline passed before the work committed; it was abandoned and nothing was written.

    A client that sees DEADLINE_EXCEEDED cannot tell this apart from a deadline that passed during the
    commit or the reply: for it the outcome is unknown (retry with the same ``request_id``)."""

    reason = "DEADLINE_EXCEEDED"


class Cancelled(DomainError):
    """The caller cancelled the call before the work committed; it was abandoned and nothing was written."""

    reason = "CANCELLED"


class Unavailable(DomainError):
    """A dependency (the rules engine worker, the database) cannot serve now; retrying may succeed."""

    reason = "UNAVAILABLE"


class Unauthenticated(DomainError):
    """The caller did not prove who it is (no, expired or forged token)."""

    reason = "UNAUTHENTICATED"


class PermissionDenied(DomainError):
    """The caller may not do this here. Said the same way whether or not the resource exists."""

    reason = "PERMISSION_DENIED"


class ResourceExhausted(DomainError):
    """The caller is over a limit; it may retry after ``retry_after_s`` seconds. Nothing was done."""

    reason = "RESOURCE_EXHAUSTED"

    def __init__(self, message: str, *, retry_after_s: float, reason: str | None = None):
        super().__init__(message, reason=reason)
        self.retry_after_s = retry_after_s


class DataLoss(DomainError):
    """Stored data is lost or corrupt (a file that is missing or no longer has its recorded hash); the
    metadata names it. Nothing the caller can change fixes it: restore the data from a backup."""

    reason = "DATA_LOSS"


class Aborted(DomainError):
    """The request collided with another one (e.g. the same ``request_id`` still in flight); retry later."""

    reason = "ABORTED"


@dataclass
class Violations:
    """Collects field violations while validating; ``raise_if_any`` raises one ``InvalidArgument``."""

    items: list[FieldViolation] = field(default_factory=list)

    def add(self, path: str, description: str, *, reason: str) -> None:
        """Notes that ``path`` is wrong: ``description`` for people, ``reason`` (UPPER_SNAKE) for programs."""
        self.items.append(FieldViolation(path, description, reason))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(self.items)
