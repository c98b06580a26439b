"""Evidence files (photos, PDFs, lab reports): one row per SHA-256 of a file kept in the evidence store.

Revision ID: evidence
Revises: outbox
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "evidence"
down_revision: str | Sequence[str] | None = "outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("uploaded_by", sa.String(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_evidence")),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_evidence_size_bytes")),
    )


def downgrade() -> None:
    op.drop_table("evidence")
