"""The verifiable draw lifecycle: commitments, entropy inputs, state changes, execution, substitutions and
the locks on a department's inspection history (``DrawLifecycleRepository``)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from dualdraw.adapters.store.codes import PACK_PIECE, iter_codes, pack_codes, pack_text, unpack_codes
from dualdraw.adapters.store.database import SQLITE_BEGIN_KEY
from dualdraw.adapters.store.repositories.base import SqlRepository
from dualdraw.adapters.store.repositories.draws import insert_assignments
from dualdraw.adapters.store.rows import (
    DRAW_COMMITMENTS,
    DRAWS,
    ENTROPY_INPUTS,
    ITEMS,
    MEMBERS,
    SUBSTITUTIONS,
    TASKS,
    Row,
    to_draw,
)
from dualdraw.domain.draw.commitments import EligibleEntry, entry_lines, entry_text
from dualdraw.domain.draw.entropy import EntropyInput
from dualdraw.domain.draw.object_plan import (
    ObjectPlan,
    PlanRow,
    RaisedRow,
    plan_text,
    rows_from_stored,
    stored_lines,
)
from dualdraw.domain.draw.substitution import Substitution
from dualdraw.domain.errors import AlreadyExists, NotFound
from dualdraw.domain.model import Assignment, Draw
from dualdraw.service_layer.ports import PackedCommitments, PendingDraw


def history_lock_key(department_id: str) -> int:
    """The PostgreSQL advisory-lock key of one department's draws: the first 8 bytes of a SHA-256 of a
    fixed label and the id, as a signed 64-bit integer (a collision only serialises two departments)."""
    digest = hashlib.sha256(b"dualdraw/draw-history/v1\x00" + department_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


_NOT_REHEARSALS = sa.select(TASKS.c.id).where(TASKS.c.rehearsal == sa.false())
"""Tasks whose draws count (a rehearsal is never published and never counted)."""


class SqlDrawLifecycleRepository(SqlRepository):
    def lock_history_scope(self, department_ids: Collection[str], *, exclusive: bool) -> None:
        """PostgreSQL: transaction-level advisory locks, one per department, taken one by one in key order
        (so that two draws never wait for each other in a cycle). SQLite: nothing to take, it only checks
        that the draw is in a transaction. Either the transaction holds the one writer lock from its
        ``BEGIN IMMEDIATE`` on, before any read; or it began ``DEFERRED`` and reads one snapshot (WAL), and
        its first write fails (``BUSY_SNAPSHOT``, nothing written) if any other write committed since
        that snapshot, so what it read is final whenever it writes."""
        connection = self._connection
        if connection.dialect.name == "sqlite":
            begun = connection.info.get(SQLITE_BEGIN_KEY) in ("IMMEDIATE", "DEFERRED")
            if not begun or not connection.in_transaction():
                raise RuntimeError("a draw reads and writes inspection history in one transaction")
            return
        lock = sa.func.pg_advisory_xact_lock if exclusive else sa.func.pg_advisory_xact_lock_shared
        for key in sorted({history_lock_key(d) for d in department_ids}):
            connection.execute(sa.select(lock(sa.literal(key, sa.BigInteger))))

    def pending_draws(self) -> list[PendingDraw]:
        rows = self._connection.execute(
            sa.select(
                DRAWS.c.id,
                TASKS.c.id,
                TASKS.c.department_id,
                TASKS.c.policy_json,
                ITEMS.c.frequency_cap,
                TASKS.c.item_code,
            )
            .join(TASKS, TASKS.c.id == DRAWS.c.task_id)
            .join(ITEMS, ITEMS.c.code == TASKS.c.item_code)
            .where(DRAWS.c.state == "committed")
            .order_by(DRAWS.c.created_at, DRAWS.c.id)
        )
        return [PendingDraw(*row) for row in rows]

    def pack_commitments(
        self, entries: Sequence[EligibleEntry], plan: ObjectPlan | None = None
    ) -> PackedCommitments:
        # A draw's columns are written in C (no string per line); any other rows line by line.
        text = entry_text(entries, PACK_PIECE)
        packed_entries = pack_codes(entry_lines(entries)) if text is None else pack_text(text)
        if plan is None:
            return PackedCommitments(packed_entries)
        raised = plan.raised or {}
        rows = plan.rows.values()
        text = plan_text(rows, PACK_PIECE)
        return PackedCommitments(
            packed_entries,
            pack_codes(stored_lines(rows)) if text is None else pack_text(text),
            pack_codes([f"{r.code}\t{r.from_class}\t{r.to_class}" for r in raised.values()]),
        )

    def add_commitments(self, draw_id: str, salt_key: str, packed: PackedCommitments) -> None:
        values: dict[str, Any] = {"draw_id": draw_id, "salt_key": salt_key, "entries_packed": packed.entries}
        if packed.plan is not None:
            values["plan_packed"] = packed.plan
            values["raised_packed"] = packed.raised
        self._connection.execute(sa.insert(DRAW_COMMITMENTS).values(values))

    def object_plan(self, draw_id: str) -> ObjectPlan | None:
        found = self.object_plan_rows(draw_id)
        if found is None:
            return None
        rows, raised = found
        return ObjectPlan.of(rows, raised)

    def object_plan_rows(self, draw_id: str) -> tuple[Iterator[PlanRow], list[RaisedRow]] | None:
        row = self._connection.execute(
            sa.select(DRAW_COMMITMENTS.c.plan_packed, DRAW_COMMITMENTS.c.raised_packed).where(
                DRAW_COMMITMENTS.c.draw_id == draw_id
            )
        ).first()
        if row is None or row.plan_packed is None:
            return None
        raised = [RaisedRow(*line.split("\t")) for line in unpack_codes(row.raised_packed or pack_codes([]))]
        return rows_from_stored(iter_codes(row.plan_packed)), raised

    def commitments(self, draw_id: str) -> tuple[str, list[EligibleEntry]] | None:
        row = self._connection.execute(
            sa.select(DRAW_COMMITMENTS).where(DRAW_COMMITMENTS.c.draw_id == draw_id)
        ).first()
        if row is None:
            return None
        return row.salt_key, [EligibleEntry.from_line(line) for line in unpack_codes(row.entries_packed)]

    def commitment_entries(self, draw_id: str) -> tuple[str, Iterator[EligibleEntry]] | None:
        """``commitments`` with the entries inflated as they are consumed (stored order), not all at once."""
        row = self._connection.execute(
            sa.select(DRAW_COMMITMENTS).where(DRAW_COMMITMENTS.c.draw_id == draw_id)
        ).first()
        if row is None:
            return None
        return row.salt_key, map(EligibleEntry.from_line, iter_codes(row.entries_packed))

    def add_entropy_inputs(self, draw_id: str, inputs: Sequence[EntropyInput]) -> None:
        """Raises ``AlreadyExists`` (``COMMITMENT_REUSED``) when a commitment was used by any draw before."""
        try:
            with self._session.begin_nested():
                self._connection.execute(
                    sa.insert(ENTROPY_INPUTS),
                    [
                        {
                            "draw_id": draw_id,
                            "role": i.role,
                            "name": i.name,
                            "commitment": i.commitment or None,
                            "value": i.value,
                            "revealed_at": i.revealed_at,
                        }
                        for i in inputs
                    ],
                )
        except IntegrityError as exc:
            raise AlreadyExists(
                "an entropy commitment of this draw was used before; every draw needs fresh secrets "
                "(a replayed reveal would be known in advance)",
                reason="COMMITMENT_REUSED",
            ) from exc

    def entropy_inputs(self, draw_id: str) -> list[EntropyInput]:
        rows = self._connection.execute(
            sa.select(ENTROPY_INPUTS)
            .where(ENTROPY_INPUTS.c.draw_id == draw_id)
            .order_by(ENTROPY_INPUTS.c.role, ENTROPY_INPUTS.c.name)
        )
        return [EntropyInput(r.role, r.name, r.commitment or "", r.value, r.revealed_at) for r in rows]

    def set_entropy_value(self, draw_id: str, role: str, name: str, value: str, at: dt.datetime) -> None:
        self._connection.execute(
            sa.update(ENTROPY_INPUTS)
            .where(
                ENTROPY_INPUTS.c.draw_id == draw_id,
                ENTROPY_INPUTS.c.role == role,
                ENTROPY_INPUTS.c.name == name,
            )
            .values(value=value, revealed_at=at)
        )

    def lock_draw(self, draw_id: str) -> None:
        """Locks the draw row until commit (PostgreSQL), so reveals and execution of one draw serialise."""
        found = self._connection.execute(
            sa.select(DRAWS.c.id).where(DRAWS.c.id == draw_id).with_for_update()
        ).first()
        if found is None:
            raise NotFound("draw", draw_id)

    def execute(
        self,
        draw_id: str,
        *,
        seed: str,
        entropy_source: str,
        entropy: str,
        executed_at: dt.datetime,
        selected_count: int,
    ) -> None:
        self._connection.execute(
            sa.update(DRAWS)
            .where(DRAWS.c.id == draw_id, DRAWS.c.state == "committed")
            .values(
                state="executed",
                seed=seed,
                entropy_source=entropy_source,
                entropy=entropy,
                executed_at=executed_at,
                selected_count=selected_count,
            )
        )

    def add_assignments(self, draw_id: str, assignments: Sequence[Assignment]) -> None:
        insert_assignments(self._connection, draw_id, assignments)

    def abandon(self, draw_id: str, task_id: str, reason: str, note: str) -> None:
        self._connection.execute(
            sa.update(DRAWS)
            .where(DRAWS.c.id == draw_id)
            .values(state="abandoned", state_reason=reason, state_note=note)
        )
        self._connection.execute(
            sa.update(TASKS).where(TASKS.c.id == task_id, TASKS.c.draw_id == draw_id).values(draw_id=None)
        )

    def abandoned_counts(self) -> dict[str, int]:
        """Abandoned draws by reason; rehearsals are not counted."""
        rows = self._connection.execute(
            sa.select(DRAWS.c.state_reason, sa.func.count())
            .where(DRAWS.c.state == "abandoned", DRAWS.c.task_id.in_(_NOT_REHEARSALS))
            .group_by(DRAWS.c.state_reason)
        )
        return {r[0]: int(r[1]) for r in rows}

    def abandoned_of_task(self, task_id: str) -> int:
        """How many draws of ``task_id`` were abandoned."""
        return int(
            self._connection.execute(
                sa.select(sa.func.count())
                .select_from(DRAWS)
                .where(DRAWS.c.task_id == task_id, DRAWS.c.state == "abandoned")
            ).scalar_one()
        )

    def abandoned_draws(self, task_id: str = "", department_id: str = "") -> list[Draw]:
        """Abandoned draws (optionally of one task or one department's tasks), oldest first; rehearsals are
        left out (never published, never counted)."""
        stmt = sa.select(DRAWS).where(
            DRAWS.c.state == "abandoned",
            DRAWS.c.task_id.in_(_NOT_REHEARSALS),
        )
        if task_id:
            stmt = stmt.where(DRAWS.c.task_id == task_id)
        if department_id:
            stmt = stmt.where(
                DRAWS.c.task_id.in_(sa.select(TASKS.c.id).where(TASKS.c.department_id == department_id))
            )
        rows = self._connection.execute(stmt.order_by(DRAWS.c.created_at, DRAWS.c.id))
        return [to_draw(r) for r in rows]

    def draws_per_department(self) -> dict[str, tuple[int, int, int]]:
        """Per department of the drawing task: (draws, abandoned draws, tasks with an abandoned draw);
        rehearsals are not counted."""
        abandoned = sa.case((DRAWS.c.state == "abandoned", 1), else_=0)
        redrawn = sa.case((DRAWS.c.state == "abandoned", DRAWS.c.task_id), else_=None)
        rows = self._connection.execute(
            sa.select(
                TASKS.c.department_id,
                sa.func.count(),
                sa.func.sum(abandoned),
                sa.func.count(sa.distinct(redrawn)),
            )
            .select_from(DRAWS.join(TASKS, TASKS.c.id == DRAWS.c.task_id))
            .where(TASKS.c.rehearsal == sa.false())
            .group_by(TASKS.c.department_id)
        )
        return {r[0]: (int(r[1]), int(r[2] or 0), int(r[3])) for r in rows}

    # -- substitutions ---------------------------------------------------------------------------------

    def add_substitution(self, sub: Substitution, local_secret: str) -> None:
        self._connection.execute(
            sa.insert(SUBSTITUTIONS).values(
                id=sub.id,
                draw_id=sub.draw_id,
                position=sub.position,
                removed_badge=sub.removed_badge,
                reason_code=sub.reason_code,
                evidence_hash=sub.evidence_hash,
                entropy_source=sub.entropy_source,
                local_secret=local_secret,
                event_leaf_hash=sub.event_leaf_hash,
                replacement_badge="",
                entropy="",
                state="requested",
                requested_at=sub.requested_at,
                executed_at=None,
                actor=sub.actor,
            )
        )

    def get_substitution(self, sub_id: str) -> tuple[Substitution, str] | None:
        """The substitution and its stored local secret ("" unless the source is a local secret)."""
        row = self._connection.execute(sa.select(SUBSTITUTIONS).where(SUBSTITUTIONS.c.id == sub_id)).first()
        return None if row is None else (_substitution(row), row.local_secret)

    def substitutions(self, draw_id: str) -> list[Substitution]:
        rows = self._connection.execute(
            sa.select(SUBSTITUTIONS)
            .where(SUBSTITUTIONS.c.draw_id == draw_id)
            .order_by(SUBSTITUTIONS.c.requested_at, SUBSTITUTIONS.c.id)
        )
        return [_substitution(r) for r in rows]

    def complete_substitution(
        self, sub: Substitution, *, replacement: str, entropy: str, at: dt.datetime
    ) -> None:
        """Records the replacement and swaps it into the team in the removed member's place."""
        self._connection.execute(
            sa.update(SUBSTITUTIONS)
            .where(SUBSTITUTIONS.c.id == sub.id, SUBSTITUTIONS.c.state == "requested")
            .values(replacement_badge=replacement, entropy=entropy, state="executed", executed_at=at)
        )
        self._connection.execute(
            sa.update(MEMBERS)
            .where(
                MEMBERS.c.draw_id == sub.draw_id,
                MEMBERS.c.position == sub.position,
                MEMBERS.c.badge_number == sub.removed_badge,
            )
            .values(badge_number=replacement)
        )

    def substitution_counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """Executed substitutions per department (of the draw's task) and per removed inspector."""
        per_department = self._connection.execute(
            sa.select(TASKS.c.department_id, sa.func.count())
            .select_from(SUBSTITUTIONS.join(DRAWS, DRAWS.c.id == SUBSTITUTIONS.c.draw_id))
            .join(TASKS, TASKS.c.id == DRAWS.c.task_id)
            .where(SUBSTITUTIONS.c.state == "executed")
            .group_by(TASKS.c.department_id)
        )
        per_inspector = self._connection.execute(
            sa.select(SUBSTITUTIONS.c.removed_badge, sa.func.count())
            .where(SUBSTITUTIONS.c.state == "executed")
            .group_by(SUBSTITUTIONS.c.removed_badge)
        )
        return {r[0]: int(r[1]) for r in per_department}, {r[0]: int(r[1]) for r in per_inspector}


def _substitution(r: Row) -> Substitution:
    return Substitution(
        id=r.id,
        draw_id=r.draw_id,
        position=r.position,
        removed_badge=r.removed_badge,
        reason_code=r.reason_code,
        evidence_hash=r.evidence_hash,
        entropy_source=r.entropy_source,
        requested_at=r.requested_at,
        actor=r.actor,
        event_leaf_hash=r.event_leaf_hash,
        replacement_badge=r.replacement_badge,
        entropy=r.entropy,
        state=r.state,
        executed_at=r.executed_at,
    )
