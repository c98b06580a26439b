"""Follow-ups and objections (``FollowUpRepository``, ``ObjectionRepository``): one row each, replaced whole
under a revision check."""

from __future__ import annotations

import builtins
import datetime as dt
import json
from collections.abc import Collection
from typing import Any, cast

import sqlalchemy as sa

from dualdraw.adapters.store.models import FollowUpRow, ObjectionRow
from dualdraw.adapters.store.repositories.base import READ_BATCH, SqlRepository, keyset_page
from dualdraw.adapters.store.rows import Row, Values
from dualdraw.domain.errors import Aborted, AlreadyExists
from dualdraw.domain.follow_ups import (
    Closing,
    ClosingOutcome,
    Evidence,
    FollowUp,
    FollowUpKind,
    FollowUpState,
    Reinspection,
)
from dualdraw.domain.objections import Decision, Objection
from dualdraw.service_layer.ports import Page, PageRequest

FOLLOW_UPS = cast(sa.Table, FollowUpRow.__table__)
OBJECTIONS = cast(sa.Table, ObjectionRow.__table__)
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _dump_evidence(evidence: tuple[Evidence, ...]) -> str:
    return _JSON.encode([[e.sha256, e.size] for e in evidence])


def _load_evidence(text: str) -> tuple[Evidence, ...]:
    return tuple(Evidence(str(sha), int(size)) for sha, size in json.loads(text))


def _dump_reinspection(r: Reinspection | None) -> str:
    if r is None:
        return ""
    return _JSON.encode(
        {"on": r.inspected_on.isoformat(), "by": list(r.badge_numbers), "ok": r.rectified, "note": r.note}
    )


def _load_reinspection(text: str) -> Reinspection | None:
    if not text:
        return None
    d = json.loads(text)
    return Reinspection(dt.date.fromisoformat(d["on"]), tuple(d["by"]), bool(d["ok"]), d["note"])


def _dump_closing(c: Closing | None) -> str:
    if c is None:
        return ""
    return _JSON.encode(
        {
            "outcome": c.outcome.value,
            "text": c.text,
            "on": c.closed_on.isoformat(),
            "number": c.decision_number,
        }
    )


def _load_closing(text: str) -> Closing | None:
    if not text:
        return None
    d = json.loads(text)
    return Closing(ClosingOutcome(d["outcome"]), d["text"], dt.date.fromisoformat(d["on"]), d["number"])


def follow_up_values(f: FollowUp) -> Values:
    return {
        "id": f.id,
        "kind": f.kind.value,
        "draw_id": f.draw_id,
        "position": f.position,
        "result_version": f.result_version,
        "credit_code": f.credit_code,
        "department_id": f.department_id,
        "state": f.state.value,
        "opened_on": f.opened_on,
        "due_on": f.due_on,
        "note": f.note,
        "evidence_json": _dump_evidence(f.evidence),
        "opened_by": f.opened_by,
        "revision": f.revision,
        "reinspection_json": _dump_reinspection(f.reinspection),
        "closing_json": _dump_closing(f.closing),
        "overdue_recorded": f.overdue_recorded,
    }


def to_follow_up(r: Row) -> FollowUp:
    return FollowUp(
        id=r.id,
        kind=FollowUpKind(r.kind),
        draw_id=r.draw_id,
        position=r.position,
        result_version=r.result_version,
        credit_code=r.credit_code,
        department_id=r.department_id,
        state=FollowUpState(r.state),
        opened_on=r.opened_on,
        due_on=r.due_on,
        note=r.note,
        evidence=_load_evidence(r.evidence_json),
        opened_by=r.opened_by,
        revision=r.revision,
        reinspection=_load_reinspection(r.reinspection_json),
        closing=_load_closing(r.closing_json),
        overdue_recorded=r.overdue_recorded,
    )


def _dump_decision(d: Decision | None) -> str:
    if d is None:
        return ""
    return _JSON.encode(
        {
            "upheld": d.upheld,
            "reason": d.reason,
            "on": d.decided_on.isoformat(),
            "by": d.decided_by,
            "version": d.corrected_version,
        }
    )


def _load_decision(text: str) -> Decision | None:
    if not text:
        return None
    d = json.loads(text)
    return Decision(
        bool(d["upheld"]), d["reason"], dt.date.fromisoformat(d["on"]), d["by"], int(d["version"])
    )


def objection_values(o: Objection) -> Values:
    return {
        "id": o.id,
        "draw_id": o.draw_id,
        "position": o.position,
        "result_version": o.result_version,
        "credit_code": o.credit_code,
        "department_id": o.department_id,
        "received_on": o.received_on,
        "grounds": o.grounds,
        "evidence_json": _dump_evidence(o.evidence),
        "filed_by": o.filed_by,
        "filed_at": o.filed_at,
        "published_on": o.published_on,
        "revision": o.revision,
        "decision_json": _dump_decision(o.decision),
    }


def to_objection(r: Row) -> Objection:
    return Objection(
        id=r.id,
        draw_id=r.draw_id,
        position=r.position,
        result_version=r.result_version,
        credit_code=r.credit_code,
        department_id=r.department_id,
        received_on=r.received_on,
        grounds=r.grounds,
        evidence=_load_evidence(r.evidence_json),
        filed_by=r.filed_by,
        filed_at=r.filed_at,
        published_on=r.published_on,
        revision=r.revision,
        decision=_load_decision(r.decision_json),
    )


class _Versioned(SqlRepository):
    """Insert and revision-checked replace of one table keyed by ``id``."""

    table: sa.Table
    what: str

    def _add(self, values: Values) -> None:
        self._insert_new(
            self.table,
            values,
            AlreadyExists(f"{self.what} {values['id']!r} exists already", reason="ID_TAKEN"),
        )

    def _replace(self, values: Values, previous_revision: int) -> None:
        """Replaces the row whose revision is still ``previous_revision``; ``Aborted`` when another request
        changed it meanwhile (re-read and retry)."""
        t = self.table
        done = self._connection.execute(
            sa.update(t).where(t.c.id == values["id"], t.c.revision == previous_revision).values(**values)
        )
        if done.rowcount != 1:
            raise Aborted(
                f"{self.what} {values['id']!r} was changed by another request; read it again and retry",
                reason="CONCURRENT_CHANGE",
                metadata={"id": str(values["id"])},
            )

    def _filtered(self, department_ids: Collection[str] | None, draw_id: str | None) -> sa.Select[Any]:
        t = self.table
        stmt = sa.select(t)
        if department_ids is not None:
            stmt = stmt.where(t.c.department_id.in_(sorted(department_ids)))
        if draw_id:
            stmt = stmt.where(t.c.draw_id == draw_id)
        return stmt


class SqlFollowUpRepository(_Versioned):
    """Follow-ups (``FollowUpRepository``)."""

    table = FOLLOW_UPS
    what = "follow-up"

    def add(self, follow_up: FollowUp) -> None:
        self._add(follow_up_values(follow_up))

    def get(self, id: str) -> FollowUp | None:
        return self._get(FOLLOW_UPS, id, to_follow_up)

    def replace(self, follow_up: FollowUp, previous_revision: int) -> None:
        self._replace(follow_up_values(follow_up), previous_revision)

    def list(
        self,
        page: PageRequest,
        department_ids: Collection[str] | None = None,
        draw_id: str | None = None,
        open_only: bool = False,
    ) -> Page[FollowUp]:
        stmt = self._filtered(department_ids, draw_id)
        if open_only:
            stmt = stmt.where(FOLLOW_UPS.c.state != FollowUpState.CLOSED.value)
        items, last = keyset_page(self._connection, stmt, FOLLOW_UPS.c.id, page, to_follow_up)
        return Page(items, None if last is None else last.id)

    def overdue(
        self, today: dt.date, department_ids: Collection[str] | None = None
    ) -> builtins.list[FollowUp]:
        stmt = self._filtered(department_ids, None).where(
            FOLLOW_UPS.c.state != FollowUpState.CLOSED.value, FOLLOW_UPS.c.due_on < today
        )
        rows = self._connection.execute(
            stmt.order_by(FOLLOW_UPS.c.department_id, FOLLOW_UPS.c.due_on, FOLLOW_UPS.c.id)
        )
        return [to_follow_up(r) for r in rows]

    def of_results(self, keys: Collection[tuple[str, int]]) -> builtins.list[FollowUp]:
        ordered = sorted(set(keys))
        out: builtins.list[FollowUp] = []
        key = sa.tuple_(FOLLOW_UPS.c.draw_id, FOLLOW_UPS.c.position)
        for start in range(0, len(ordered), READ_BATCH):
            rows = self._connection.execute(
                sa.select(FOLLOW_UPS).where(key.in_(ordered[start : start + READ_BATCH]))
            )
            out.extend(to_follow_up(r) for r in rows)
        return sorted(out, key=lambda f: (f.draw_id, f.position, f.opened_on, f.id))


class SqlObjectionRepository(_Versioned):
    """Objections (``ObjectionRepository``)."""

    table = OBJECTIONS
    what = "objection"

    def add(self, objection: Objection) -> None:
        self._add(objection_values(objection))

    def get(self, id: str) -> Objection | None:
        return self._get(OBJECTIONS, id, to_objection)

    def replace(self, objection: Objection, previous_revision: int) -> None:
        self._replace(objection_values(objection), previous_revision)

    def list(
        self,
        page: PageRequest,
        department_ids: Collection[str] | None = None,
        draw_id: str | None = None,
    ) -> Page[Objection]:
        stmt = self._filtered(department_ids, draw_id)
        items, last = keyset_page(self._connection, stmt, OBJECTIONS.c.id, page, to_objection)
        return Page(items, None if last is None else last.id)

    def of_results(self, keys: Collection[tuple[str, int]]) -> builtins.list[Objection]:
        ordered = sorted(set(keys))
        out: builtins.list[Objection] = []
        key = sa.tuple_(OBJECTIONS.c.draw_id, OBJECTIONS.c.position)
        for start in range(0, len(ordered), READ_BATCH):
            rows = self._connection.execute(
                sa.select(OBJECTIONS).where(key.in_(ordered[start : start + READ_BATCH]))
            )
            out.extend(to_objection(r) for r in rows)
        return sorted(out, key=lambda o: (o.draw_id, o.position, o.received_on, o.id))
