"""A draw's object plan beside its commitments (``dualdraw-draw/4``): the plan rows (department, office and
the badges barred from each eligible object) and the raised rows, committed in the manifest by salted
Merkle roots only. Older draws list them in their manifest and have neither (NULL).

Revision ID: object_plan
Revises: experts
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "object_plan"
down_revision: str | Sequence[str] | None = "experts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("draw_commitments") as batch:
        batch.add_column(sa.Column("plan_zlib", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("raised_zlib", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("draw_commitments") as batch:
        batch.drop_column("raised_zlib")
        batch.drop_column("plan_zlib")
