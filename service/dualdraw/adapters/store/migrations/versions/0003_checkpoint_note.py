"""Audit checkpoints keep their C2SP signed note (https://c2sp.org/tlog-checkpoint) beside the original
signature; checkpoints signed before have none (NULL).

Revision ID: checkpoint_note
Revises: annual_plans
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "checkpoint_note"
down_revision: str | Sequence[str] | None = "annual_plans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_checkpoints") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_checkpoints") as batch:
        batch.drop_column("note")
