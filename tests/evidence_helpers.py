"""Uploading the evidence a test cites: records, follow-ups and objections take only uploaded files."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from pathlib import Path

from dualdraw.adapters.evidence_store import DirectoryEvidenceStore
from dualdraw.domain.evidence import EvidenceDeclaration, EvidenceLimits
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.evidence import upload_evidence
from dualdraw.service_layer.ports import UnitOfWork
from dualdraw_client import DualdrawClient


def upload_bytes(
    client: DualdrawClient, folder: Path, data: bytes = b"", file_name: str = "evidence.pdf"
) -> tuple[str, int]:
    """Uploads ``data`` (default: a few random bytes) through the API as ``file_name`` (its extension gives
    the content type); returns ``(sha256, size)`` to cite."""
    data = data or secrets.token_bytes(32)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:12]}-{file_name}"
    path.write_bytes(data)
    stored = client.upload_evidence(path, file_name=file_name)
    return stored.sha256, int(stored.size_bytes)


def store_bytes(
    unit_of_work: Callable[[], UnitOfWork],
    root: Path,
    data: bytes = b"",
    content_type: str = "application/pdf",
) -> tuple[str, int]:
    """Uploads ``data`` (default: a few random bytes) through the service layer into a directory store at
    ``root``; returns ``(sha256, size)`` to cite."""
    data = data or secrets.token_bytes(32)
    sha256 = hashlib.sha256(data).hexdigest()
    declaration = EvidenceDeclaration(sha256, len(data), content_type, "evidence")
    upload_evidence(
        unit_of_work(),
        DirectoryEvidenceStore(root),
        EvidenceLimits(),
        declaration,
        iter([data]),
        Caller("inspector-test"),
    )
    return sha256, len(data)
