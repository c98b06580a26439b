"""Frequency cap per inspection item (issue #5: "configurable per item").

Revision ID: i5b_item_caps
Revises: i5_jurisdiction_ratios

- ``inspection_items.frequency_cap``: planned inspections per object per department per calendar year for
  the item; NULL: the default (1). A task policy's own cap wins over it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i5b_item_caps"
down_revision: str | Sequence[str] | None = "i5_jurisdiction_ratios"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inspection_items") as batch:
        batch.add_column(sa.Column("frequency_cap", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inspection_items") as batch:
        batch.drop_column("frequency_cap")
