"""Exports (CSV and JSON Lines) of results, assignments, exclusions and the item list, and the credit-record
feed (docs/CREDIT-EXPORT.md). Every export is produced page by page, each page in its own short
transaction, so a large set streams in bounded memory.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from enum import StrEnum
from typing import Any

from dualdraw.domain.errors import FieldViolation, InvalidArgument, NotFound
from dualdraw.domain.publication import PublicResult
from dualdraw.domain.results import OUTCOME_LABELS_ZH
from dualdraw.service_layer.audit_events import snapshot
from dualdraw.service_layer.ports import Page, PageRequest, UnitOfWork
from dualdraw.service_layer.publication import credit_increments

EXPORT_PAGE = 1000
CREDIT_SCHEMA = "dualdraw.credit-record/1"


class ExportKind(StrEnum):
    RESULTS = "results"
    ASSIGNMENTS = "assignments"
    EXCLUSIONS = "exclusions"
    ITEMS = "items"


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


COLUMNS: dict[ExportKind, tuple[str, ...]] = {
    ExportKind.RESULTS: (
        "record_id",
        "draw_id",
        "position",
        "version",
        "credit_code",
        "outcome",
        "inspected_on",
        "findings",
        "attachment_sha256",
        "penalty_decision_number",
        "referred_to_judicial",
        "referral_note",
        "recorded_by",
        "recorded_at",
        "correction_reason",
    ),
    ExportKind.ASSIGNMENTS: (
        "draw_id",
        "position",
        "credit_code",
        "object_name",
        "ticket",
        "stratum",
        "team",
    ),
    ExportKind.EXCLUSIONS: (
        "draw_id",
        "credit_code",
        "object_name",
        "rule_id",
        "category",
        "reason",
        "legal_basis",
        "evidence",
    ),
    ExportKind.ITEMS: (
        "code",
        "name",
        "legal_basis",
        "business_line",
        "target_scope",
        "required_speciality",
        "kind",
        "default_ratio",
        "department_id",
        "created_at",
    ),
}

Record = dict[str, Any]


def _pages(
    uow: UnitOfWork, fetch: Callable[[UnitOfWork, PageRequest], tuple[Page[Any], list[Record]]]
) -> Iterator[list[Record]]:
    after: str | None = None
    while True:
        with uow:
            page, records = fetch(uow, PageRequest(size=EXPORT_PAGE, after=after))
        if records:
            yield records
        if page.next_after is None:
            return
        after = page.next_after


def _names(uow: UnitOfWork, codes: Sequence[str]) -> dict[str, str]:
    return {c: o.name for c, o in uow.directory.objects_by_code(set(codes)).items()}


def export_records(uow: UnitOfWork, kind: ExportKind, draw_id: str = "") -> Iterator[list[Record]]:
    """The records of an export, a page at a time."""
    if kind in (ExportKind.ASSIGNMENTS, ExportKind.EXCLUSIONS):
        if not draw_id:
            raise InvalidArgument(
                [FieldViolation("draw_id", f"is required to export {kind.value}", reason="FIELD_REQUIRED")]
            )
        with uow:
            if uow.draws.get(draw_id) is None:
                raise NotFound("draw", draw_id)

    def results(u: UnitOfWork, p: PageRequest) -> tuple[Page[Any], list[Record]]:
        page = u.results.list_current(p, draw_id or None)
        out = []
        for r in page.items:
            row = {"record_id": r.record_id, **snapshot(r)}
            row.update(snapshot(r.entry))
            out.append({c: row[c] for c in COLUMNS[ExportKind.RESULTS]})
        return page, out

    def assignments(u: UnitOfWork, p: PageRequest) -> tuple[Page[Any], list[Record]]:
        page = u.draws.list_assignments(draw_id, p)
        names = _names(u, [a.credit_code for a in page.items])
        return page, [
            {
                "draw_id": draw_id,
                "position": a.position,
                "credit_code": a.credit_code,
                "object_name": names.get(a.credit_code, ""),
                "ticket": a.ticket,
                "stratum": a.stratum,
                "team": [m.badge_number + ("*" if m.leader else "") for m in a.team],
            }
            for a in page.items
        ]

    def exclusions(u: UnitOfWork, p: PageRequest) -> tuple[Page[Any], list[Record]]:
        page = u.draws.list_exclusions(draw_id, p)
        names = _names(u, [e.credit_code for e in page.items])
        return page, [
            {
                "draw_id": draw_id,
                "credit_code": e.credit_code,
                "object_name": names.get(e.credit_code, ""),
                "rule_id": e.rule_id,
                "category": e.category.value,
                "reason": e.reason,
                "legal_basis": e.legal_basis,
                "evidence": list(e.evidence),
            }
            for e in page.items
        ]

    def items(u: UnitOfWork, p: PageRequest) -> tuple[Page[Any], list[Record]]:
        page = u.items.list(p)
        return page, [{c: snapshot(i)[c] for c in COLUMNS[ExportKind.ITEMS]} for i in page.items]

    fetch = {
        ExportKind.RESULTS: results,
        ExportKind.ASSIGNMENTS: assignments,
        ExportKind.EXCLUSIONS: exclusions,
        ExportKind.ITEMS: items,
    }[kind]
    return _pages(uow, fetch)


def _csv_cell(value: Any) -> str:
    if isinstance(value, list):
        return ";".join(map(str, value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def encode(kind: ExportKind, fmt: ExportFormat, pages: Iterator[list[Record]]) -> Iterator[tuple[bytes, int]]:
    """Encoded chunks (bytes, record count): a CSV header first, then one chunk per page."""
    if fmt is ExportFormat.CSV:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(COLUMNS[kind])
        yield buffer.getvalue().encode("utf-8"), 0
    for page in pages:
        buffer = io.StringIO()
        if fmt is ExportFormat.CSV:
            writer = csv.writer(buffer, lineterminator="\n")
            for record in page:
                writer.writerow([_csv_cell(record[c]) for c in COLUMNS[kind]])
        else:
            for record in page:
                buffer.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        yield buffer.getvalue().encode("utf-8"), len(page)


# --- the credit-record feed (Art. 13) ----------------------------------------------------------------


def credit_record(result: PublicResult) -> Record:
    """One line of the credit export (docs/CREDIT-EXPORT.md): only published, public fields."""
    return {
        "schema": CREDIT_SCHEMA,
        "record_id": result.record_id,
        "credit_code": result.credit_code,
        "object_name": result.object_name,
        "version": result.version,
        "supersedes": result.supersedes or None,
        "correction_reason": result.correction_reason or None,
        "department_id": result.department_id,
        "department_name": result.department_name,
        "item_code": result.item_code,
        "item_name": result.item_name,
        "draw_id": result.draw_id,
        "inspected_on": result.inspected_on.isoformat(),
        "outcome": result.outcome.value,
        "outcome_label": OUTCOME_LABELS_ZH[result.outcome],
        "findings": result.findings,
        "penalty_decision_number": result.penalty_decision_number or None,
        "referred_to_judicial": result.referred_to_judicial,
        "published_at": result.published_at.isoformat().replace("+00:00", "Z"),
        "checkpoint": result.publication_sequence,
    }


def credit_export(uow: UnitOfWork, since: int) -> Iterator[tuple[bytes, int, int]]:
    """Chunks (JSON Lines bytes, checkpoint after the chunk, record count), one per publication.

    Re-running with the same ``since`` yields the same bytes; records are keyed by ``record_id``.
    """
    if since < 0:
        raise InvalidArgument(
            [FieldViolation("since_checkpoint", "must not be negative", reason="VALUE_OUT_OF_RANGE")]
        )
    for publication, results in credit_increments(uow, since):
        lines = [
            json.dumps(credit_record(r), ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
            for r in results
        ]
        yield "".join(lines).encode("utf-8"), publication.sequence, len(lines)
