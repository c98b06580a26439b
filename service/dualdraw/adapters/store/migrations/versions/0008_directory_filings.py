"""Directory filings (Art. 7): a department files its directories with its parent. One row per filing (the
snapshot's digest, counts and roots, and the filing's state) and one per filing's record hashes (a zlib blob
of ``kind\\tkey\\thash`` lines).

Revision ID: directory_filings
Revises: evidence
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "directory_filings"
down_revision: str | Sequence[str] | None = "evidence"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "directory_filings",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("department_id", sa.String(), nullable=False),
        sa.Column("parent_department_id", sa.String(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column("kinds_json", sa.Text(), nullable=False),
        sa.Column("submitted_at", TIMESTAMP, nullable=False),
        sa.Column("submitted_by", sa.String(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        sa.Column("decided_by", sa.String(), nullable=False),
        sa.Column("return_reason", sa.String(), nullable=False),
        sa.Column("return_note", sa.Text(), nullable=False),
        sa.Column("superseded_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_directory_filings"),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name="fk_directory_filings_department_id_departments"
        ),
        sa.ForeignKeyConstraint(
            ["parent_department_id"],
            ["departments.id"],
            name="fk_directory_filings_parent_department_id_departments",
        ),
        sa.UniqueConstraint("department_id", "sequence", name="uq_directory_filings_department_id_sequence"),
        sa.CheckConstraint("sequence >= 1", name=op.f("ck_directory_filings_sequence")),
    )
    op.create_index(
        "ix_directory_filings_parent_department_id", "directory_filings", ["parent_department_id"]
    )
    op.create_table(
        "directory_filing_records",
        sa.Column("filing_id", sa.String(), nullable=False),
        sa.Column("records_zlib", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("filing_id", name="pk_directory_filing_records"),
        sa.ForeignKeyConstraint(
            ["filing_id"],
            ["directory_filings.id"],
            name="fk_directory_filing_records_filing_id_directory_filings",
        ),
    )


def downgrade() -> None:
    op.drop_table("directory_filing_records")
    op.drop_index("ix_directory_filings_parent_department_id", table_name="directory_filings")
    op.drop_table("directory_filings")
