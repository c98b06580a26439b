"""Verifiable draws and a tamper-evident audit log (issue #4).

Revision ID: i4_verifiable_draws
Revises: i3_rule_sets

- ``audit_events.leaf_hash`` (backfilled for existing events), ``audit_log_head`` (the lock row with the
  Merkle frontier) and ``audit_checkpoints`` (signed tree heads; events from before this revision are
  covered by the first checkpoint the server signs at start-up);
- draws get a lifecycle (``state`` committed / executed / abandoned with a reason); ``UNIQUE (task_id)``
  becomes a partial unique index over the draws that are not abandoned (one live draw per task);
- ``draw_commitments``, ``draw_entropy_inputs`` (commitments unique across draws) and ``substitutions``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i4_verifiable_draws"
down_revision: str | Sequence[str] | None = "i3_rule_sets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
LIVE = sa.text("state <> 'abandoned'")


def upgrade() -> None:
    from dualdraw.audit.entries import event_leaf_hash
    from dualdraw.audit.merkle import Frontier
    from dualdraw.domain.model import AuditEvent
    from dualdraw.store.models import UtcDateTime

    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("leaf_hash", sa.String(), nullable=False, server_default=""))
    op.create_table(
        "audit_log_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("frontier_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log_head"),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.String(), nullable=False),
        sa.Column("public_key", sa.String(), nullable=False),
        sa.Column("signature", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name="pk_audit_checkpoints"),
    )
    # Backfill: leaf hashes of the existing events, renumbered 1..n if the old sequence had gaps.
    bind = op.get_bind()
    events = sa.table(
        "audit_events",
        sa.column("sequence", sa.BigInteger()),
        sa.column("occurred_at", UtcDateTime()),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("resource", sa.String()),
        sa.column("before_json", sa.Text()),
        sa.column("after_json", sa.Text()),
        sa.column("request_id", sa.String()),
        sa.column("leaf_hash", sa.String()),
    )
    frontier = Frontier()
    rows = bind.execute(sa.select(events).order_by(events.c.sequence)).all()
    for expected, row in enumerate(rows, start=1):
        if row.sequence != expected:
            raise RuntimeError(f"audit_events has a gap before {row.sequence}: cannot build the Merkle log")
        event = AuditEvent(
            row.sequence, row.occurred_at, row.actor, row.action, row.resource,
            row.before_json, row.after_json, row.request_id,
        )
        leaf = event_leaf_hash(event)
        frontier.append(leaf)
        bind.execute(sa.update(events).where(events.c.sequence == row.sequence).values(leaf_hash=leaf.hex()))
    head = sa.table(
        "audit_log_head",
        sa.column("id", sa.Integer()),
        sa.column("tree_size", sa.BigInteger()),
        sa.column("frontier_json", sa.Text()),
    )
    bind.execute(
        sa.insert(head).values(id=1, tree_size=frontier.size, frontier_json=json.dumps([h.hex() for h in frontier.hashes]))
    )

    with op.batch_alter_table("draws") as batch:
        batch.add_column(sa.Column("state", sa.String(), nullable=False, server_default="executed"))
        batch.add_column(sa.Column("state_reason", sa.String(), nullable=False, server_default=""))
        batch.add_column(sa.Column("state_note", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("executed_at", TIMESTAMP, nullable=True))
        batch.drop_constraint("uq_draws_task_id", type_="unique")
    op.execute("UPDATE draws SET executed_at = created_at")
    op.create_index(
        "uq_draws_live_task_id", "draws", ["task_id"], unique=True, sqlite_where=LIVE, postgresql_where=LIVE
    )

    op.create_table(
        "draw_commitments",
        sa.Column("draw_id", sa.String(), nullable=False),
        sa.Column("salt_key", sa.String(), nullable=False),
        sa.Column("entries_zlib", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("draw_id", name="pk_draw_commitments"),
        sa.ForeignKeyConstraint(["draw_id"], ["draws.id"], name="fk_draw_commitments_draw_id_draws"),
    )
    op.create_table(
        "draw_entropy_inputs",
        sa.Column("draw_id", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("commitment", sa.String(), nullable=True),
        sa.Column("value", sa.String(), nullable=False),
        sa.Column("revealed_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("draw_id", "role", "name", name="pk_draw_entropy_inputs"),
        sa.ForeignKeyConstraint(["draw_id"], ["draws.id"], name="fk_draw_entropy_inputs_draw_id_draws"),
    )
    op.create_index("uq_draw_entropy_inputs_commitment", "draw_entropy_inputs", ["commitment"], unique=True)
    op.create_table(
        "substitutions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("draw_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("removed_badge", sa.String(), nullable=False),
        sa.Column("reason_code", sa.String(), nullable=False),
        sa.Column("evidence_hash", sa.String(), nullable=False),
        sa.Column("entropy_source", sa.Text(), nullable=False),
        sa.Column("local_secret", sa.String(), nullable=False),
        sa.Column("event_leaf_hash", sa.String(), nullable=False),
        sa.Column("replacement_badge", sa.String(), nullable=False),
        sa.Column("entropy", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("requested_at", TIMESTAMP, nullable=False),
        sa.Column("executed_at", TIMESTAMP, nullable=True),
        sa.Column("actor", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_substitutions"),
        sa.ForeignKeyConstraint(["draw_id"], ["draws.id"], name="fk_substitutions_draw_id_draws"),
    )
    op.create_index("ix_substitutions_draw_id_position", "substitutions", ["draw_id", "position"])
    op.create_index("ix_substitutions_removed_badge", "substitutions", ["removed_badge"])


def downgrade() -> None:
    op.drop_table("substitutions")
    op.drop_index("uq_draw_entropy_inputs_commitment", table_name="draw_entropy_inputs")
    op.drop_table("draw_entropy_inputs")
    op.drop_table("draw_commitments")
    op.drop_index("uq_draws_live_task_id", table_name="draws")
    with op.batch_alter_table("draws") as batch:
        batch.create_unique_constraint("uq_draws_task_id", ["task_id"])
        batch.drop_column("executed_at")
        batch.drop_column("state_note")
        batch.drop_column("state_reason")
        batch.drop_column("state")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_log_head")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("leaf_hash")
