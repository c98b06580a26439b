"""Security and reliability (issue 6): the idempotency ledger of mutating requests.

Revision ID: i6_security
Revises: i4_verifiable_draws
Create Date: 2026-12-01

Written by hand from ``dualdraw.store.models.IdempotentRequestRow``; ``tests/integration/test_store_schema.py``
checks that the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i6_security"
down_revision: str | Sequence[str] | None = "i4_verifiable_draws"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "idempotent_requests",
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("caller", sa.String(), nullable=False),
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("request_digest", sa.String(), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("completed_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("method", "caller", "request_id", name="pk_idempotent_requests"),
    )


def downgrade() -> None:
    op.drop_table("idempotent_requests")
