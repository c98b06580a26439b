"""Annual plans (Art. 9): plan versions, and the plan entry and period a task was created for.

Revision ID: annual_plans
Revises: baseline
Create Date: 2026-12-04

``tasks.plan_slot`` (``plan_id/entry_id/period``, NULL for rehearsals and tasks outside a plan) is unique:
one task, so one live draw, per plan entry and period.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "annual_plans"
down_revision: str | Sequence[str] | None = "baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "plan_versions",
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.String(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("content_json", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("approved_at", TIMESTAMP, nullable=True),
        sa.Column("published_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("plan_id", "version", name="pk_plan_versions"),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name="fk_plan_versions_department_id_departments"
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_plan_versions_version")),
    )
    op.create_index("ix_plan_versions_department_id", "plan_versions", ["department_id"])
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("plan_id", sa.String(), nullable=True))
        batch.add_column(sa.Column("plan_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("plan_entry_id", sa.String(), nullable=True))
        batch.add_column(sa.Column("plan_period", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("plan_slot", sa.String(), nullable=True))
        batch.add_column(sa.Column("rehearsal", sa.Boolean(), nullable=False, server_default=sa.text("false")))
        batch.create_unique_constraint("uq_tasks_plan_slot", ["plan_slot"])


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_constraint("uq_tasks_plan_slot", type_="unique")
        for column in ("rehearsal", "plan_slot", "plan_period", "plan_entry_id", "plan_version", "plan_id"):
            batch.drop_column(column)
    op.drop_index("ix_plan_versions_department_id", table_name="plan_versions")
    op.drop_table("plan_versions")
