"""Experts, testing institutions, items' requirements of them and expert draws (``ExpertRepository``)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa

from dualdraw.adapters.store.repositories.base import READ_BATCH, SqlRepository, keyset_page, last_per_key
from dualdraw.adapters.store.rows import (
    EXPERT_DRAWS,
    EXPERT_REQUIREMENTS,
    EXPERT_SELECTIONS,
    EXPERTS,
    INSTITUTIONS,
    Row,
)
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.draw.expert_draw import (
    EXPERT,
    Expert,
    ExpertDraw,
    Qualification,
    Requirement,
    Selection,
    TestingInstitution,
)
from dualdraw.service_layer.ports import Page, PageRequest


def _qualifications_json(items: Sequence[Qualification]) -> str:
    rows = sorted(
        ({"code": q.code, "expires_on": q.expires_on.isoformat() if q.expires_on else None} for q in items),
        key=lambda q: (q["code"], q["expires_on"] or ""),
    )
    return canonical_json(rows).decode("utf-8")


def _qualifications(text: str) -> tuple[Qualification, ...]:
    return tuple(
        Qualification(q["code"], dt.date.fromisoformat(q["expires_on"]) if q["expires_on"] else None)
        for q in json.loads(text)
    )


def _codes_json(codes: Collection[str]) -> str:
    return canonical_json(sorted(codes)).decode("utf-8")


def _expert(r: Row) -> Expert:
    return Expert(
        id=r.id,
        display_name=r.display_name,
        department_id=r.department_id,
        qualifications=_qualifications(r.qualifications_json),
        employer_credit_code=r.employer_credit_code,
        conflicts=frozenset(json.loads(r.conflicts_json)),
    )


def _institution(r: Row) -> TestingInstitution:
    return TestingInstitution(
        id=r.id,
        display_name=r.display_name,
        department_id=r.department_id,
        credit_code=r.credit_code,
        qualifications=_qualifications(r.qualifications_json),
        conflicts=frozenset(json.loads(r.conflicts_json)),
    )


def _draw(r: Row) -> ExpertDraw:
    return ExpertDraw(
        id=r.id,
        draw_id=r.draw_id,
        kind=r.kind,
        as_of=r.as_of,
        inputs_json=r.inputs_json,
        inputs_hash=r.inputs_hash,
        entropy_source=r.entropy_source,
        requested_at=r.requested_at,
        actor=r.actor,
        state=r.state,
        entropy=r.entropy,
        seed=r.seed,
        result_json=r.result_json,
        result_hash=r.result_hash,
        executed_at=r.executed_at,
        beacon_value=r.beacon_value,
    )


class SqlExpertRepository(SqlRepository):
    def _upsert(self, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        ids = [r["id"] for r in rows]
        for start in range(0, len(ids), READ_BATCH):
            self._connection.execute(sa.delete(table).where(table.c.id.in_(ids[start : start + READ_BATCH])))
        self._connection.execute(sa.insert(table), rows)

    def upsert_experts(self, items: Sequence[Expert]) -> None:
        rows = [
            {
                "id": e.id,
                "display_name": e.display_name,
                "department_id": e.department_id,
                "employer_credit_code": e.employer_credit_code,
                "qualifications_json": _qualifications_json(e.qualifications),
                "conflicts_json": _codes_json(e.conflicts),
            }
            for e in last_per_key(items, lambda e: e.id)
        ]
        self._upsert(EXPERTS, rows)

    def upsert_institutions(self, items: Sequence[TestingInstitution]) -> None:
        rows = [
            {
                "id": i.id,
                "display_name": i.display_name,
                "department_id": i.department_id,
                "credit_code": i.credit_code,
                "qualifications_json": _qualifications_json(i.qualifications),
                "conflicts_json": _codes_json(i.conflicts),
            }
            for i in last_per_key(items, lambda i: i.id)
        ]
        self._upsert(INSTITUTIONS, rows)

    def owners(self, kind: str, ids: Collection[str]) -> dict[str, str]:
        table = EXPERTS if kind == EXPERT else INSTITUTIONS
        keys = sorted(set(ids))
        found: dict[str, str] = {}
        for start in range(0, len(keys), READ_BATCH):
            stmt = sa.select(table.c.id, table.c.department_id).where(
                table.c.id.in_(keys[start : start + READ_BATCH])
            )
            found.update({r.id: r.department_id for r in self._connection.execute(stmt)})
        return found

    def get_expert(self, id: str) -> Expert | None:
        return self._get(EXPERTS, id, _expert)

    def get_institution(self, id: str) -> TestingInstitution | None:
        return self._get(INSTITUTIONS, id, _institution)

    def list_experts(self, page: PageRequest, department_ids: Collection[str] | None = None) -> Page[Expert]:
        stmt = sa.select(EXPERTS)
        if department_ids is not None:
            stmt = stmt.where(EXPERTS.c.department_id.in_(sorted(department_ids)))
        items, last = keyset_page(self._connection, stmt, EXPERTS.c.id, page, _expert)
        return Page(items, last.id if last is not None else None)

    def list_institutions(
        self, page: PageRequest, department_ids: Collection[str] | None = None
    ) -> Page[TestingInstitution]:
        stmt = sa.select(INSTITUTIONS)
        if department_ids is not None:
            stmt = stmt.where(INSTITUTIONS.c.department_id.in_(sorted(department_ids)))
        items, last = keyset_page(self._connection, stmt, INSTITUTIONS.c.id, page, _institution)
        return Page(items, last.id if last is not None else None)

    def experts_of(self, department_ids: Collection[str]) -> list[Expert]:
        stmt = sa.select(EXPERTS).where(EXPERTS.c.department_id.in_(sorted(department_ids)))
        return [_expert(r) for r in self._connection.execute(stmt.order_by(EXPERTS.c.id))]

    def institutions_of(self, department_ids: Collection[str]) -> list[TestingInstitution]:
        stmt = sa.select(INSTITUTIONS).where(INSTITUTIONS.c.department_id.in_(sorted(department_ids)))
        return [_institution(r) for r in self._connection.execute(stmt.order_by(INSTITUTIONS.c.id))]

    def holders(self, kind: str, qualification: str) -> list[Expert | TestingInstitution]:
        # The qualification lists are short canonical JSON: a LIKE narrows the rows, the exact test follows.
        needle = canonical_json({"code": qualification}).decode("utf-8")[1:-1]
        table, convert = (EXPERTS, _expert) if kind == EXPERT else (INSTITUTIONS, _institution)
        stmt = sa.select(table).where(table.c.qualifications_json.contains(needle, autoescape=True))
        found: list[Expert | TestingInstitution] = [convert(r) for r in self._connection.execute(stmt)]
        return [e for e in found if any(q.code == qualification for q in e.qualifications)]

    def set_requirement(self, requirement: Requirement, at: dt.datetime) -> None:
        key = (EXPERT_REQUIREMENTS.c.item_code == requirement.item_code) & (
            EXPERT_REQUIREMENTS.c.kind == requirement.kind
        )
        self._connection.execute(sa.delete(EXPERT_REQUIREMENTS).where(key))
        if requirement.count > 0:
            self._connection.execute(
                sa.insert(EXPERT_REQUIREMENTS),
                [
                    {
                        "item_code": requirement.item_code,
                        "kind": requirement.kind,
                        "qualification": requirement.qualification,
                        "count": requirement.count,
                        "updated_at": at,
                    }
                ],
            )

    def requirements(self, item_code: str) -> list[Requirement]:
        stmt = (
            sa.select(EXPERT_REQUIREMENTS)
            .where(EXPERT_REQUIREMENTS.c.item_code == item_code)
            .order_by(EXPERT_REQUIREMENTS.c.kind)
        )
        return [
            Requirement(r.item_code, r.kind, r.qualification, r._mapping["count"])
            for r in self._connection.execute(stmt)
        ]

    def add_draw(self, draw: ExpertDraw, local_secret: str) -> None:
        self._connection.execute(
            sa.insert(EXPERT_DRAWS),
            [
                {
                    "id": draw.id,
                    "draw_id": draw.draw_id,
                    "kind": draw.kind,
                    "state": draw.state,
                    "as_of": draw.as_of,
                    "inputs_json": draw.inputs_json,
                    "inputs_hash": draw.inputs_hash,
                    "entropy_source": draw.entropy_source,
                    "local_secret": local_secret,
                    "entropy": draw.entropy,
                    "seed": draw.seed,
                    "result_json": draw.result_json,
                    "result_hash": draw.result_hash,
                    "beacon_value": draw.beacon_value,
                    "requested_at": draw.requested_at,
                    "executed_at": draw.executed_at,
                    "actor": draw.actor,
                }
            ],
        )

    def get_draw(self, id: str) -> tuple[ExpertDraw, str] | None:
        row = self._connection.execute(sa.select(EXPERT_DRAWS).where(EXPERT_DRAWS.c.id == id)).first()
        return None if row is None else (_draw(row), row.local_secret)

    def draws_of(self, draw_id: str) -> list[ExpertDraw]:
        stmt = (
            sa.select(EXPERT_DRAWS)
            .where(EXPERT_DRAWS.c.draw_id == draw_id)
            .order_by(EXPERT_DRAWS.c.requested_at, EXPERT_DRAWS.c.id)
        )
        return [_draw(r) for r in self._connection.execute(stmt)]

    def complete_draw(self, draw: ExpertDraw, selections: Sequence[Selection], at: dt.datetime) -> None:
        self._connection.execute(
            sa.update(EXPERT_DRAWS)
            .where(EXPERT_DRAWS.c.id == draw.id)
            .values(
                state=draw.state,
                entropy=draw.entropy,
                seed=draw.seed,
                result_json=draw.result_json,
                result_hash=draw.result_hash,
                beacon_value=draw.beacon_value,
                executed_at=at,
            )
        )
        if selections:
            self._connection.execute(
                sa.insert(EXPERT_SELECTIONS),
                [
                    {
                        "expert_draw_id": draw.id,
                        "position": s.position,
                        "rank": s.rank,
                        "member_id": s.member_id,
                        "credit_code": s.credit_code,
                        "ticket": s.ticket,
                    }
                    for s in selections
                ],
            )

    def selections(self, expert_draw_id: str) -> list[Selection]:
        stmt = (
            sa.select(EXPERT_SELECTIONS)
            .where(EXPERT_SELECTIONS.c.expert_draw_id == expert_draw_id)
            .order_by(EXPERT_SELECTIONS.c.position, EXPERT_SELECTIONS.c.rank)
        )
        return [
            Selection(r.position, r.rank, r.member_id, r.credit_code, r.ticket)
            for r in self._connection.execute(stmt)
        ]

    def served(
        self, kind: str, credit_codes: Collection[str], since: dt.date, until: dt.date
    ) -> dict[str, set[str]]:
        codes = sorted(set(credit_codes))
        found: dict[str, set[str]] = {}
        for start in range(0, len(codes), READ_BATCH):
            stmt = (
                sa.select(EXPERT_SELECTIONS.c.member_id, EXPERT_SELECTIONS.c.credit_code)
                .join(EXPERT_DRAWS, EXPERT_DRAWS.c.id == EXPERT_SELECTIONS.c.expert_draw_id)
                .where(
                    EXPERT_DRAWS.c.kind == kind,
                    EXPERT_DRAWS.c.state == "executed",
                    EXPERT_DRAWS.c.as_of >= since,
                    EXPERT_DRAWS.c.as_of <= until,
                    EXPERT_SELECTIONS.c.credit_code.in_(codes[start : start + READ_BATCH]),
                )
            )
            for r in self._connection.execute(stmt):
                found.setdefault(r.member_id, set()).add(r.credit_code)
        return found
