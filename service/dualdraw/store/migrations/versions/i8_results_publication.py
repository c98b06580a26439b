"""Results, publications and the published item list's versions (issue 8).

Revision ID: i8_results_publication
Revises: 0001
Create Date: 2026-12-01

Portable types only; names follow ``dualdraw.store.models.NAMING_CONVENTION``. Written by hand from
``dualdraw.store.models``; ``tests/integration/test_store_schema.py`` checks that the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i8_results_publication"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
AUTOINCREMENT_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inspection_results",
        sa.Column("draw_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("credit_code", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("inspected_on", sa.Date(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("attachments_json", sa.Text(), nullable=False),
        sa.Column("penalty_decision_number", sa.String(), nullable=False),
        sa.Column("referred_to_judicial", sa.Boolean(), nullable=False),
        sa.Column("referral_note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(), nullable=False),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.Column("correction_reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("draw_id", "position", "version", name="pk_inspection_results"),
        sa.ForeignKeyConstraint(
            ["draw_id", "position"],
            ["assignments.draw_id", "assignments.position"],
            name="fk_inspection_results_draw_id_position_assignments",
        ),
        sa.CheckConstraint("version >= 1", name="ck_inspection_results_version"),
    )
    op.create_index("ix_inspection_results_credit_code", "inspection_results", ["credit_code"])

    op.create_table(
        "publications",
        sa.Column("sequence", AUTOINCREMENT_KEY, autoincrement=True, nullable=False),
        sa.Column("draw_id", sa.String(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("published_at", TIMESTAMP, nullable=False),
        sa.Column("published_by", sa.String(), nullable=False),
        sa.Column("inspection_ended_on", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("verification", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name="pk_publications"),
        sa.ForeignKeyConstraint(["draw_id"], ["draws.id"], name="fk_publications_draw_id_draws"),
        sa.UniqueConstraint("draw_id", "revision", name="uq_publications_draw_id_revision"),
        sqlite_autoincrement=True,
    )

    op.create_table(
        "published_results",
        sa.Column("publication_sequence", AUTOINCREMENT_KEY, autoincrement=False, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("publication_sequence", "position", name="pk_published_results"),
        sa.ForeignKeyConstraint(
            ["publication_sequence"],
            ["publications.sequence"],
            name="fk_published_results_publication_sequence_publications",
        ),
        sa.ForeignKeyConstraint(
            ["draw_id", "position", "version"],
            ["inspection_results.draw_id", "inspection_results.position", "inspection_results.version"],
            name="fk_published_results_inspection_results",
        ),
    )

    op.create_table(
        "item_versions",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("published_at", TIMESTAMP, nullable=False),
        sa.Column("published_by", sa.String(), nullable=False),
        sa.Column("change_summary", sa.Text(), nullable=False),
        sa.Column("change_legal_basis", sa.Text(), nullable=False),
        sa.Column("changed_fields_json", sa.Text(), nullable=False),
        sa.Column("snapshot_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("code", "version", name="pk_item_versions"),
        sa.ForeignKeyConstraint(["code"], ["inspection_items.code"], name="fk_item_versions_code_inspection_items"),
        sa.CheckConstraint("version >= 1", name="ck_item_versions_version"),
    )


def downgrade() -> None:
    for table in ("item_versions", "published_results", "publications", "inspection_results"):
        op.drop_table(table)
