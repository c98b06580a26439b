"""Evidence files on the client side: hashing a file before its upload, the upload's messages, and
checking a download (:func:`receive_evidence`) against the SHA-256 and length it is named by."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from dualdraw.v1 import evidence_pb2

from .errors import EvidenceIntegrityError

__all__ = ["CHUNK_BYTES", "EvidenceReceipt", "evidence_name", "file_digest", "receive_evidence"]

CHUNK_BYTES: Final = 1024 * 1024
"""Bytes per upload message (the server takes at most 1 MiB)."""


def evidence_name(name_or_sha256: str) -> str:
    """``evidence/{sha256}`` from a bare hash or a name (the server checks the form)."""
    return "evidence/" + name_or_sha256.strip().removeprefix("evidence/").lower()


def file_digest(path: str | Path) -> tuple[str, int]:
    """The SHA-256 (hex) and length of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def upload_messages(
    metadata: evidence_pb2.EvidenceUpload,
    source: BinaryIO,
    request_id: str,
    sent: Callable[[int], object] | None = None,
) -> Iterator[evidence_pb2.UploadEvidenceRequest]:
    """The upload stream: ``metadata`` (with ``request_id``) first, then ``source`` in 1 MiB chunks;
    ``sent(n)`` after each chunk is handed to gRPC."""
    yield evidence_pb2.UploadEvidenceRequest(metadata=metadata, request_id=request_id)
    while chunk := source.read(CHUNK_BYTES):
        yield evidence_pb2.UploadEvidenceRequest(chunk=chunk)
        if sent is not None:
            sent(len(chunk))


@dataclass(frozen=True)
class EvidenceReceipt:
    """What a download delivered, checked: the evidence's name, SHA-256, length, type and file name."""

    name: str
    sha256: str
    size_bytes: int
    content_type: str
    file_name: str


def receive_evidence(
    messages: Iterable[evidence_pb2.DownloadEvidenceResponse],
    write: Callable[[bytes], object],
    *,
    name: str,
) -> EvidenceReceipt:
    """Passes each message's data to ``write`` in order and checks the stream: the record first (of the
    evidence asked for), contiguous offsets, no more bytes than recorded, and at the end the length and
    SHA-256 the evidence is named by. Raises ``EvidenceIntegrityError`` on any fault; ``write`` may then
    have had part of the file (callers writing a file discard it)."""
    digest = hashlib.sha256()
    received = 0
    record: evidence_pb2.Evidence | None = None
    for message in messages:
        if record is None:
            if not message.HasField("evidence") or message.evidence.name != name:
                raise EvidenceIntegrityError(f"{name}: the download did not start with the record asked for")
            record = message.evidence
        if message.offset != received:
            raise EvidenceIntegrityError(
                f"{name}: a chunk starts at byte {message.offset}, expected {received}"
            )
        received += len(message.data)
        if received > record.size_bytes:
            raise EvidenceIntegrityError(f"{name}: more than the recorded {record.size_bytes} bytes arrived")
        digest.update(message.data)
        write(message.data)
    if record is None:
        raise EvidenceIntegrityError(f"{name}: nothing arrived")
    actual = digest.hexdigest()
    if received != record.size_bytes or actual != name.removeprefix("evidence/"):
        raise EvidenceIntegrityError(
            f"{name}: {received} bytes with SHA-256 {actual} arrived, not the {record.size_bytes} bytes named"
        )
    return EvidenceReceipt(record.name, actual, received, record.content_type, record.file_name)
