"""The audit log (``AuditRepository``)."""

from __future__ import annotations

import builtins
import datetime as dt
import json
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dualdraw.adapters.store.repositories.base import STREAM_BATCH, SqlRepository, int_after, keyset_page
from dualdraw.adapters.store.rows import AUDIT, AUDIT_HEAD, CHECKPOINTS, Row, Values, to_audit_event
from dualdraw.domain.audit.checkpoints import Checkpoint, CheckpointSigner
from dualdraw.domain.audit.entries import StoredEntry, event_leaf_hash
from dualdraw.domain.audit.merkle import Frontier
from dualdraw.domain.model import AuditEvent, AuditRecord
from dualdraw.service_layer.ports import Page, PageRequest


class SqlAuditRepository(SqlRepository):
    """The append-only audit log as a Merkle log (``AuditRepository``).

    Every append locks the head row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite transactions are
    serialised already), takes the next sequence, stores the event with its leaf hash and a checkpoint of
    the new tree signed by ``signer``, and moves the head. Several server processes may share one database.

    ``stage`` keeps an event for ``append_staged``, which the unit of work calls as the last step before it
    commits: a transaction that stages its events holds the head for its commit only, not while it works.
    """

    def __init__(self, session: Session, signer: CheckpointSigner) -> None:
        super().__init__(session)
        self._signer = signer
        self._staged: list[AuditRecord] = []

    def stage(self, record: AuditRecord) -> None:
        """Keeps ``record`` to be appended, in staging order, when the transaction commits."""
        _require_aware(record.occurred_at)
        self._staged.append(record)

    def append_staged(self) -> builtins.list[AuditEvent]:
        """Appends the staged records (``append`` each, in order) and forgets them."""
        staged, self._staged = self._staged, []
        return [self.append(record) for record in staged]

    def discard_staged(self) -> None:
        """Forgets the staged records (the transaction was rolled back)."""
        self._staged = []

    def _locked_head(self) -> Frontier:
        for _ in range(2):
            row = self._connection.execute(
                sa.select(AUDIT_HEAD).where(AUDIT_HEAD.c.id == 1).with_for_update()
            ).first()
            if row is not None:
                return Frontier(row.tree_size, [bytes.fromhex(h) for h in json.loads(row.frontier_json)])
            frontier = Frontier()
            for leaf in self.leaf_hashes():
                frontier.append(bytes.fromhex(leaf))
            try:
                with self._session.begin_nested():
                    self._connection.execute(
                        sa.insert(AUDIT_HEAD).values(
                            id=1, tree_size=frontier.size, frontier_json=_frontier_json(frontier)
                        )
                    )
            except IntegrityError:
                continue  # another transaction created it: lock theirs
        raise RuntimeError("cannot lock the audit log head")  # pragma: no cover

    def append(self, record: AuditRecord) -> AuditEvent:
        """Appends ``record`` in the current transaction with the next sequence and a signed checkpoint;
        ``occurred_at`` is stored, and returned, in UTC."""
        _require_aware(record.occurred_at)
        frontier = self._locked_head()
        event = AuditEvent(
            sequence=frontier.size + 1,
            occurred_at=record.occurred_at.astimezone(dt.UTC),
            actor=record.actor,
            action=record.action,
            resource=record.resource,
            before_json=record.before_json,
            after_json=record.after_json,
            request_id=record.request_id,
        )
        leaf = event_leaf_hash(event)
        connection = self._connection
        connection.execute(
            sa.insert(AUDIT).values(
                sequence=event.sequence,
                occurred_at=event.occurred_at,
                actor=event.actor,
                action=event.action,
                resource=event.resource,
                before_json=event.before_json,
                after_json=event.after_json,
                request_id=event.request_id,
                leaf_hash=leaf.hex(),
            )
        )
        frontier.append(leaf)
        checkpoint = self._signer.sign(frontier.size, frontier.root().hex())
        connection.execute(sa.insert(CHECKPOINTS).values(**checkpoint_values(checkpoint)))
        connection.execute(
            sa.update(AUDIT_HEAD)
            .where(AUDIT_HEAD.c.id == 1)
            .values(tree_size=frontier.size, frontier_json=_frontier_json(frontier))
        )
        return event

    def sign_head(self) -> Checkpoint | None:
        """Signs a checkpoint of the current head unless one exists (covers events from before signing)."""
        frontier = self._locked_head()
        if frontier.size == 0 or self.checkpoint(frontier.size) is not None:
            return None
        checkpoint = self._signer.sign(frontier.size, frontier.root().hex())
        self._connection.execute(sa.insert(CHECKPOINTS).values(**checkpoint_values(checkpoint)))
        return checkpoint

    def list(self, page: PageRequest, resource: str | None = None) -> Page[AuditEvent]:
        """Pages by sequence; ``after`` is the last sequence as a decimal string."""
        stmt = sa.select(AUDIT)
        if resource is not None:
            stmt = stmt.where(AUDIT.c.resource == resource)
        items, last = keyset_page(
            self._connection, stmt, AUDIT.c.sequence, page, to_audit_event, after=int_after(page)
        )
        return Page(items, None if last is None else str(last.sequence))

    def entries(self) -> Iterator[StoredEntry]:
        """Every row in sequence order, as stored."""
        rows = self._connection.execute(
            sa.select(AUDIT).order_by(AUDIT.c.sequence).execution_options(yield_per=STREAM_BATCH)
        )
        for row in rows:
            yield StoredEntry(to_audit_event(row), row.leaf_hash)

    def leaf_hashes(self, upto: int | None = None) -> builtins.list[str]:
        stmt = sa.select(AUDIT.c.leaf_hash).order_by(AUDIT.c.sequence)
        if upto is not None:
            stmt = stmt.where(AUDIT.c.sequence <= upto)
        return builtins.list(self._connection.execute(stmt).scalars())

    def checkpoints(self) -> builtins.list[Checkpoint]:
        rows = self._connection.execute(sa.select(CHECKPOINTS).order_by(CHECKPOINTS.c.tree_size))
        return [to_checkpoint(r) for r in rows]

    def checkpoint(self, tree_size: int | None = None) -> Checkpoint | None:
        """The checkpoint of ``tree_size``, or the newest one."""
        stmt = sa.select(CHECKPOINTS)
        if tree_size is None:
            stmt = stmt.order_by(CHECKPOINTS.c.tree_size.desc()).limit(1)
        else:
            stmt = stmt.where(CHECKPOINTS.c.tree_size == tree_size)
        row = self._connection.execute(stmt).first()
        return None if row is None else to_checkpoint(row)

    def events_of(self, resource: str) -> builtins.list[AuditEvent]:
        rows = self._connection.execute(
            sa.select(AUDIT).where(AUDIT.c.resource == resource).order_by(AUDIT.c.sequence)
        )
        return [to_audit_event(r) for r in rows]


def _frontier_json(frontier: Frontier) -> str:
    return json.dumps([h.hex() for h in frontier.hashes])


def checkpoint_values(cp: Checkpoint) -> Values:
    return {
        "tree_size": cp.tree_size,
        "root_hash": cp.root_hash,
        "public_key": cp.public_key,
        "signature": cp.signature,
        "note": cp.note or None,
    }


def to_checkpoint(r: Row) -> Checkpoint:
    return Checkpoint(r.tree_size, r.root_hash, r.public_key, r.signature, r.note or "")


def _require_aware(occurred_at: dt.datetime) -> None:
    if occurred_at.tzinfo is None or occurred_at.utcoffset() is None:
        raise ValueError("occurred_at must be timezone-aware")
