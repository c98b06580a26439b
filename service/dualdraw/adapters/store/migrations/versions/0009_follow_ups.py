"""Follow-ups to closure (Art. 13) and enterprise objections to published results: one row each, replaced
whole at each change (``revision`` guards against lost updates).

Revision ID: follow_ups
Revises: directory_filings
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "follow_ups"
down_revision: str | Sequence[str] | None = "directory_filings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("draw_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("result_version", sa.Integer(), nullable=False),
        sa.Column("credit_code", sa.String(), nullable=False),
        sa.Column("department_id", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("evidence_json", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.String(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("reinspection_json", sa.Text(), nullable=False),
        sa.Column("closing_json", sa.Text(), nullable=False),
        sa.Column("overdue_recorded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_follow_ups"),
        sa.ForeignKeyConstraint(
            ["draw_id", "position"],
            ["assignments.draw_id", "assignments.position"],
            name="fk_follow_ups_draw_id_position_assignments",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name="fk_follow_ups_department_id_departments"
        ),
        sa.CheckConstraint("revision >= 1", name=op.f("ck_follow_ups_revision")),
    )
    op.create_index(
        "ix_follow_ups_department_id_state_due_on", "follow_ups", ["department_id", "state", "due_on"]
    )
    op.create_index("ix_follow_ups_draw_id_position", "follow_ups", ["draw_id", "position"])

    op.create_table(
        "objections",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("draw_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("result_version", sa.Integer(), nullable=False),
        sa.Column("credit_code", sa.String(), nullable=False),
        sa.Column("department_id", sa.String(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("grounds", sa.Text(), nullable=False),
        sa.Column("evidence_json", sa.Text(), nullable=False),
        sa.Column("filed_by", sa.String(), nullable=False),
        sa.Column("filed_at", TIMESTAMP, nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("decision_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_objections"),
        sa.ForeignKeyConstraint(
            ["draw_id", "position", "result_version"],
            ["inspection_results.draw_id", "inspection_results.position", "inspection_results.version"],
            name="fk_objections_inspection_results",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name="fk_objections_department_id_departments"
        ),
        sa.CheckConstraint("revision >= 1", name=op.f("ck_objections_revision")),
    )
    op.create_index("ix_objections_draw_id_position", "objections", ["draw_id", "position"])
    op.create_index("ix_objections_department_id", "objections", ["department_id"])


def downgrade() -> None:
    op.drop_index("ix_objections_department_id", table_name="objections")
    op.drop_index("ix_objections_draw_id_position", table_name="objections")
    op.drop_table("objections")
    op.drop_index("ix_follow_ups_draw_id_position", table_name="follow_ups")
    op.drop_index("ix_follow_ups_department_id_state_due_on", table_name="follow_ups")
    op.drop_table("follow_ups")
