"""Directory filings and their record hashes (``DirectoryFilingRepository``)."""

from __future__ import annotations

import builtins
import json
from collections.abc import Collection, Sequence

import sqlalchemy as sa

from dualdraw.adapters.store.codes import pack_codes, unpack_codes
from dualdraw.adapters.store.repositories.base import SqlRepository, check_page_size
from dualdraw.adapters.store.rows import DEPARTMENTS, DIRECTORY_FILINGS, FILING_RECORDS, Row
from dualdraw.domain.directory_filing import (
    DirectoryFiling,
    FilingState,
    KindSummary,
    RecordHash,
    ReturnReason,
)
from dualdraw.domain.errors import AlreadyExists, FieldViolation, InvalidArgument
from dualdraw.service_layer.ports import Page, PageRequest

_F = DIRECTORY_FILINGS.c


def _values(f: DirectoryFiling) -> dict[str, object]:
    return {
        "id": f.id,
        "department_id": f.department_id,
        "parent_department_id": f.parent_department_id,
        "sequence": f.sequence,
        "state": f.state.value,
        "digest": f.digest,
        "kinds_json": json.dumps([[k.kind, k.count, k.root] for k in f.kinds], separators=(",", ":")),
        "submitted_at": f.submitted_at,
        "submitted_by": f.submitted_by,
        "note": f.note,
        "decided_at": f.decided_at,
        "decided_by": f.decided_by,
        "return_reason": "" if f.return_reason is None else f.return_reason.value,
        "return_note": f.return_note,
        "superseded_by": f.superseded_by,
    }


def _to_filing(r: Row) -> DirectoryFiling:
    return DirectoryFiling(
        id=r.id,
        department_id=r.department_id,
        parent_department_id=r.parent_department_id,
        sequence=r.sequence,
        state=FilingState(r.state),
        digest=r.digest,
        kinds=tuple(KindSummary(kind, count, root) for kind, count, root in json.loads(r.kinds_json)),
        submitted_at=r.submitted_at,
        submitted_by=r.submitted_by,
        note=r.note,
        decided_at=r.decided_at,
        decided_by=r.decided_by,
        return_reason=ReturnReason(r.return_reason) if r.return_reason else None,
        return_note=r.return_note,
        superseded_by=r.superseded_by,
    )


def _page_key(f: DirectoryFiling) -> str:
    return f"{f.department_id}\t{f.sequence}"


def _after(page: PageRequest) -> tuple[str, int] | None:
    if page.after is None:
        return None
    department, _, sequence = page.after.partition("\t")
    if not sequence.isdigit():
        raise InvalidArgument(
            [FieldViolation("page_token", "is not a token this list issued", reason="PAGE_TOKEN_INVALID")]
        )
    return department, int(sequence)


class SqlDirectoryFilingRepository(SqlRepository):
    """Filings, one row each; the record hashes of each in a row of their own (read only for differences)."""

    def add(self, filing: DirectoryFiling, records: Sequence[RecordHash]) -> None:
        """Raises ``AlreadyExists`` (``DIRECTORY_FILING_EXISTS``) when the department's sequence number is
        taken (a concurrent filing of the same department won)."""
        self._insert_new(
            DIRECTORY_FILINGS,
            _values(filing),
            AlreadyExists(
                f"directory filing {filing.id} exists already",
                reason="DIRECTORY_FILING_EXISTS",
                metadata={"filing": filing.id},
            ),
        )
        blob = pack_codes([r.line() for r in records])
        self._connection.execute(
            sa.insert(FILING_RECORDS), [{"filing_id": filing.id, "records_packed": blob}]
        )

    def replace(self, filing: DirectoryFiling) -> None:
        """Stores a state change of a stored filing."""
        self._connection.execute(
            sa.update(DIRECTORY_FILINGS).where(_F.id == filing.id).values(_values(filing))
        )

    def get(self, id: str) -> DirectoryFiling | None:
        return self._get(DIRECTORY_FILINGS, id, _to_filing)

    def lock_department(self, department_id: str) -> None:
        """Serialises filings of one department (PostgreSQL: the department's row ``FOR UPDATE``; SQLite
        writers are serialised already)."""
        stmt = sa.select(DEPARTMENTS.c.id).where(DEPARTMENTS.c.id == department_id)
        if self._connection.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        self._connection.execute(stmt).first()

    def latest(self, department_id: str) -> DirectoryFiling | None:
        """The department's filing with the highest sequence number."""
        row = self._connection.execute(
            sa.select(DIRECTORY_FILINGS)
            .where(_F.department_id == department_id)
            .order_by(_F.sequence.desc())
            .limit(1)
        ).first()
        return None if row is None else _to_filing(row)

    def last_acknowledged(self, department_id: str, before: int | None = None) -> DirectoryFiling | None:
        """The department's latest acknowledged filing (with ``before``: of a lower sequence number)."""
        stmt = sa.select(DIRECTORY_FILINGS).where(
            _F.department_id == department_id, _F.state == FilingState.ACKNOWLEDGED.value
        )
        if before is not None:
            stmt = stmt.where(_F.sequence < before)
        row = self._connection.execute(stmt.order_by(_F.sequence.desc()).limit(1)).first()
        return None if row is None else _to_filing(row)

    def latest_of(self, department_ids: Collection[str]) -> dict[str, DirectoryFiling]:
        """The latest filing of each of ``department_ids`` that has one (one query)."""
        if not department_ids:
            return {}
        ids = sorted(set(department_ids))
        latest = (
            sa.select(_F.department_id, sa.func.max(_F.sequence).label("sequence"))
            .where(_F.department_id.in_(ids))
            .group_by(_F.department_id)
            .subquery()
        )
        rows = self._connection.execute(
            sa.select(DIRECTORY_FILINGS).join(
                latest,
                sa.and_(_F.department_id == latest.c.department_id, _F.sequence == latest.c.sequence),
            )
        )
        return {r.department_id: _to_filing(r) for r in rows}

    def records(self, id: str) -> builtins.list[RecordHash]:
        """The record hashes of filing ``id``, sorted by kind and key (empty for an unknown filing)."""
        blob = self._connection.execute(
            sa.select(FILING_RECORDS.c.records_packed).where(FILING_RECORDS.c.filing_id == id)
        ).scalar_one_or_none()
        return [] if blob is None else [RecordHash.from_line(line) for line in unpack_codes(blob)]

    def list(
        self,
        page: PageRequest,
        department_ids: Collection[str] | None = None,
        parent_ids: Collection[str] | None = None,
    ) -> Page[DirectoryFiling]:
        """Filings by department and sequence number, of ``department_ids`` and filed with ``parent_ids``
        (``None``: any)."""
        check_page_size(page)
        stmt = sa.select(DIRECTORY_FILINGS)
        if department_ids is not None:
            stmt = stmt.where(_F.department_id.in_(sorted(department_ids)))
        if parent_ids is not None:
            stmt = stmt.where(_F.parent_department_id.in_(sorted(parent_ids)))
        after = _after(page)
        if after is not None:
            stmt = stmt.where(sa.tuple_(_F.department_id, _F.sequence) > sa.tuple_(*after))
        rows = self._connection.execute(
            stmt.order_by(_F.department_id, _F.sequence).limit(page.size + 1)
        ).all()
        shown = [_to_filing(r) for r in rows[: page.size]]
        return Page(shown, _page_key(shown[-1]) if len(rows) > page.size else None)
