"""An inspection item may allow one unqualified assistant per team (``inspection_items.unqualified_assistant``,
false for every item before).

Revision ID: unqualified_assistant
Revises: checkpoint_note
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "unqualified_assistant"
down_revision: str | Sequence[str] | None = "checkpoint_note"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inspection_items") as batch:
        batch.add_column(
            sa.Column("unqualified_assistant", sa.Boolean(), nullable=False, server_default=sa.text("false"))
        )


def downgrade() -> None:
    with op.batch_alter_table("inspection_items") as batch:
        batch.drop_column("unqualified_assistant")
