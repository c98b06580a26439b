"""The record of stored evidence files (``EvidenceRepository``): one row per SHA-256."""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from dualdraw.adapters.store.repositories.base import SqlRepository, keyset_page
from dualdraw.adapters.store.rows import EVIDENCE, Row
from dualdraw.domain.evidence import Evidence
from dualdraw.service_layer.ports import Page, PageRequest


def _to_evidence(r: Row) -> Evidence:
    return Evidence(
        sha256=r.sha256,
        size_bytes=int(r.size_bytes),
        content_type=r.content_type,
        file_name=r.file_name,
        uploaded_by=r.uploaded_by,
        uploaded_at=r.uploaded_at,
    )


class SqlEvidenceRepository(SqlRepository):
    """Evidence rows; the first upload of a hash writes the row, later ones leave it as it is."""

    def add(self, evidence: Evidence) -> bool:
        if self.get(evidence.sha256) is not None:
            return False
        try:
            with self._session.begin_nested():
                self._connection.execute(
                    sa.insert(EVIDENCE),
                    [
                        {
                            "sha256": evidence.sha256,
                            "size_bytes": evidence.size_bytes,
                            "content_type": evidence.content_type,
                            "file_name": evidence.file_name,
                            "uploaded_by": evidence.uploaded_by,
                            "uploaded_at": evidence.uploaded_at,
                        }
                    ],
                )
        except IntegrityError:  # a concurrent upload of the same bytes recorded them first
            return False
        return True

    def get(self, sha256: str) -> Evidence | None:
        return self._get(EVIDENCE, sha256, _to_evidence)

    def get_many(self, sha256s: Collection[str]) -> dict[str, Evidence]:
        wanted = sorted(set(sha256s))
        if not wanted:
            return {}
        rows = self._connection.execute(sa.select(EVIDENCE).where(EVIDENCE.c.sha256.in_(wanted)))
        return {r.sha256: _to_evidence(r) for r in rows}

    def list(self, page: PageRequest) -> Page[Evidence]:
        items, last = keyset_page(
            self._connection, sa.select(EVIDENCE), EVIDENCE.c.sha256, page, _to_evidence
        )
        return Page(items, None if last is None else str(last.sha256))
