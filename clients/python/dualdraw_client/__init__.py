"""Python client of the dualdraw gRPC service: :class:`DualdrawClient`, typed errors, directory readers."""

from .bundles import BundleReceipt, receive_bundle
from .client import ACTOR_METADATA_KEY, DEFAULT_TARGET, DualdrawClient, new_request_id
from .errors import (
    AlreadyExistsError,
    BundleIntegrityError,
    DeadlineExceededError,
    DualdrawError,
    FailedPreconditionError,
    FieldViolation,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnavailableError,
    from_rpc_error,
)
from .records import RecordError, chunk_records, read_files

__all__ = [
    "ACTOR_METADATA_KEY",
    "DEFAULT_TARGET",
    "AlreadyExistsError",
    "BundleIntegrityError",
    "BundleReceipt",
    "DeadlineExceededError",
    "DualdrawClient",
    "DualdrawError",
    "FailedPreconditionError",
    "FieldViolation",
    "InternalError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "RecordError",
    "UnauthenticatedError",
    "UnavailableError",
    "chunk_records",
    "from_rpc_error",
    "new_request_id",
    "read_files",
    "receive_bundle",
]
