"""The transactional outbox: messages for other systems (the event broker, the credit system), one per
routed audit event, inserted in the same transaction as the change; delivered rows stay as the record.

Revision ID: outbox
Revises: item_workload
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "outbox"
down_revision: str | Sequence[str] | None = "item_workload"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Timezone-aware timestamps (timestamptz on PostgreSQL; UTC text on SQLite, see models.UtcDateTime).
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.String(48), primary_key=True),
        sa.Column("destination", sa.String(16), nullable=False),
        sa.Column("audit_sequence", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("after_json", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
        sa.Column("receipt", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("last_error", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_messages"),
    )
    op.create_index(
        "ix_outbox_messages_destination_delivered_at_next_attempt_at",
        "outbox_messages",
        ["destination", "delivered_at", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_messages_destination_delivered_at_next_attempt_at", "outbox_messages")
    op.drop_table("outbox_messages")
