"""Checklist revisions (``ChecklistRepository``) and inspection records (``InspectionRecordRepository``)."""

from __future__ import annotations

import builtins
import json
from typing import Any

import sqlalchemy as sa

from dualdraw.adapters.store.repositories.base import SqlRepository, keyset_page
from dualdraw.adapters.store.rows import CHECKLIST_REVISIONS, INSPECTION_RECORDS, Row
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.checklists import ChecklistRevision, checklist_document, checklist_from_document
from dualdraw.domain.errors import AlreadyExists
from dualdraw.domain.inspection_records import InspectionRecord, record_document, record_from_document
from dualdraw.service_layer.ports import Page, PageRequest


def _to_revision(r: Row) -> ChecklistRevision:
    return ChecklistRevision(
        item_code=r.item_code,
        revision=r.revision,
        item_version=r.item_version,
        effective_from=r.effective_from,
        checklist=checklist_from_document(json.loads(r.checklist_json)),
        change_reason=r.change_reason,
        published_at=r.published_at,
        published_by=r.published_by,
    )


class SqlChecklistRepository(SqlRepository):
    """Checklist revisions, append-only: one row per (item code, revision)."""

    def add(self, revision: ChecklistRevision) -> None:
        values = {
            "item_code": revision.item_code,
            "revision": revision.revision,
            "item_version": revision.item_version,
            "effective_from": revision.effective_from,
            "change_reason": revision.change_reason,
            "published_at": revision.published_at,
            "published_by": revision.published_by,
            "checklist_json": canonical_json(checklist_document(revision.checklist)).decode("utf-8"),
        }
        error = AlreadyExists(
            f"checklist revision {revision.item_code}/{revision.revision} exists already",
            reason="CHECKLIST_REVISION_EXISTS",
        )
        self._insert_new(CHECKLIST_REVISIONS, values, error)

    def history(self, item_code: str) -> builtins.list[ChecklistRevision]:
        rows = self._connection.execute(
            sa.select(CHECKLIST_REVISIONS)
            .where(CHECKLIST_REVISIONS.c.item_code == item_code)
            .order_by(CHECKLIST_REVISIONS.c.revision)
        )
        return [_to_revision(r) for r in rows]


def _to_record(r: Row) -> InspectionRecord:
    return record_from_document(json.loads(r.document_json), r.content_hash)


class SqlInspectionRecordRepository(SqlRepository):
    """Inspection records, append-only: one row per (record id, version)."""

    def add(self, record: InspectionRecord) -> None:
        values = {
            "record_id": record.record_id,
            "version": record.version,
            "draw_id": record.draw_id,
            "position": record.position,
            "content_hash": record.content_hash,
            "document_json": canonical_json(record_document(record)).decode("utf-8"),
        }
        error = AlreadyExists(
            f"inspection record {record.record_id} version {record.version} exists already",
            reason="RECORD_VERSION_EXISTS",
            metadata={"record": record.name},
        )
        self._insert_new(INSPECTION_RECORDS, values, error)

    def history(self, record_id: str) -> builtins.list[InspectionRecord]:
        rows = self._connection.execute(
            sa.select(INSPECTION_RECORDS)
            .where(INSPECTION_RECORDS.c.record_id == record_id)
            .order_by(INSPECTION_RECORDS.c.version)
        )
        return [_to_record(r) for r in rows]

    def document_json(self, record_id: str, version: int) -> tuple[str, str] | None:
        row = self._connection.execute(
            sa.select(INSPECTION_RECORDS.c.document_json, INSPECTION_RECORDS.c.content_hash).where(
                INSPECTION_RECORDS.c.record_id == record_id, INSPECTION_RECORDS.c.version == version
            )
        ).first()
        return None if row is None else (row.document_json, row.content_hash)

    def list_current(
        self, page: PageRequest, draw_id: str | None = None, position: int | None = None
    ) -> Page[InspectionRecord]:
        t = INSPECTION_RECORDS
        latest = sa.select(t.c.record_id.label("r"), sa.func.max(t.c.version).label("v")).group_by(
            t.c.record_id
        )
        if draw_id is not None:
            latest = latest.where(t.c.draw_id == draw_id)
        if position is not None:
            latest = latest.where(t.c.position == position)
        sub = latest.subquery()
        stmt: sa.Select[Any] = sa.select(t).join(
            sub, sa.and_(t.c.record_id == sub.c.r, t.c.version == sub.c.v)
        )
        items, last = keyset_page(self._connection, stmt, t.c.record_id, page, _to_record)
        return Page(items, None if last is None else last.record_id)

    def all_versions(self, page: PageRequest) -> Page[tuple[str, int, str, str]]:
        """``(record_id, version, document_json, content_hash)`` of every stored version, paged by
        ``"<record_id>/<version>"`` order (``after`` is that key)."""
        t = INSPECTION_RECORDS
        key = sa.tuple_(t.c.record_id, t.c.version)
        after: Any = None
        if page.after is not None:
            record_id, _, version = page.after.rpartition("/")
            after = (record_id, int(version))
        stmt: sa.Select[Any] = sa.select(t.c.record_id, t.c.version, t.c.document_json, t.c.content_hash)
        items, last = keyset_page(
            self._connection,
            stmt,
            key,
            page,
            lambda r: (r.record_id, r.version, r.document_json, r.content_hash),
            after=after,
        )
        return Page(items, None if last is None else f"{last.record_id}/{last.version}")
