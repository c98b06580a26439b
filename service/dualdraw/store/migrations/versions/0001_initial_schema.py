"""Initial schema: directory, side facts, items, tasks, draws and the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Portable types only (runs unchanged on SQLite and PostgreSQL); names follow
``dualdraw.store.models.NAMING_CONVENTION``. Written by hand from ``dualdraw.store.models``; the test
``tests/integration/test_store_schema.py`` checks that the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Timezone-aware timestamps (timestamptz on PostgreSQL; UTC text on SQLite, see models.UtcDateTime).
TIMESTAMP = sa.DateTime(timezone=True)
# 64-bit on PostgreSQL; SQLite autoincrements only a column declared INTEGER PRIMARY KEY.
AUTOINCREMENT_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # --- directory ---------------------------------------------------------------------------------------
    op.create_table(
        "departments",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.String(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_departments"),
        sa.ForeignKeyConstraint(["parent_id"], ["departments.id"], name="fk_departments_parent_id_departments"),
    )
    op.create_index("ix_departments_parent_id", "departments", ["parent_id"])

    op.create_table(
        "objects",
        sa.Column("credit_code", sa.String(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("region_code", sa.String(), nullable=False),
        sa.Column("registering_department_id", sa.String(), nullable=False),
        sa.Column("industry", sa.String(), nullable=False),
        sa.Column("business_lines_json", sa.Text(), nullable=False),
        sa.Column("risk_class", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("office", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("credit_code", name="pk_objects"),
        sa.ForeignKeyConstraint(
            ["registering_department_id"],
            ["departments.id"],
            name="fk_objects_registering_department_id_departments",
        ),
    )
    op.create_index(
        "ix_objects_registering_department_id_region_code",
        "objects",
        ["registering_department_id", "region_code"],
    )

    op.create_table(
        "inspectors",
        sa.Column("badge_number", sa.String(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("department_id", sa.String(), nullable=False),
        sa.Column("office", sa.String(), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("badge_number", name="pk_inspectors"),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name="fk_inspectors_department_id_departments"
        ),
    )
    op.create_index("ix_inspectors_department_id", "inspectors", ["department_id"])

    op.create_table(
        "inspector_specialities",
        sa.Column("badge_number", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("certificate_expires_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("badge_number", "position", name="pk_inspector_specialities"),
        sa.ForeignKeyConstraint(
            ["badge_number"],
            ["inspectors.badge_number"],
            name="fk_inspector_specialities_badge_number_inspectors",
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "inspector_conflicts",
        sa.Column("badge_number", sa.String(), nullable=False),
        sa.Column("credit_code", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("badge_number", "credit_code", name="pk_inspector_conflicts"),
        sa.ForeignKeyConstraint(
            ["badge_number"],
            ["inspectors.badge_number"],
            name="fk_inspector_conflicts_badge_number_inspectors",
            ondelete="CASCADE",
        ),
    )

    # --- side facts --------------------------------------------------------------------------------------
    op.create_table(
        "complaints",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("credit_code", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_complaints"),
        sa.ForeignKeyConstraint(["credit_code"], ["objects.credit_code"], name="fk_complaints_credit_code_objects"),
    )
    op.create_index("ix_complaints_credit_code_id", "complaints", ["credit_code", "id"])

    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("organizer_department_id", sa.String(), nullable=False),
        sa.Column("region_code", sa.String(), nullable=False),
        sa.Column("industry", sa.String(), nullable=False),
        sa.Column("business_line", sa.String(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_campaigns"),
        sa.ForeignKeyConstraint(
            ["organizer_department_id"],
            ["departments.id"],
            name="fk_campaigns_organizer_department_id_departments",
        ),
    )

    op.create_table(
        "risk_assessments",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("credit_code", sa.String(), nullable=False),
        sa.Column("conclusion", sa.String(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_risk_assessments"),
        sa.ForeignKeyConstraint(
            ["credit_code"], ["objects.credit_code"], name="fk_risk_assessments_credit_code_objects"
        ),
    )
    op.create_index("ix_risk_assessments_credit_code_id", "risk_assessments", ["credit_code", "id"])

    op.create_table(
        "statutory_designations",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("credit_code", sa.String(), nullable=False),
        sa.Column("business_line", sa.String(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_statutory_designations"),
        sa.ForeignKeyConstraint(
            ["credit_code"], ["objects.credit_code"], name="fk_statutory_designations_credit_code_objects"
        ),
    )
    op.create_index("ix_statutory_designations_credit_code_id", "statutory_designations", ["credit_code", "id"])

    # --- items and tasks ---------------------------------------------------------------------------------
    op.create_table(
        "inspection_items",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("business_line", sa.String(), nullable=False),
        sa.Column("target_scope", sa.Text(), nullable=False),
        sa.Column("required_speciality", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("default_ratio_numerator", sa.BigInteger(), nullable=False),
        sa.Column("default_ratio_denominator", sa.BigInteger(), nullable=False),
        sa.Column("department_id", sa.String(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("code", name="pk_inspection_items"),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name="fk_inspection_items_department_id_departments"
        ),
        sa.CheckConstraint(
            "default_ratio_denominator > 0", name="ck_inspection_items_default_ratio_denominator"
        ),
    )

    # tasks.draw_id mirrors draws.task_id and has no foreign key (it would make tasks <-> draws a cycle).
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("item_code", sa.String(), nullable=False),
        sa.Column("department_id", sa.String(), nullable=False),
        sa.Column("ratio_numerator", sa.BigInteger(), nullable=False),
        sa.Column("ratio_denominator", sa.BigInteger(), nullable=False),
        sa.Column("team_size", sa.Integer(), nullable=False),
        sa.Column("scope_region_code", sa.String(), nullable=True),
        sa.Column("scope_industries_json", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=True),
        sa.Column("draw_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
        sa.ForeignKeyConstraint(["item_code"], ["inspection_items.code"], name="fk_tasks_item_code_inspection_items"),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"], name="fk_tasks_department_id_departments"),
        sa.CheckConstraint("ratio_denominator > 0", name="ck_tasks_ratio_denominator"),
    )
    op.create_index("ix_tasks_department_id", "tasks", ["department_id"])

    # --- draws -------------------------------------------------------------------------------------------
    # UNIQUE (task_id) is what serialises concurrent draws of one task.
    op.create_table(
        "draws",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("task_id", sa.String(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("algorithm_version", sa.String(), nullable=False),
        sa.Column("seed", sa.String(), nullable=False),
        sa.Column("entropy_source", sa.Text(), nullable=False),
        sa.Column("entropy", sa.Text(), nullable=False),
        sa.Column("manifest_hash", sa.String(), nullable=False),
        sa.Column("manifest_json", sa.Text(), nullable=False),
        sa.Column("rule_set_hash", sa.String(), nullable=False),
        sa.Column("rule_set_version", sa.String(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("in_scope_count", sa.Integer(), nullable=False),
        sa.Column("excluded_count", sa.Integer(), nullable=False),
        sa.Column("eligible_count", sa.Integer(), nullable=False),
        sa.Column("selected_count", sa.Integer(), nullable=False),
        sa.Column("team_size", sa.Integer(), nullable=False),
        sa.Column("ratio_numerator", sa.BigInteger(), nullable=False),
        sa.Column("ratio_denominator", sa.BigInteger(), nullable=False),
        sa.Column("eligible_digest", sa.String(), nullable=False),
        sa.Column("inspector_pool_digest", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_draws"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name="fk_draws_task_id_tasks"),
        sa.UniqueConstraint("task_id", name="uq_draws_task_id"),
        sa.CheckConstraint("ratio_denominator > 0", name="ck_draws_ratio_denominator"),
    )

    # Each blob: zlib("\n".join(codes)) in stored order (dualdraw.store.codes).
    op.create_table(
        "draw_eligible",
        sa.Column("draw_id", sa.String(), nullable=False),
        sa.Column("eligible_codes_zlib", sa.LargeBinary(), nullable=False),
        sa.Column("inspector_pool_zlib", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("draw_id", name="pk_draw_eligible"),
        sa.ForeignKeyConstraint(["draw_id"], ["draws.id"], name="fk_draw_eligible_draw_id_draws"),
    )

    op.create_table(
        "exclusions",
        sa.Column("draw_id", sa.String(), nullable=False),
        sa.Column("credit_code", sa.String(), nullable=False),
        sa.Column("rule_id", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("evidence_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("draw_id", "credit_code", "rule_id", name="pk_exclusions"),
        sa.ForeignKeyConstraint(["draw_id"], ["draws.id"], name="fk_exclusions_draw_id_draws"),
    )

    op.create_table(
        "assignments",
        sa.Column("draw_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("credit_code", sa.String(), nullable=False),
        sa.Column("ticket", sa.String(), nullable=False),
        sa.Column("stratum", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("draw_id", "position", name="pk_assignments"),
        sa.ForeignKeyConstraint(["draw_id"], ["draws.id"], name="fk_assignments_draw_id_draws"),
    )
    op.create_index("ix_assignments_credit_code", "assignments", ["credit_code"])

    op.create_table(
        "assignment_members",
        sa.Column("draw_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("member_order", sa.Integer(), nullable=False),
        sa.Column("badge_number", sa.String(), nullable=False),
        sa.Column("leader", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("draw_id", "position", "member_order", name="pk_assignment_members"),
        sa.ForeignKeyConstraint(
            ["draw_id", "position"],
            ["assignments.draw_id", "assignments.position"],
            name="fk_assignment_members_draw_id_position_assignments",
        ),
    )
    op.create_index("ix_assignment_members_badge_number", "assignment_members", ["badge_number"])

    # --- audit -------------------------------------------------------------------------------------------
    # sqlite_autoincrement: a sequence is never reused, even after the newest row is deleted.
    op.create_table(
        "audit_events",
        sa.Column("sequence", AUTOINCREMENT_KEY, autoincrement=True, nullable=False),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("resource", sa.String(), nullable=False),
        sa.Column("before_json", sa.Text(), nullable=False),
        sa.Column("after_json", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name="pk_audit_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_events_resource_sequence", "audit_events", ["resource", "sequence"])


def downgrade() -> None:
    for table in (
        "audit_events",
        "assignment_members",
        "assignments",
        "exclusions",
        "draw_eligible",
        "draws",
        "tasks",
        "inspection_items",
        "statutory_designations",
        "risk_assessments",
        "campaigns",
        "complaints",
        "inspector_conflicts",
        "inspector_specialities",
        "inspectors",
        "objects",
        "departments",
    ):
        op.drop_table(table)  # drops the table's indexes with it
