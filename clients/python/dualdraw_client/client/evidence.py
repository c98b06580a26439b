"""Evidence files: streamed, checked uploads and downloads, records and the check of the whole store."""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc

from dualdraw.v1 import evidence_pb2, evidence_pb2_grpc

from ..errors import from_rpc_error
from ..evidence import EvidenceReceipt, evidence_name, file_digest, receive_evidence, upload_messages
from .base import ClientBase, new_request_id, rpc_errors_mapped

DEFAULT_CONTENT_TYPE = "application/octet-stream"


def guess_content_type(path: str | Path) -> str:
    """The media type a file's name suggests (``application/octet-stream`` when it suggests none)."""
    guessed, _ = mimetypes.guess_type(str(path), strict=False)
    return guessed or DEFAULT_CONTENT_TYPE


class EvidenceCalls(ClientBase):
    """Evidence files kept content-addressed by the server (``EvidenceService``)."""

    @property
    def _evidence(self) -> evidence_pb2_grpc.EvidenceServiceStub:
        return evidence_pb2_grpc.EvidenceServiceStub(self._channel)

    def upload_evidence(
        self,
        path: str | Path,
        *,
        content_type: str | None = None,
        file_name: str | None = None,
        request_id: str | None = None,
        sent: Callable[[int], object] | None = None,
        timeout: float | None = None,
    ) -> evidence_pb2.Evidence:
        """Uploads a file (hashed first, then streamed in 1 MiB chunks) and returns its record, named by
        its SHA-256; ``sent(n)`` is called as chunks go out. The content type defaults to the one the file
        name suggests, the file name to the path's last part. Bytes stored already answer their record.

        Raises ``InvalidArgumentError`` with reason ``EVIDENCE_TOO_LARGE`` or ``EVIDENCE_TYPE_NOT_ALLOWED``
        before any byte is stored, ``EVIDENCE_HASH_MISMATCH`` when the file changed while it was sent.
        ``timeout`` covers the whole upload (default: the client's)."""
        sha256, size = file_digest(path)
        metadata = evidence_pb2.EvidenceUpload(
            sha256=sha256,
            size_bytes=size,
            content_type=content_type or guess_content_type(path),
            file_name=os.path.basename(path) if file_name is None else file_name,
        )
        with open(path, "rb") as source:
            messages = upload_messages(metadata, source, request_id or new_request_id(), sent)
            try:
                response: evidence_pb2.Evidence = self._evidence.UploadEvidence(
                    messages, timeout=self.timeout if timeout is None else timeout, metadata=self._metadata()
                )
            except grpc.RpcError as exc:
                raise from_rpc_error(exc) from None
        return response

    def get_evidence(self, name: str) -> evidence_pb2.Evidence:
        """The record of one evidence file, by name (``evidence/{sha256}``) or bare hash."""
        return self._call(
            self._evidence.GetEvidence, evidence_pb2.GetEvidenceRequest(name=evidence_name(name))
        )

    def list_evidence(self, *, page_size: int = 0, page_token: str = "") -> evidence_pb2.ListEvidenceResponse:
        """One page of evidence records, by hash."""
        request = evidence_pb2.ListEvidenceRequest(page_size=page_size, page_token=page_token)
        return self._call(self._evidence.ListEvidence, request)

    def iter_evidence(self, *, page_size: int = 0) -> Iterator[evidence_pb2.Evidence]:
        """Every evidence record, by hash, following page tokens."""
        return self._follow(
            lambda token: self.list_evidence(page_size=page_size, page_token=token),
            lambda page: page.evidence,
        )

    def download_evidence(
        self, name: str, write: Callable[[bytes], object], *, timeout: float | None = None
    ) -> EvidenceReceipt:
        """Streams an evidence file into ``write`` chunk by chunk and checks it whole against the SHA-256
        and length it is named by (``EvidenceIntegrityError`` otherwise). The server refuses a file it finds
        missing or altered with ``DataLossError`` (reason ``EVIDENCE_MISSING``, ``EVIDENCE_ALTERED``). On
        either error ``write`` may have had part of a file: discard it. ``timeout``: for the whole stream."""
        wanted = evidence_name(name)
        call = self._evidence.DownloadEvidence(
            evidence_pb2.DownloadEvidenceRequest(name=wanted),
            timeout=self.timeout if timeout is None else timeout,
            metadata=self._metadata(),
        )
        try:
            return receive_evidence(rpc_errors_mapped(call), write, name=wanted)
        finally:
            call.cancel()  # stops a stream abandoned on a fault; nothing once it has ended

    def verify_evidence(self, *, timeout: float | None = None) -> evidence_pb2.VerifyEvidenceResponse:
        """Has the server check every recorded evidence file (exists, with its hash and length); names those
        missing or altered. Hashes every file: give a ``timeout`` to match the store's size."""
        return self._call(self._evidence.VerifyEvidence, evidence_pb2.VerifyEvidenceRequest(), timeout)
