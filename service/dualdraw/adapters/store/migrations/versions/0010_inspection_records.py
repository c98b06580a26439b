"""Checklists per item version (Art. 4, 11) and structured inspection records (Art. 12).

``checklist_revisions`` holds each revision of an item's checklist, bound to a published item version, with
the date it takes effect. ``inspection_records`` holds each version of an assignment's inspection record as
its canonical JSON with the SHA-256 that the audit log commits.

Revision ID: inspection_records
Revises: follow_ups
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "inspection_records"
down_revision: str | Sequence[str] | None = "follow_ups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "checklist_revisions",
        sa.Column("item_code", sa.String(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("item_version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("change_reason", sa.Text(), nullable=False),
        sa.Column("published_at", TIMESTAMP, nullable=False),
        sa.Column("published_by", sa.String(), nullable=False),
        sa.Column("checklist_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("item_code", "revision", name="pk_checklist_revisions"),
        sa.ForeignKeyConstraint(
            ["item_code", "item_version"],
            ["item_versions.code", "item_versions.version"],
            name="fk_checklist_revisions_item_code_item_version_item_versions",
        ),
        sa.CheckConstraint("revision >= 1", name=op.f("ck_checklist_revisions_revision")),
    )
    op.create_table(
        "inspection_records",
        sa.Column("record_id", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("document_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("record_id", "version", name="pk_inspection_records"),
        sa.ForeignKeyConstraint(
            ["draw_id", "position"],
            ["assignments.draw_id", "assignments.position"],
            name="fk_inspection_records_draw_id_position_assignments",
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_inspection_records_version")),
    )
    op.create_index("ix_inspection_records_draw_id_position", "inspection_records", ["draw_id", "position"])


def downgrade() -> None:
    op.drop_index("ix_inspection_records_draw_id_position", table_name="inspection_records")
    op.drop_table("inspection_records")
    op.drop_table("checklist_revisions")
