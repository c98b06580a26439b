"""Draw records: the draw, its eligible set, inspector pool, exclusions, assignments and raises, and the
inspection history read from them (``DrawRepository``)."""

from __future__ import annotations

import builtins
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from dualdraw.adapters.store import bulk
from dualdraw.adapters.store.codes import pack_codes, unpack_codes
from dualdraw.adapters.store.repositories.base import (
    STREAM_BATCH,
    SqlRepository,
    check_page_size,
    existing_key,
    int_after,
    keyset_page,
)
from dualdraw.adapters.store.rows import (
    ASSIGNMENTS,
    DRAW_ELIGIBLE,
    DRAWS,
    EXCLUSION_COLUMNS,
    EXCLUSIONS,
    MEMBERS,
    RAISES,
    RESULTS,
    TASKS,
    draw_values,
    dump_string_lists,
    dump_strings,
    load_strings,
    to_draw,
    to_exclusion,
)
from dualdraw.domain.draw.coordination import JOINED_RULE_ID
from dualdraw.domain.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound
from dualdraw.domain.inspection_history import PastInspection
from dualdraw.domain.model import Assignment, Draw, Exclusion, TeamMember
from dualdraw.domain.policy import Raise
from dualdraw.service_layer.ports import DrawRecord, PackedCodes, Page, PageRequest

WHOLE_TABLE_ABOVE = 20_000
"""Codes beyond which the history and results are read whole and filtered here: every draw reads them
for all its candidates, and selections and results are few beside a large directory."""


def _rows_of(rows: Iterable[Any], credit_codes: Iterable[str]) -> builtins.list[Any]:
    """The ``rows`` whose ``credit_code`` is one of ``credit_codes``, found by one pass over the codes
    against the rows' own (few) codes: a set of a million wanted codes would sit at a draw's memory peak."""
    rows = builtins.list(rows)
    theirs = {r.credit_code for r in rows}
    wanted = {code for code in credit_codes if code in theirs}
    return [r for r in rows if r.credit_code in wanted]


def insert_assignments(connection: sa.Connection, draw_id: str, assignments: Sequence[Assignment]) -> None:
    """Inserts the assignments of ``draw_id`` with their teams in member order."""
    bulk.insert_tuples(
        connection,
        ASSIGNMENTS,
        ("draw_id", "position", "credit_code", "ticket", "stratum"),
        [(draw_id, a.position, a.credit_code, a.ticket, a.stratum) for a in assignments],
    )
    bulk.insert_tuples(
        connection,
        MEMBERS,
        ("draw_id", "position", "member_order", "badge_number", "leader"),
        [
            (draw_id, a.position, order, m.badge_number, m.leader)
            for a in assignments
            for order, m in enumerate(a.team)
        ],
    )


class SqlDrawRepository(SqlRepository):
    """Draws with their eligible set, inspector pool, exclusions and assignments (``DrawRepository``)."""

    def pack_codes(self, eligible_codes: Sequence[str], inspector_pool: Sequence[str]) -> PackedCodes:
        return PackedCodes(pack_codes(eligible_codes), pack_codes(inspector_pool))

    def add(self, record: DrawRecord, packed: PackedCodes | None = None) -> None:
        """Stores the whole record.

        Raises ``AlreadyExists`` (reason ``DRAW_EXISTS``) when the task already has a draw or the draw id is
        taken, and ``NotFound`` when the task does not exist. The transaction stays usable after either.
        """
        draw = record.draw
        try:
            with self._session.begin_nested():
                # The savepoint is emitted when the nested transaction's connection is first asked for.
                self._connection.execute(sa.insert(DRAWS), [draw_values(draw)])
        except IntegrityError as exc:
            connection = self._connection
            drawn = connection.execute(
                sa.select(DRAWS.c.id).where(DRAWS.c.task_id == draw.task_id, DRAWS.c.state != "abandoned")
            ).scalar_one_or_none()
            if drawn is not None:
                raise AlreadyExists(
                    f"task {draw.task_id!r} already has live draw {drawn!r}; abandon it with a reason first",
                    reason="DRAW_EXISTS",
                    metadata={"task_id": draw.task_id, "draw_id": drawn},
                ) from exc
            if existing_key(connection, DRAWS.c.id, draw.id) is not None:
                raise AlreadyExists(
                    f"draw {draw.id!r} exists already", reason="DRAW_EXISTS", metadata={"draw_id": draw.id}
                ) from exc
            if existing_key(connection, TASKS.c.id, draw.task_id) is None:
                raise NotFound("task", draw.task_id) from exc
            raise
        connection = self._connection
        codes = packed or self.pack_codes(record.eligible_codes, record.inspector_pool)
        bulk.insert(
            connection,
            DRAW_ELIGIBLE,
            [
                {
                    "draw_id": draw.id,
                    "eligible_codes_packed": codes.eligible,
                    "inspector_pool_packed": codes.pool,
                }
            ],
        )
        exclusions = record.exclusions
        bulk.insert_tuples(
            connection,
            EXCLUSIONS,
            ("draw_id", "credit_code", "rule_id", "category", "reason", "legal_basis", "evidence_json"),
            [
                (draw.id, e.credit_code, e.rule_id, e.category.value, e.reason, e.legal_basis, evidence)
                for e, evidence in zip(
                    exclusions, dump_string_lists([e.evidence for e in exclusions]), strict=True
                )
            ],
        )
        insert_assignments(connection, draw.id, record.assignments)

    def get(self, id: str) -> Draw | None:
        return self._get(DRAWS, id, to_draw)

    def get_record(self, id: str) -> DrawRecord | None:
        """The stored record: codes in stored order, exclusions by (credit code, rule id), assignments by
        position."""
        draw = self.get(id)
        if draw is None:
            return None
        connection = self._connection
        blobs = connection.execute(sa.select(DRAW_ELIGIBLE).where(DRAW_ELIGIBLE.c.draw_id == id)).one()
        exclusions = connection.execute(
            sa.select(*EXCLUSION_COLUMNS)
            .where(EXCLUSIONS.c.draw_id == id)
            .order_by(EXCLUSIONS.c.credit_code, EXCLUSIONS.c.rule_id)
            .execution_options(yield_per=STREAM_BATCH)
        )
        return DrawRecord(
            draw=draw,
            eligible_codes=unpack_codes(blobs.eligible_codes_packed),
            inspector_pool=unpack_codes(blobs.inspector_pool_packed),
            exclusions=[to_exclusion(r) for r in exclusions],
            assignments=self._assignments(id, None, None),
        )

    def inspector_pool(self, id: str) -> builtins.list[str]:
        """The frozen pool lines of draw ``id`` (empty when there is no such draw)."""
        blob = self._connection.execute(
            sa.select(DRAW_ELIGIBLE.c.inspector_pool_packed).where(DRAW_ELIGIBLE.c.draw_id == id)
        ).scalar()
        return [] if blob is None else unpack_codes(blob)

    def exclusion_pairs(self, id: str) -> Iterator[tuple[str, str]]:
        """``(credit_code, rule_id)`` of every exclusion of draw ``id``, by code then rule id, fetched in
        batches (consume it inside the unit of work)."""
        rows = self._connection.execute(
            sa.select(EXCLUSIONS.c.credit_code, EXCLUSIONS.c.rule_id)
            .where(EXCLUSIONS.c.draw_id == id)
            .order_by(EXCLUSIONS.c.credit_code, EXCLUSIONS.c.rule_id)
            .execution_options(yield_per=STREAM_BATCH)
        )
        yield from ((code, rule_id) for code, rule_id in rows)

    def list(self, page: PageRequest, task_id: str | None = None) -> Page[Draw]:
        stmt = sa.select(DRAWS)
        if task_id is not None:
            stmt = stmt.where(DRAWS.c.task_id == task_id)
        items, last = keyset_page(self._connection, stmt, DRAWS.c.id, page, to_draw)
        return Page(items, None if last is None else last.id)

    def list_assignments(self, draw_id: str, page: PageRequest) -> Page[Assignment]:
        """Pages by position; ``PageRequest.after`` is the last position as a decimal string."""
        check_page_size(page)
        after = int_after(page)
        stmt = sa.select(ASSIGNMENTS.c.position).where(ASSIGNMENTS.c.draw_id == draw_id)
        if after is not None:
            stmt = stmt.where(ASSIGNMENTS.c.position > after)
        stmt = stmt.order_by(ASSIGNMENTS.c.position).limit(page.size + 1)
        positions = self._connection.execute(stmt).scalars().all()
        if not positions:
            return Page([])
        shown = positions[: page.size]
        items = self._assignments(draw_id, shown[0], shown[-1])
        return Page(items, str(shown[-1]) if len(positions) > page.size else None)

    def _assignments(self, draw_id: str, first: int | None, last: int | None) -> builtins.list[Assignment]:
        """Assignments of ``draw_id`` with positions in ``[first, last]`` (unbounded where ``None``)."""
        connection = self._connection

        def in_range(table: sa.Table) -> builtins.list[sa.ColumnElement[bool]]:
            conditions = [table.c.draw_id == draw_id]
            if first is not None:
                conditions.append(table.c.position >= first)
            if last is not None:
                conditions.append(table.c.position <= last)
            return conditions

        teams: dict[int, builtins.list[TeamMember]] = defaultdict(builtins.list)
        members = connection.execute(
            sa.select(MEMBERS).where(*in_range(MEMBERS)).order_by(MEMBERS.c.position, MEMBERS.c.member_order)
        )
        for m in members:
            teams[m.position].append(TeamMember(m.badge_number, m.leader))
        rows = connection.execute(
            sa.select(ASSIGNMENTS).where(*in_range(ASSIGNMENTS)).order_by(ASSIGNMENTS.c.position)
        )
        return [
            Assignment(r.position, r.credit_code, r.ticket, r.stratum, tuple(teams.get(r.position, ())))
            for r in rows
        ]

    # -- raises and the inspection history -------------------------------------------------------------------

    def add_raises(self, draw_id: str, raises: Sequence[Raise]) -> None:
        bulk.insert(
            self._connection,
            RAISES,
            [
                {
                    "draw_id": draw_id,
                    "credit_code": r.credit_code,
                    "from_class": r.from_class,
                    "to_class": r.to_class,
                    "reason": r.reason,
                    "evidence_json": dump_strings(r.evidence),
                }
                for r in raises
            ],
        )

    def list_raises(self, draw_id: str, page: PageRequest) -> Page[Raise]:
        """Pages by credit code; ``after`` is the last credit code."""
        stmt = sa.select(RAISES).where(RAISES.c.draw_id == draw_id)

        def to_raise(r: Any) -> Raise:
            return Raise(r.credit_code, r.from_class, r.to_class, r.reason, load_strings(r.evidence_json))

        items, last = keyset_page(self._connection, stmt, RAISES.c.credit_code, page, to_raise)
        return Page(items, None if last is None else last.credit_code)

    def inspection_history(
        self, credit_codes: Collection[str] | None = None
    ) -> builtins.list[PastInspection]:
        """Selections of executed draws that are not rehearsals (``None``: of all objects), with the task's
        department and item, whether it was a campaign, the draw date and the team after substitutions."""
        connection = self._connection
        base = (
            sa.select(
                ASSIGNMENTS.c.draw_id,
                ASSIGNMENTS.c.position,
                ASSIGNMENTS.c.credit_code,
                DRAWS.c.as_of,
                TASKS.c.department_id,
                TASKS.c.policy_json,
                TASKS.c.item_code,
            )
            .join(DRAWS, DRAWS.c.id == ASSIGNMENTS.c.draw_id)
            .join(TASKS, TASKS.c.id == DRAWS.c.task_id)
            .where(DRAWS.c.state == "executed", TASKS.c.rehearsal == sa.false())  # rehearsals never count
        )
        rows: builtins.list[Any] = []
        if credit_codes is None:
            rows = list(connection.execute(base))
        elif len(credit_codes) > WHOLE_TABLE_ABOVE:  # every draw reads it: one scan, not 2,000 IN lists at 1M
            rows = _rows_of(connection.execute(base), credit_codes)
        else:
            codes = sorted(set(credit_codes))
            for i in range(0, len(codes), 500):
                rows.extend(connection.execute(base.where(ASSIGNMENTS.c.credit_code.in_(codes[i : i + 500]))))
        if not rows:
            return []
        draw_ids = sorted({r.draw_id for r in rows})
        teams: dict[tuple[str, int], builtins.list[str]] = defaultdict(builtins.list)
        for i in range(0, len(draw_ids), 500):
            for m in connection.execute(
                sa.select(MEMBERS.c.draw_id, MEMBERS.c.position, MEMBERS.c.badge_number)
                .where(MEMBERS.c.draw_id.in_(draw_ids[i : i + 500]))
                .order_by(MEMBERS.c.draw_id, MEMBERS.c.position, MEMBERS.c.member_order)
            ):
                teams[(m.draw_id, m.position)].append(m.badge_number)
        campaign = {
            text: bool(json.loads(text or "{}").get("campaign", False))
            for text in {r.policy_json for r in rows}
        }
        return [
            PastInspection(
                draw_id=r.draw_id,
                department_id=r.department_id,
                campaign=campaign[r.policy_json],
                as_of=r.as_of,
                credit_code=r.credit_code,
                badges=tuple(teams.get((r.draw_id, r.position), ())),
                position=r.position,
                item_code=r.item_code,
            )
            for r in rows
        ]

    def joined_inspections(self) -> builtins.list[PastInspection]:
        rows = self._connection.execute(
            sa.select(
                EXCLUSIONS.c.draw_id,
                EXCLUSIONS.c.credit_code,
                DRAWS.c.as_of,
                TASKS.c.department_id,
                TASKS.c.item_code,
            )
            .join(DRAWS, DRAWS.c.id == EXCLUSIONS.c.draw_id)
            .join(TASKS, TASKS.c.id == DRAWS.c.task_id)
            .where(
                EXCLUSIONS.c.rule_id == JOINED_RULE_ID,
                DRAWS.c.state == "executed",
                TASKS.c.rehearsal == sa.false(),
            )
        )
        return [
            PastInspection(
                draw_id=r.draw_id,
                department_id=r.department_id,
                campaign=False,
                as_of=r.as_of,
                credit_code=r.credit_code,
                item_code=r.item_code,
            )
            for r in rows
        ]

    def serious_violations(
        self, credit_codes: Collection[str]
    ) -> dict[str, builtins.list[tuple[str, dt.date]]]:
        """Per credit code, the results whose latest version opened a case or referred it to the judiciary:
        ``("<draw>/<position>/v<version>", inspected_on)``."""
        latest: dict[tuple[str, int], Any] = {}
        if len(credit_codes) > WHOLE_TABLE_ABOVE:
            batches = _rows_of(self._connection.execute(sa.select(RESULTS)), credit_codes)
        else:
            codes = sorted(set(credit_codes))
            batches = [
                r
                for i in range(0, len(codes), 500)
                for r in self._connection.execute(
                    sa.select(RESULTS).where(RESULTS.c.credit_code.in_(codes[i : i + 500]))
                )
            ]
        for r in batches:
            key = (r.draw_id, r.position)
            if key not in latest or latest[key].version < r.version:
                latest[key] = r
        out: dict[str, builtins.list[tuple[str, dt.date]]] = defaultdict(builtins.list)
        for r in latest.values():
            if r.outcome == "case_opened" or r.referred_to_judicial:
                out[r.credit_code].append((f"{r.draw_id}/{r.position}/v{r.version}", r.inspected_on))
        return dict(out)

    def list_exclusions(self, draw_id: str, page: PageRequest) -> Page[Exclusion]:
        """Pages by (credit_code, rule_id); ``after`` is ``"<credit_code>/<rule_id>"``."""
        after: tuple[str, str] | None = None
        if page.after is not None:
            credit_code, slash, rule_id = page.after.partition("/")
            if not slash:
                raise InvalidArgument(
                    [
                        FieldViolation(
                            "page_token", "is not a token this list issued", reason="PAGE_TOKEN_INVALID"
                        )
                    ]
                )
            after = (credit_code, rule_id)
        key = sa.tuple_(EXCLUSIONS.c.credit_code, EXCLUSIONS.c.rule_id)
        stmt = sa.select(*EXCLUSION_COLUMNS).where(EXCLUSIONS.c.draw_id == draw_id)
        items, last = keyset_page(self._connection, stmt, key, page, to_exclusion, after=after)
        return Page(items, None if last is None else f"{last.credit_code}/{last.rule_id}")
