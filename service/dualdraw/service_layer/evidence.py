"""Evidence use cases: upload (streamed, checked, recorded once), read back (checked), verify all.

The bytes go to the ``EvidenceStore`` first and become visible there only whole and with their declared
hash; the row (and its audit event) is committed after. A crash between the two leaves a complete,
verified file that no row names: invisible through the API, and taken as is by the next upload of the
same bytes. An upload of bytes recorded already answers the recorded evidence and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from dualdraw.domain.errors import NotFound, Violations
from dualdraw.domain.evidence import (
    CHUNK_BYTES,
    Citation,
    Evidence,
    EvidenceDeclaration,
    EvidenceLimits,
    EvidenceProblem,
    citation_problems,
)
from dualdraw.runtime.crashpoints import crash_point
from dualdraw.service_layer.audit_events import record_event
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.ports import EvidenceStore, PageRequest, UnitOfWork

VERIFY_BATCH = 500
"""Rows read per transaction while verifying the store."""


def upload_evidence(
    uow: UnitOfWork,
    store: EvidenceStore,
    limits: EvidenceLimits,
    declaration: EvidenceDeclaration,
    chunks: Iterator[bytes],
    caller: Caller,
) -> Evidence:
    """Stores ``chunks`` as the file ``declaration`` describes and records it (audit event
    ``evidence.upload``). ``InvalidArgument`` for a declaration outside ``limits`` (``EVIDENCE_TOO_LARGE``,
    ``EVIDENCE_TYPE_NOT_ALLOWED``) before any byte is stored, and for bytes other than declared
    (``EVIDENCE_HASH_MISMATCH``, ``EVIDENCE_SIZE_MISMATCH``): then nothing is stored or recorded."""
    declared = declaration.check(limits)
    blob = store.put(declared.sha256, declared.size_bytes, chunks)
    evidence = Evidence(
        sha256=blob.sha256,
        size_bytes=blob.size_bytes,
        content_type=declared.content_type,
        file_name=declared.file_name,
        uploaded_by=caller.actor,
        uploaded_at=caller.now,
    )
    with uow:
        if uow.evidence.add(evidence):
            record_event(uow, caller, action="evidence.upload", resource=evidence.name, after=evidence)
            crash_point("evidence.before_commit")
            uow.commit()
            return evidence
        stored = uow.evidence.get(evidence.sha256)
    if stored is None:  # pragma: no cover - add refused only because the row exists
        raise NotFound("evidence", evidence.name)
    return stored


def require_cited(uow: UnitOfWork, citations: Sequence[Citation]) -> None:
    """Within ``uow``'s transaction: ``InvalidArgument`` with one violation per citation of a file that was
    not uploaded, or not with the cited size or content type (see ``domain.evidence.citation_problems``).
    The cited rows are read in one query."""
    if not citations:
        return
    stored = uow.evidence.get_many({c.sha256 for c in citations})
    v = Violations()
    v.items.extend(citation_problems(citations, stored))
    v.raise_if_any()


def get_evidence(reader: UnitOfWork, sha256: str) -> Evidence:
    """The recorded evidence; ``NotFound`` when no upload recorded that hash."""
    with reader as uow:
        found = uow.evidence.get(sha256)
    if found is None:
        raise NotFound("evidence", f"evidence/{sha256}")
    return found


def read_evidence(
    reader: UnitOfWork, store: EvidenceStore, sha256: str, chunk_bytes: int = CHUNK_BYTES
) -> tuple[Evidence, Iterator[bytes]]:
    """The recorded evidence and its bytes in chunks. The file is checked before the first chunk and as it
    is read: ``DataLoss`` (``EVIDENCE_MISSING``, ``EVIDENCE_ALTERED``) naming it when it is not the file
    recorded; ``NotFound`` when nothing is recorded under the hash."""
    evidence = get_evidence(reader, sha256)
    return evidence, store.read(evidence.sha256, evidence.size_bytes, chunk_bytes)


@dataclass(frozen=True)
class EvidenceCheck:
    """The outcome of checking every recorded file: how many were checked and what is wrong."""

    checked: int
    problems: list[EvidenceProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_evidence(reader: Callable[[], UnitOfWork], store: EvidenceStore) -> EvidenceCheck:
    """Checks that the file of every recorded evidence exists and has its recorded hash and size. Rows are
    read a batch per transaction, so a large store holds no transaction open while files are hashed."""
    checked = 0
    problems: list[EvidenceProblem] = []
    after: str | None = None
    while True:
        with reader() as uow:
            page = uow.evidence.list(PageRequest(VERIFY_BATCH, after))
        for evidence in page.items:
            checked += 1
            problem = store.check(evidence.sha256, evidence.size_bytes)
            if problem is not None:
                problems.append(problem)
        if page.next_after is None:
            return EvidenceCheck(checked, problems)
        after = page.next_after
