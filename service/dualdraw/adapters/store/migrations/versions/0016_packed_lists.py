"""A draw's code lists, entries and plan rows and a filing's record hashes are packed with Zstandard
(``codes.pack_codes``): the columns that held zlib blobs are renamed ``*_packed``. Blobs written with zlib
stay as they are and read back the same (``codes`` tells the formats apart by their first bytes). Going
back, every Zstandard blob is written again with zlib first, so the code of the revision before reads
everything it finds.

Revision ID: packed_lists
Revises: draw_row_checks
Create Date: 2026-12-06
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from dualdraw.adapters.store.codes import unpack_text

revision: str = "packed_lists"
down_revision: str | Sequence[str] | None = "draw_row_checks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here as this revision renames them: table, its key, the blob columns.
RENAMED = (
    ("draw_eligible", "draw_id", ("eligible_codes", "inspector_pool")),
    ("draw_commitments", "draw_id", ("entries", "plan", "raised")),
    ("directory_filing_records", "filing_id", ("records",)),
)


def upgrade() -> None:
    for table, _, columns in RENAMED:
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(f"{column}_zlib", new_column_name=f"{column}_packed")


def downgrade() -> None:
    connection = op.get_bind()
    for table, key, columns in RENAMED:
        for column in columns:
            blobs = sa.table(table, sa.column(key), sa.column(f"{column}_packed", sa.LargeBinary()))
            blob = blobs.c[f"{column}_packed"]
            keys = connection.execute(sa.select(blobs.c[key]).where(blob.is_not(None))).scalars().all()
            for row_key in keys:  # one blob in memory at a time: a 10M draw's plan is ~150 MB packed
                packed = connection.execute(sa.select(blob).where(blobs.c[key] == row_key)).scalar_one()
                connection.execute(
                    sa.update(blobs)
                    .where(blobs.c[key] == row_key)
                    .values({blob.name: zlib.compress(unpack_text(packed), 1)})
                )
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(f"{column}_packed", new_column_name=f"{column}_zlib")
