"""A draw's bulk rows are checked per statement, not per row: the foreign keys of ``exclusions`` and
``assignments`` (to ``draws``) and of ``assignment_members`` (to ``assignments``) become triggers that check
what a statement wrote (``models.DRAW_ROW_CHECKS``).

A 1M draw writes some 59k exclusions, 46k assignments and 92k team members in one transaction, and
PostgreSQL checked each row's key with a query of its own and a lock on the parent row: 0.9 s of the draw.
On PostgreSQL a statement-level trigger now looks at the rows the statement inserted or updated (a
transition table) and refuses the statement, as a foreign key would (``foreign_key_violation``), when one
names no parent: one anti-join per statement. On SQLite, where a foreign key check is cheap, a row-level
trigger does the same. The parents are never deleted and their keys never change (dualdraw has no such
write), so, unlike a foreign key, nothing guards them.

Revision ID: draw_row_checks
Revises: object_profiles
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "draw_row_checks"
down_revision: str | Sequence[str] | None = "object_profiles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here as the revision wrote them (the models' DRAW_ROW_CHECKS may change in later revisions).
CHECKS = (
    ("exclusions", ("draw_id",), "draws", ("id",), "fk_exclusions_draw_id_draws"),
    ("assignments", ("draw_id",), "draws", ("id",), "fk_assignments_draw_id_draws"),
    (
        "assignment_members",
        ("draw_id", "position"),
        "assignments",
        ("draw_id", "position"),
        "fk_assignment_members_draw_id_position_assignments",
    ),
)
EVENTS = ("insert", "update")


def _names(child: str, event: str) -> tuple[str, str]:
    """The check's function and trigger names."""
    return f"{child}_parents_exist", f"{child}_{event}_parents_exist"


def _postgresql_function(child: str, columns: Sequence[str], parent: str, keys: Sequence[str]) -> str:
    matched = " AND ".join(f'p."{k}" = n."{c}"' for c, k in zip(columns, keys, strict=True))
    listed = ", ".join(f'"{c}"' for c in columns)
    function, _ = _names(child, "insert")
    return f"""
        CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (
                SELECT 1 FROM (SELECT DISTINCT {listed} FROM written) AS n
                WHERE NOT EXISTS (SELECT 1 FROM "{parent}" AS p WHERE {matched})
            ) THEN
                RAISE foreign_key_violation USING
                    MESSAGE = 'a row of {child} names no row of {parent} ({listed})';
            END IF;
            RETURN NULL;
        END
        $$"""  # noqa: S608 -- built from this revision's table and column names only


def _sqlite_trigger(child: str, columns: Sequence[str], parent: str, keys: Sequence[str], event: str) -> str:
    matched = " AND ".join(f'"{k}" = NEW."{c}"' for c, k in zip(columns, keys, strict=True))
    listed = ", ".join(f'"{c}"' for c in columns)
    _, trigger = _names(child, event)
    when = "INSERT" if event == "insert" else f"UPDATE OF {listed}"
    return f"""
        CREATE TRIGGER {trigger} BEFORE {when} ON "{child}"
        WHEN NOT EXISTS (SELECT 1 FROM "{parent}" WHERE {matched})
        BEGIN
            SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: a row of {child} names no row of {parent}');
        END"""  # noqa: S608 -- built from this revision's table and column names only


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for child, columns, parent, keys, constraint in CHECKS:
        with op.batch_alter_table(child) as batch:
            batch.drop_constraint(constraint, type_="foreignkey")
        if postgresql:
            op.execute(_postgresql_function(child, columns, parent, keys))
            function, _ = _names(child, "insert")
            for event in EVENTS:
                _, trigger = _names(child, event)
                op.execute(
                    f'CREATE TRIGGER {trigger} AFTER {event.upper()} ON "{child}" '
                    f"REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
                )
        else:
            for event in EVENTS:
                op.execute(_sqlite_trigger(child, columns, parent, keys, event))


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for child, columns, parent, keys, constraint in reversed(CHECKS):
        for event in EVENTS:
            _, trigger = _names(child, event)
            op.execute(f'DROP TRIGGER {trigger} ON "{child}"' if postgresql else f"DROP TRIGGER {trigger}")
        if postgresql:
            function, _ = _names(child, "insert")
            op.execute(f"DROP FUNCTION {function}()")
        with op.batch_alter_table(child) as batch:
            batch.create_foreign_key(constraint, parent, list(columns), list(keys))
