"""Rule sets by hash: the canonical content of every rule set a draw used (issue 3).

Revision ID: i3_rule_sets
Revises: i8_results_publication
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i3_rule_sets"
down_revision: str | Sequence[str] | None = "i8_results_publication"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rule_sets",
        sa.Column("hash", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("canonical_json", sa.Text(), nullable=False),
        sa.Column("first_used_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("hash", name="pk_rule_sets"),
    )


def downgrade() -> None:
    op.drop_table("rule_sets")
