"""Inspection results (``ResultRepository``)."""

from __future__ import annotations

import builtins
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa

from dualdraw.adapters.store.repositories.base import READ_BATCH, SqlRepository, keyset_page
from dualdraw.adapters.store.rows import RESULTS, Row, Values, dump_strings, load_strings
from dualdraw.domain.errors import AlreadyExists, FieldViolation, InvalidArgument
from dualdraw.domain.results import InspectionResult, Outcome, ResultEntry
from dualdraw.service_layer.ports import Page, PageRequest


def result_values(r: InspectionResult) -> Values:
    e = r.entry
    return {
        "draw_id": r.draw_id,
        "position": r.position,
        "version": r.version,
        "credit_code": r.credit_code,
        "outcome": e.outcome.value,
        "inspected_on": e.inspected_on,
        "findings": e.findings,
        "attachments_json": dump_strings(e.attachment_sha256),
        "penalty_decision_number": e.penalty_decision_number,
        "referred_to_judicial": e.referred_to_judicial,
        "referral_note": e.referral_note,
        "recorded_by": r.recorded_by,
        "recorded_at": r.recorded_at,
        "correction_reason": r.correction_reason,
    }


def to_result(r: Row) -> InspectionResult:
    return InspectionResult(
        draw_id=r.draw_id,
        position=r.position,
        version=r.version,
        credit_code=r.credit_code,
        entry=ResultEntry(
            outcome=Outcome(r.outcome),
            inspected_on=r.inspected_on,
            findings=r.findings,
            attachment_sha256=load_strings(r.attachments_json),
            penalty_decision_number=r.penalty_decision_number,
            referred_to_judicial=r.referred_to_judicial,
            referral_note=r.referral_note,
        ),
        recorded_by=r.recorded_by,
        recorded_at=r.recorded_at,
        correction_reason=r.correction_reason,
    )


class SqlResultRepository(SqlRepository):
    """Inspection results (``ResultRepository``)."""

    def add(self, result: InspectionResult) -> None:
        error = AlreadyExists(
            f"result version {result.record_id} exists already",
            reason="RESULT_VERSION_EXISTS",
            metadata={"record_id": result.record_id},
        )
        self._insert_new(RESULTS, result_values(result), error)

    def get(self, draw_id: str, position: int, version: int) -> InspectionResult | None:
        row = self._connection.execute(
            sa.select(RESULTS).where(
                RESULTS.c.draw_id == draw_id, RESULTS.c.position == position, RESULTS.c.version == version
            )
        ).first()
        return None if row is None else to_result(row)

    def history(self, draw_id: str, position: int) -> builtins.list[InspectionResult]:
        rows = self._connection.execute(
            sa.select(RESULTS)
            .where(RESULTS.c.draw_id == draw_id, RESULTS.c.position == position)
            .order_by(RESULTS.c.version)
        )
        return [to_result(r) for r in rows]

    def _latest_versions(self) -> sa.Subquery:
        return (
            sa.select(
                RESULTS.c.draw_id.label("d"),
                RESULTS.c.position.label("p"),
                sa.func.max(RESULTS.c.version).label("v"),
            )
            .group_by(RESULTS.c.draw_id, RESULTS.c.position)
            .subquery()
        )

    def _current_stmt(self) -> sa.Select[Any]:
        latest = self._latest_versions()
        return sa.select(RESULTS).join(
            latest,
            sa.and_(
                RESULTS.c.draw_id == latest.c.d,
                RESULTS.c.position == latest.c.p,
                RESULTS.c.version == latest.c.v,
            ),
        )

    def current(self, draw_id: str) -> dict[int, InspectionResult]:
        rows = self._connection.execute(
            self._current_stmt().where(RESULTS.c.draw_id == draw_id).order_by(RESULTS.c.position)
        )
        return {r.position: to_result(r) for r in rows}

    def get_many(self, keys: Collection[tuple[str, int, int]]) -> builtins.list[InspectionResult]:
        ordered = sorted(set(keys))
        out: builtins.list[InspectionResult] = []
        key = sa.tuple_(RESULTS.c.draw_id, RESULTS.c.position, RESULTS.c.version)
        for start in range(0, len(ordered), READ_BATCH):
            batch = ordered[start : start + READ_BATCH]
            rows = self._connection.execute(sa.select(RESULTS).where(key.in_(batch)))
            out.extend(to_result(r) for r in rows)
        return sorted(out, key=lambda r: (r.draw_id, r.position, r.version))

    def list_current(self, page: PageRequest, draw_id: str | None = None) -> Page[InspectionResult]:
        after: tuple[str, int] | None = None
        if page.after is not None:
            d, slash, p = page.after.rpartition("/")
            if not slash or not p.isdigit():
                raise InvalidArgument(
                    [
                        FieldViolation(
                            "page_token", "is not a token this list issued", reason="PAGE_TOKEN_INVALID"
                        )
                    ]
                )
            after = (d, int(p))
        stmt = self._current_stmt()
        if draw_id is not None:
            stmt = stmt.where(RESULTS.c.draw_id == draw_id)
        key = sa.tuple_(RESULTS.c.draw_id, RESULTS.c.position)
        items, last = keyset_page(self._connection, stmt, key, page, to_result, after=after)
        return Page(items, None if last is None else f"{last.draw_id}/{last.position}")

    def draw_ids(self) -> builtins.list[str]:
        rows = self._connection.execute(sa.select(RESULTS.c.draw_id).distinct().order_by(RESULTS.c.draw_id))
        return [r[0] for r in rows]
