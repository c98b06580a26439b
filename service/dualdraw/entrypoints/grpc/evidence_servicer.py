"""``EvidenceService``: streamed uploads and downloads of content-addressed evidence files (thin: the
checks are the use cases' and the store's, ``dualdraw.service_layer.evidence``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import grpc

from dualdraw.domain.errors import Unavailable, invalid
from dualdraw.domain.evidence import (
    CHUNK_BYTES,
    Evidence,
    EvidenceDeclaration,
    EvidenceProblem,
    resource_name,
    sha256_of_name,
)
from dualdraw.entrypoints.grpc.convert import timestamp
from dualdraw.entrypoints.grpc.pagination import next_page_token, page_request
from dualdraw.entrypoints.grpc.servicers import Services, caller_of
from dualdraw.entrypoints.grpc.verification_servicers import stream_chunk_bytes
from dualdraw.service_layer import evidence as use_cases
from dualdraw.service_layer.ports import EvidenceStore, UnitOfWork
from dualdraw.v1 import evidence_pb2, evidence_pb2_grpc

MAX_PROBLEMS_LISTED = 1000
_KINDS = {
    "missing": evidence_pb2.EvidenceProblem.KIND_MISSING,
    "altered": evidence_pb2.EvidenceProblem.KIND_ALTERED,
}


def evidence_to_pb(e: Evidence) -> evidence_pb2.Evidence:
    return evidence_pb2.Evidence(
        name=e.name,
        sha256=e.sha256,
        size_bytes=e.size_bytes,
        content_type=e.content_type,
        file_name=e.file_name,
        uploader=e.uploaded_by,
        upload_time=timestamp(e.uploaded_at),
    )


def problem_to_pb(p: EvidenceProblem) -> evidence_pb2.EvidenceProblem:
    return evidence_pb2.EvidenceProblem(
        evidence=resource_name(p.sha256),
        kind=_KINDS[p.kind],
        location=p.location,
        found_sha256=p.found_sha256,
        found_size_bytes=max(p.found_size, 0),
    )


def _chunks(requests: Iterator[evidence_pb2.UploadEvidenceRequest]) -> Iterator[bytes]:
    """The file's bytes from the messages after the first; ``EVIDENCE_STREAM_INVALID`` for a message
    without a chunk, ``EVIDENCE_CHUNK_TOO_LARGE`` for one over 1 MiB."""
    for message in requests:
        if message.WhichOneof("part") != "chunk":
            raise invalid("metadata", "only the first message describes the file", "EVIDENCE_STREAM_INVALID")
        if len(message.chunk) > CHUNK_BYTES:
            raise invalid("chunk", f"at most {CHUNK_BYTES} bytes per message", "EVIDENCE_CHUNK_TOO_LARGE")
        yield message.chunk


class EvidenceServicer(evidence_pb2_grpc.EvidenceServiceServicer):
    def __init__(self, services: Services):
        self._s = services

    def _store(self) -> EvidenceStore:
        if self._s.evidence_store is None:
            raise Unavailable("this server keeps no evidence store", reason="EVIDENCE_STORE_UNAVAILABLE")
        return self._s.evidence_store

    def _readers(self) -> Callable[[], UnitOfWork]:
        return self._s.read_unit_of_work or self._s.unit_of_work

    def UploadEvidence(
        self, request_iterator: Iterable[evidence_pb2.UploadEvidenceRequest], context: grpc.ServicerContext
    ) -> evidence_pb2.Evidence:
        requests = iter(request_iterator)
        first = next(requests, None)
        if first is None or first.WhichOneof("part") != "metadata":
            raise invalid(
                "metadata",
                "the first message must describe the file (sha256, size)",
                "EVIDENCE_STREAM_INVALID",
            )
        m = first.metadata
        declaration = EvidenceDeclaration(m.sha256, m.size_bytes, m.content_type, m.file_name)
        stored = use_cases.upload_evidence(
            self._s.unit_of_work(),
            self._store(),
            self._s.evidence_limits,
            declaration,
            _chunks(requests),
            caller_of(context, first.request_id),
        )
        return evidence_to_pb(stored)

    def GetEvidence(
        self, request: evidence_pb2.GetEvidenceRequest, context: grpc.ServicerContext
    ) -> evidence_pb2.Evidence:
        return evidence_to_pb(use_cases.get_evidence(self._s.reader(), sha256_of_name(request.name)))

    def ListEvidence(
        self, request: evidence_pb2.ListEvidenceRequest, context: grpc.ServicerContext
    ) -> evidence_pb2.ListEvidenceResponse:
        page_req = page_request(request.page_size, request.page_token)
        with self._s.reader() as uow:
            page = uow.evidence.list(page_req)
        return evidence_pb2.ListEvidenceResponse(
            evidence=[evidence_to_pb(e) for e in page.items], next_page_token=next_page_token(page.next_after)
        )

    def DownloadEvidence(
        self, request: evidence_pb2.DownloadEvidenceRequest, context: grpc.ServicerContext
    ) -> Iterator[evidence_pb2.DownloadEvidenceResponse]:
        sha256 = sha256_of_name(request.name)
        chunk_bytes = stream_chunk_bytes(self._s.max_message_bytes)
        evidence, chunks = use_cases.read_evidence(self._s.reader(), self._store(), sha256, chunk_bytes)
        offset = 0
        header: evidence_pb2.Evidence | None = evidence_to_pb(evidence)
        for data in chunks:
            message = evidence_pb2.DownloadEvidenceResponse(offset=offset, data=data)
            if header is not None:
                message.evidence.CopyFrom(header)
                header = None
            offset += len(data)
            yield message
        if header is not None:  # an empty file: the record alone
            yield evidence_pb2.DownloadEvidenceResponse(evidence=header)

    def VerifyEvidence(
        self, request: evidence_pb2.VerifyEvidenceRequest, context: grpc.ServicerContext
    ) -> evidence_pb2.VerifyEvidenceResponse:
        check = use_cases.verify_evidence(self._readers(), self._store())
        return evidence_pb2.VerifyEvidenceResponse(
            ok=check.ok,
            evidence_checked=check.checked,
            problems=[problem_to_pb(p) for p in check.problems[:MAX_PROBLEMS_LISTED]],
            problem_count=len(check.problems),
        )
