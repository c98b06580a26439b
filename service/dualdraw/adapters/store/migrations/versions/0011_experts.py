"""The expert and testing-institution directories, items' requirements of them, and the expert draws with
their selections (docs/DRAW-ALGORITHM.md §8.2).

Revision ID: experts
Revises: inspection_records
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "experts"
down_revision: str | Sequence[str] | None = "inspection_records"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Timezone-aware timestamps (timestamptz on PostgreSQL; UTC text on SQLite, see models.UtcDateTime).
TIMESTAMP = sa.DateTime(timezone=True)


def _directory(name: str, own_code: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("department_id", sa.String(), nullable=False),
        sa.Column(own_code, sa.String(), nullable=False),
        sa.Column("qualifications_json", sa.Text(), nullable=False),
        sa.Column("conflicts_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=f"fk_{name}_department_id_departments"
        ),
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
    )
    op.create_index(f"ix_{name}_department_id", name, ["department_id"])


def upgrade() -> None:
    _directory("experts", "employer_credit_code")
    _directory("testing_institutions", "credit_code")
    op.create_table(
        "expert_requirements",
        sa.Column("item_code", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("qualification", sa.String(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("item_code", "kind", name="pk_expert_requirements"),
    )
    op.create_table(
        "expert_draws",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("draw_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("inputs_json", sa.Text(), nullable=False),
        sa.Column("inputs_hash", sa.String(), nullable=False),
        sa.Column("entropy_source", sa.Text(), nullable=False),
        sa.Column("local_secret", sa.String(), nullable=False),
        sa.Column("entropy", sa.String(), nullable=False),
        sa.Column("seed", sa.String(), nullable=False),
        sa.Column("result_json", sa.Text(), nullable=False),
        sa.Column("result_hash", sa.String(), nullable=False),
        sa.Column("beacon_value", sa.String(), nullable=False),
        sa.Column("requested_at", TIMESTAMP, nullable=False),
        sa.Column("executed_at", TIMESTAMP, nullable=True),
        sa.Column("actor", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["draw_id"], ["draws.id"], name="fk_expert_draws_draw_id_draws"),
        sa.PrimaryKeyConstraint("id", name="pk_expert_draws"),
    )
    op.create_index("ix_expert_draws_draw_id", "expert_draws", ["draw_id"])
    op.create_table(
        "expert_selections",
        sa.Column("expert_draw_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(), nullable=False),
        sa.Column("credit_code", sa.String(), nullable=False),
        sa.Column("ticket", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_draw_id"], ["expert_draws.id"], name="fk_expert_selections_expert_draw_id_expert_draws"
        ),
        sa.PrimaryKeyConstraint("expert_draw_id", "position", "rank", name="pk_expert_selections"),
    )
    op.create_index(
        "ix_expert_selections_member_id_credit_code", "expert_selections", ["member_id", "credit_code"]
    )


def downgrade() -> None:
    op.drop_index("ix_expert_selections_member_id_credit_code", "expert_selections")
    op.drop_table("expert_selections")
    op.drop_index("ix_expert_draws_draw_id", "expert_draws")
    op.drop_table("expert_draws")
    op.drop_table("expert_requirements")
    for name in ("testing_institutions", "experts"):
        op.drop_index(f"ix_{name}_department_id", name)
        op.drop_table(name)
