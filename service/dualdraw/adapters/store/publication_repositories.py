"""SQLAlchemy implementations of the results, publication and item-version ports."""

from __future__ import annotations

import builtins
import datetime as dt
import json
from collections.abc import Collection
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from dualdraw.adapters.store.models import (
    InspectionResultRow,
    ItemVersionRow,
    PublicationRow,
    PublishedResultRow,
)
from dualdraw.adapters.store.repositories import READ_BATCH, _keyset_page, _Repository
from dualdraw.adapters.store.rows import ITEMS, Row, Values, dump_strings, item_values, load_strings, table_of
from dualdraw.domain.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound
from dualdraw.domain.item_list import ItemVersion
from dualdraw.domain.model import InspectionItem, ItemKind
from dualdraw.domain.publication import Publication
from dualdraw.domain.results import InspectionResult, Outcome, ResultEntry
from dualdraw.service_layer.ports import Page, PageRequest

RESULTS = table_of(InspectionResultRow)
PUBLICATIONS = table_of(PublicationRow)
PUBLISHED = table_of(PublishedResultRow)
ITEM_VERSIONS = table_of(ItemVersionRow)


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


def _insert_new(repo: _Repository, table: sa.Table, values: Values, error: AlreadyExists) -> None:
    try:
        with repo._session.begin_nested():
            repo._connection.execute(sa.insert(table), [values])
    except IntegrityError as exc:
        key = table.primary_key.columns
        found = repo._connection.execute(sa.select(*key).where(*[c == values[c.name] for c in key])).first()
        if found is not None:
            raise error from exc
        raise


class SqlResultRepository(_Repository):
    """Inspection results (``ResultRepository``)."""

    def add(self, result: InspectionResult) -> None:
        error = AlreadyExists(
            f"result version {result.record_id} exists already",
            reason="RESULT_VERSION_EXISTS",
            metadata={"record_id": result.record_id},
        )
        _insert_new(self, RESULTS, result_values(result), error)

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
                raise InvalidArgument([FieldViolation("page_token", "is not a token this list issued")])
            after = (d, int(p))
        stmt = self._current_stmt()
        if draw_id is not None:
            stmt = stmt.where(RESULTS.c.draw_id == draw_id)
        key = sa.tuple_(RESULTS.c.draw_id, RESULTS.c.position)
        items, last = _keyset_page(self._connection, stmt, key, page, to_result, after=after)
        return Page(items, None if last is None else f"{last.draw_id}/{last.position}")

    def draw_ids(self) -> builtins.list[str]:
        rows = self._connection.execute(sa.select(RESULTS.c.draw_id).distinct().order_by(RESULTS.c.draw_id))
        return [r[0] for r in rows]


class SqlPublicationRepository(_Repository):
    """Publications of draws' results (``PublicationRepository``)."""

    def add(self, publication: Publication) -> Publication:
        values = {
            "draw_id": publication.draw_id,
            "revision": publication.revision,
            "published_at": publication.published_at,
            "published_by": publication.published_by,
            "inspection_ended_on": publication.inspection_ended_on,
            "deadline": publication.deadline,
            "verification": publication.verification,
        }
        try:
            with self._session.begin_nested():
                result = self._connection.execute(sa.insert(PUBLICATIONS).values(**values))
        except IntegrityError as exc:
            raise AlreadyExists(
                f"draw {publication.draw_id!r} was published concurrently; retry",
                reason="PUBLICATION_CONFLICT",
                metadata={"draw_id": publication.draw_id},
            ) from exc
        key = result.inserted_primary_key
        if key is None or key[0] is None:  # pragma: no cover - both backends report the new key
            raise RuntimeError("the database did not report the publication's sequence")
        sequence = int(key[0])
        if publication.versions:
            self._connection.execute(
                sa.insert(PUBLISHED),
                [
                    {
                        "publication_sequence": sequence,
                        "position": position,
                        "draw_id": publication.draw_id,
                        "version": version,
                    }
                    for position, version in publication.versions
                ],
            )
        return Publication(
            sequence=sequence,
            draw_id=publication.draw_id,
            revision=publication.revision,
            published_at=publication.published_at.astimezone(dt.UTC),
            published_by=publication.published_by,
            inspection_ended_on=publication.inspection_ended_on,
            deadline=publication.deadline,
            verification=publication.verification,
            versions=publication.versions,
        )

    def _load(self, rows: builtins.list[Row]) -> builtins.list[Publication]:
        sequences = [r.sequence for r in rows]
        versions: dict[int, builtins.list[tuple[int, int]]] = {s: [] for s in sequences}
        for start in range(0, len(sequences), READ_BATCH):
            batch = sequences[start : start + READ_BATCH]
            for v in self._connection.execute(
                sa.select(PUBLISHED)
                .where(PUBLISHED.c.publication_sequence.in_(batch))
                .order_by(PUBLISHED.c.publication_sequence, PUBLISHED.c.position)
            ):
                versions[v.publication_sequence].append((v.position, v.version))
        return [
            Publication(
                sequence=r.sequence,
                draw_id=r.draw_id,
                revision=r.revision,
                published_at=r.published_at,
                published_by=r.published_by,
                inspection_ended_on=r.inspection_ended_on,
                deadline=r.deadline,
                verification=r.verification,
                versions=tuple(versions[r.sequence]),
            )
            for r in rows
        ]

    def latest(self, draw_id: str) -> Publication | None:
        row = self._connection.execute(
            sa.select(PUBLICATIONS)
            .where(PUBLICATIONS.c.draw_id == draw_id)
            .order_by(PUBLICATIONS.c.revision.desc())
            .limit(1)
        ).first()
        return None if row is None else self._load([row])[0]

    def latest_all(self) -> dict[str, Publication]:
        latest = (
            sa.select(PUBLICATIONS.c.draw_id.label("d"), sa.func.max(PUBLICATIONS.c.revision).label("r"))
            .group_by(PUBLICATIONS.c.draw_id)
            .subquery()
        )
        rows = self._connection.execute(
            sa.select(PUBLICATIONS)
            .join(
                latest, sa.and_(PUBLICATIONS.c.draw_id == latest.c.d, PUBLICATIONS.c.revision == latest.c.r)
            )
            .order_by(PUBLICATIONS.c.draw_id)
        ).all()
        return {p.draw_id: p for p in self._load(builtins.list(rows))}

    def after(self, sequence: int, limit: int) -> builtins.list[Publication]:
        rows = self._connection.execute(
            sa.select(PUBLICATIONS)
            .where(PUBLICATIONS.c.sequence > sequence)
            .order_by(PUBLICATIONS.c.sequence)
            .limit(limit)
        ).all()
        return self._load(builtins.list(rows))

    def previous(self, publication: Publication) -> Publication | None:
        row = self._connection.execute(
            sa.select(PUBLICATIONS).where(
                PUBLICATIONS.c.draw_id == publication.draw_id,
                PUBLICATIONS.c.revision == publication.revision - 1,
            )
        ).first()
        return None if row is None else self._load([row])[0]


def _snapshot(item: InspectionItem) -> str:
    data: dict[str, object] = {
        "code": item.code,
        "name": item.name,
        "legal_basis": item.legal_basis,
        "business_line": item.business_line,
        "target_scope": item.target_scope,
        "required_speciality": item.required_speciality,
        "kind": item.kind.value,
        "default_ratio": f"{item.default_ratio.numerator}/{item.default_ratio.denominator}",
        "department_id": item.department_id,
        "created_at": item.created_at.isoformat() if item.created_at else None,
    }
    if item.frequency_cap is not None:  # absent for items without one: older snapshots read back unchanged
        data["frequency_cap"] = item.frequency_cap
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _from_snapshot(text: str) -> InspectionItem:
    data = json.loads(text)
    n, d = data["default_ratio"].split("/")
    created = data.get("created_at")
    return InspectionItem(
        code=data["code"],
        name=data["name"],
        legal_basis=data["legal_basis"],
        business_line=data["business_line"],
        target_scope=data["target_scope"],
        required_speciality=data["required_speciality"],
        kind=ItemKind(data["kind"]),
        default_ratio=Fraction(int(n), int(d)),
        department_id=data["department_id"],
        created_at=dt.datetime.fromisoformat(created) if created else None,
        frequency_cap=data.get("frequency_cap"),
    )


def to_item_version(r: Row) -> ItemVersion:
    return ItemVersion(
        code=r.code,
        version=r.version,
        item=_from_snapshot(r.snapshot_json),
        effective_from=r.effective_from,
        published_at=r.published_at,
        published_by=r.published_by,
        change_summary=r.change_summary,
        change_legal_basis=r.change_legal_basis,
        changed_fields=load_strings(r.changed_fields_json),
    )


class SqlItemVersionRepository(_Repository):
    """Published versions of the item list (``ItemVersionRepository``)."""

    def add(self, version: ItemVersion) -> None:
        values = {
            "code": version.code,
            "version": version.version,
            "effective_from": version.effective_from,
            "published_at": version.published_at,
            "published_by": version.published_by,
            "change_summary": version.change_summary,
            "change_legal_basis": version.change_legal_basis,
            "changed_fields_json": dump_strings(version.changed_fields),
            "snapshot_json": _snapshot(version.item),
        }
        error = AlreadyExists(
            f"item {version.code!r} version {version.version} exists already",
            reason="ITEM_VERSION_EXISTS",
            metadata={"code": version.code},
        )
        _insert_new(self, ITEM_VERSIONS, values, error)

    def history(self, code: str) -> builtins.list[ItemVersion]:
        rows = self._connection.execute(
            sa.select(ITEM_VERSIONS).where(ITEM_VERSIONS.c.code == code).order_by(ITEM_VERSIONS.c.version)
        )
        return [to_item_version(r) for r in rows]

    def all(self) -> builtins.list[ItemVersion]:
        rows = self._connection.execute(
            sa.select(ITEM_VERSIONS).order_by(ITEM_VERSIONS.c.code, ITEM_VERSIONS.c.version)
        )
        return [to_item_version(r) for r in rows]

    def replace_item(self, item: InspectionItem) -> None:
        values = item_values(item)
        code = values.pop("code")
        result = self._connection.execute(sa.update(ITEMS).where(ITEMS.c.code == code).values(**values))
        if result.rowcount == 0:
            raise NotFound("inspection item", code)
