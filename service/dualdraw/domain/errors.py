"""Domain errors. The API layer maps each class to one gRPC status (``dualdraw.entrypoints.grpc.errors``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: a dotted path into the request (``task.ratio``) and what is wrong with it; ``reason``
    is the UPPER_SNAKE reason of that problem when it has one of its own, else ""."""

    field: str
    description: str
    reason: str = ""


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
    """The request is malformed; ``violations`` names every bad field. Nothing was written."""

    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: list[FieldViolation], message: str | None = None):
        if not violations:
            raise ValueError("InvalidArgument needs at least one violation")
        text = message or "; ".join(f"{v.field}: {v.description}" for v in violations)
        super().__init__(text)
        self.violations = list(violations)


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


class Aborted(DomainError):
    """The request collided with another one (e.g. the same ``request_id`` still in flight); retry later."""

    reason = "ABORTED"


@dataclass
class Violations:
    """Collects field violations while validating; ``raise_if_any`` raises one ``InvalidArgument``."""

    items: list[FieldViolation] = field(default_factory=list)
    reason: str | None = None  # the first specific ErrorInfo reason a violation gave, if any

    def add(self, path: str, description: str, *, reason: str | None = None) -> None:
        self.items.append(FieldViolation(path, description, reason or ""))
        if reason is not None and self.reason is None:
            self.reason = reason

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            error = InvalidArgument(self.items)
            if self.reason is not None:
                error.reason = self.reason
            raise error
