"""Python client of the dualdraw gRPC service: :class:`DualdrawClient`, typed errors, directory readers.

The names are imported from their modules on first use, so that ``dualdraw_client.i18n`` alone (the
offline verifier's messages) needs no gRPC.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .bundles import BundleReceipt, receive_bundle
    from .client import ACTOR_METADATA_KEY, DEFAULT_TARGET, DualdrawClient, new_request_id
    from .errors import (
        AlreadyExistsError,
        BundleIntegrityError,
        DataLossError,
        DeadlineExceededError,
        DualdrawError,
        EvidenceIntegrityError,
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
    from .evidence import EvidenceReceipt
    from .records import RecordError, chunk_records, read_files

_SOURCES = {
    "BundleReceipt": ".bundles",
    "receive_bundle": ".bundles",
    "ACTOR_METADATA_KEY": ".client",
    "DEFAULT_TARGET": ".client",
    "DualdrawClient": ".client",
    "new_request_id": ".client",
    "AlreadyExistsError": ".errors",
    "BundleIntegrityError": ".errors",
    "DataLossError": ".errors",
    "EvidenceIntegrityError": ".errors",
    "EvidenceReceipt": ".evidence",
    "DeadlineExceededError": ".errors",
    "DualdrawError": ".errors",
    "FailedPreconditionError": ".errors",
    "FieldViolation": ".errors",
    "InternalError": ".errors",
    "InvalidArgumentError": ".errors",
    "NotFoundError": ".errors",
    "PermissionDeniedError": ".errors",
    "UnauthenticatedError": ".errors",
    "UnavailableError": ".errors",
    "from_rpc_error": ".errors",
    "RecordError": ".records",
    "chunk_records": ".records",
    "read_files": ".records",
}

__all__ = [
    "ACTOR_METADATA_KEY",
    "DEFAULT_TARGET",
    "AlreadyExistsError",
    "BundleIntegrityError",
    "BundleReceipt",
    "DataLossError",
    "DeadlineExceededError",
    "DualdrawClient",
    "DualdrawError",
    "EvidenceIntegrityError",
    "EvidenceReceipt",
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


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use."""
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(source, __name__), name)
    globals()[name] = value
    return value
