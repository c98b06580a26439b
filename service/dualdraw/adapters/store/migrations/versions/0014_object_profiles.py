"""Objects name their profile: the seven attributes besides the credit code and the name, stored once per
distinct combination in ``object_profiles`` and keyed by their content (``object_profiles.profile_key``). A
draw then reads each object as two short columns and each profile once (a 1M draw's load on PostgreSQL:
1.1 s of reading the attributes against 0.4 s). Existing objects get their keys here: the distinct
profiles are keyed in Python, then every object takes its profile's key in one ``UPDATE ... FROM``.

Revision ID: object_profiles
Revises: object_listing
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from dualdraw.adapters.store.object_profiles import PROFILE_NAMES, ProfileKeys

revision: str = "object_profiles"
down_revision: str | Sequence[str] | None = "object_listing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = {"business_lines_json"}


def upgrade() -> None:
    profiles = op.create_table(
        "object_profiles",
        sa.Column("profile_key", sa.String(), nullable=False),
        *(sa.Column(name, sa.Text() if name in _TEXT else sa.String(), nullable=False) for name in PROFILE_NAMES),
        sa.PrimaryKeyConstraint("profile_key", name=op.f("pk_object_profiles")),
    )
    assert profiles is not None
    with op.batch_alter_table("objects") as batch:
        batch.add_column(sa.Column("profile_key", sa.String(), nullable=True))
    connection = op.get_bind()
    objects = sa.table("objects", sa.column("profile_key"), *(sa.column(name) for name in PROFILE_NAMES))
    keys = ProfileKeys()
    distinct = connection.execute(sa.select(*(objects.c[name] for name in PROFILE_NAMES)).distinct())
    for values in distinct:
        keys[tuple(values)]  # noqa: B018 -- keys the profile (``ProfileKeys.__missing__``)
    rows = [dict(zip(("profile_key", *PROFILE_NAMES), row, strict=True)) for row in keys.rows()]
    if rows:
        op.bulk_insert(profiles, rows)
    connection.execute(
        sa.update(objects)
        .values(profile_key=profiles.c.profile_key)
        .where(*(profiles.c[name] == objects.c[name] for name in PROFILE_NAMES))
    )
    with op.batch_alter_table("objects") as batch:
        batch.alter_column("profile_key", existing_type=sa.String(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("objects") as batch:
        batch.drop_column("profile_key")
    op.drop_table("object_profiles")
