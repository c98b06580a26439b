"""Jurisdiction, differentiated ratios, frequency caps, inspector rules and joint draws (issue 5).

Revision ID: i5_jurisdiction_ratios
Revises: i6_security

- ``tasks.policy_json``: the task's policy (empty for tasks drawn with ``dualdraw-draw/1``);
- ``draw_raises``: objects a draw raised to a higher stratum, with the reason and evidence.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i5_jurisdiction_ratios"
down_revision: str | Sequence[str] | None = "i6_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("policy_json", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "draw_raises",
        sa.Column("draw_id", sa.String(), nullable=False),
        sa.Column("credit_code", sa.String(), nullable=False),
        sa.Column("from_class", sa.String(), nullable=False),
        sa.Column("to_class", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("draw_id", "credit_code", name="pk_draw_raises"),
        sa.ForeignKeyConstraint(["draw_id"], ["draws.id"], name="fk_draw_raises_draw_id_draws"),
    )


def downgrade() -> None:
    op.drop_table("draw_raises")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("policy_json")
