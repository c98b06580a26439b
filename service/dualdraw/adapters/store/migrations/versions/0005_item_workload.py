"""Inspection items carry what one inspection takes, for the annual plan's estimate: inspectors per team,
working days per inspector, cost per inspection and laboratory testing fees (exact fractions, in yuan).
Existing items get the former plan-wide defaults: a team of 2, one day, no cost.

Revision ID: item_workload
Revises: unqualified_assistant
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "item_workload"
down_revision: str | Sequence[str] | None = "unqualified_assistant"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AMOUNTS = {"days_per_inspection": "1", "cost_per_inspection": "0", "testing_fee": "0"}


def upgrade() -> None:
    with op.batch_alter_table("inspection_items") as batch:
        batch.add_column(sa.Column("team_size", sa.Integer(), nullable=False, server_default=sa.text("2")))
        for name, default in AMOUNTS.items():
            batch.add_column(
                sa.Column(f"{name}_numerator", sa.BigInteger(), nullable=False, server_default=sa.text(default))
            )
            batch.add_column(
                sa.Column(f"{name}_denominator", sa.BigInteger(), nullable=False, server_default=sa.text("1"))
            )
        batch.create_check_constraint(
            op.f("ck_inspection_items_workload_denominators"),
            "days_per_inspection_denominator > 0 AND cost_per_inspection_denominator > 0"
            " AND testing_fee_denominator > 0",
        )


def downgrade() -> None:
    with op.batch_alter_table("inspection_items") as batch:
        batch.drop_constraint(op.f("ck_inspection_items_workload_denominators"), type_="check")
        for name in reversed(list(AMOUNTS)):
            batch.drop_column(f"{name}_denominator")
            batch.drop_column(f"{name}_numerator")
        batch.drop_column("team_size")
