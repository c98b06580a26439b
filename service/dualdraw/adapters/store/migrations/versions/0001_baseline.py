"""Baseline schema: directory, side facts, items and tasks, draws and their lifecycle, the Merkle audit log,
results and publication, rule sets and the idempotency ledger.

Revision ID: baseline
Revises:
Create Date: 2026-12-01

The whole schema in one revision (no deployment predates it); a later change is a new revision whose
``down_revision`` is ``"baseline"``. Portable types only (runs unchanged on SQLite and PostgreSQL); names
follow ``dualdraw.adapters.store.declarative.NAMING_CONVENTION`` (check constraints spelled out with ``op.f``, which keeps
a name as written). Written by hand from ``dualdraw.adapters.store.models``; the test
``tests/integration/test_store_schema.py`` checks that the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "baseline"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Timezone-aware timestamps (timestamptz on PostgreSQL; UTC text on SQLite, see models.UtcDateTime).
TIMESTAMP = sa.DateTime(timezone=True)
# 64-bit on PostgreSQL; SQLite autoincrements only a column declared INTEGER PRIMARY KEY.
AUTOINCREMENT_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# The draws that count for "one live draw per task".
LIVE = sa.text("state <> 'abandoned'")


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
        sa.ForeignKeyConstraint(
            ["parent_id"], ["departments.id"], name="fk_departments_parent_id_departments"
        ),
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
        sa.ForeignKeyConstraint(
            ["credit_code"], ["objects.credit_code"], name="fk_complaints_credit_code_objects"
        ),
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
    op.create_index(
        "ix_statutory_designations_credit_code_id", "statutory_designations", ["credit_code", "id"]
    )

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
        # Planned inspections per object per department per calendar year; NULL: the default (1).
        sa.Column("frequency_cap", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("code", name="pk_inspection_items"),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name="fk_inspection_items_department_id_departments"
        ),
        sa.CheckConstraint(
            "default_ratio_denominator > 0", name=op.f("ck_inspection_items_default_ratio_denominator")
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
        # The task's policy (domain.policy.TaskPolicy as JSON); empty for a dualdraw-draw/1 task.
        sa.Column("policy_json", sa.Text(), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
        sa.ForeignKeyConstraint(
            ["item_code"], ["inspection_items.code"], name="fk_tasks_item_code_inspection_items"
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name="fk_tasks_department_id_departments"
        ),
        sa.CheckConstraint("ratio_denominator > 0", name=op.f("ck_tasks_ratio_denominator")),
    )
    op.create_index("ix_tasks_department_id", "tasks", ["department_id"])

    # --- draws -------------------------------------------------------------------------------------------
    # state: committed (manifest frozen, awaiting entropy), executed or abandoned (with a reason). The partial
    # unique index on task_id over the draws that are not abandoned keeps one live draw per task and is what
    # serialises concurrent draws of one task.
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
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("state_reason", sa.String(), nullable=False),
        sa.Column("state_note", sa.Text(), nullable=False),
        sa.Column("executed_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_draws"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name="fk_draws_task_id_tasks"),
        sa.CheckConstraint("ratio_denominator > 0", name=op.f("ck_draws_ratio_denominator")),
    )
    op.create_index(
        "uq_draws_live_task_id", "draws", ["task_id"], unique=True, sqlite_where=LIVE, postgresql_where=LIVE
    )

    # Each blob: zlib("\n".join(codes)) in stored order (dualdraw.adapters.store.codes).
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

    # Objects a draw raised to a higher stratum than their credit-risk class, with the reason and evidence.
    op.create_table(
        "draw_raises",
        sa.Column("draw_id", sa.String(), nullable=False),
        sa.Column("credit_code", sa.String(), nullable=False),
        sa.Column("from_class", sa.String(), nullable=False),
        sa.Column("to_class", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("draw_id", "credit_code", name="pk_draw_raises"),
        sa.ForeignKeyConstraint(["draw_id"], ["draws.id"], name="fk_draw_raises_draw_id_draws"),
    )

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

    # --- audit log (an RFC 6962 Merkle log) ---------------------------------------------------------------
    # sqlite_autoincrement: a sequence is never reused, even after the newest row is deleted.
    # leaf_hash: the event's hex leaf hash, fixed at append time.
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
        sa.Column("leaf_hash", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name="pk_audit_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_events_resource_sequence", "audit_events", ["resource", "sequence"])

    # The one lock row of the log (id 1): its size and Merkle frontier, created empty here.
    log_head = op.create_table(
        "audit_log_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("frontier_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log_head"),
    )
    op.bulk_insert(log_head, [{"id": 1, "tree_size": 0, "frontier_json": "[]"}])

    # Signed checkpoints (tree heads), one per appended event.
    op.create_table(
        "audit_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.String(), nullable=False),
        sa.Column("public_key", sa.String(), nullable=False),
        sa.Column("signature", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name="pk_audit_checkpoints"),
    )

    # --- verifiable draws --------------------------------------------------------------------------------
    # The salt key and eligible entries behind the eligible-set Merkle root of a draw's manifest.
    op.create_table(
        "draw_commitments",
        sa.Column("draw_id", sa.String(), nullable=False),
        sa.Column("salt_key", sa.String(), nullable=False),
        sa.Column("entries_zlib", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("draw_id", name="pk_draw_commitments"),
        sa.ForeignKeyConstraint(["draw_id"], ["draws.id"], name="fk_draw_commitments_draw_id_draws"),
    )
    # Entropy contributions; commitments are unique across draws, so a reveal cannot be replayed elsewhere.
    op.create_table(
        "draw_entropy_inputs",
        sa.Column("draw_id", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("commitment", sa.String(), nullable=True),
        sa.Column("value", sa.String(), nullable=False),
        sa.Column("revealed_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("draw_id", "role", "name", name="pk_draw_entropy_inputs"),
        sa.ForeignKeyConstraint(["draw_id"], ["draws.id"], name="fk_draw_entropy_inputs_draw_id_draws"),
    )
    op.create_index("uq_draw_entropy_inputs_commitment", "draw_entropy_inputs", ["commitment"], unique=True)
    op.create_table(
        "substitutions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("draw_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("removed_badge", sa.String(), nullable=False),
        sa.Column("reason_code", sa.String(), nullable=False),
        sa.Column("evidence_hash", sa.String(), nullable=False),
        sa.Column("entropy_source", sa.Text(), nullable=False),
        sa.Column("local_secret", sa.String(), nullable=False),
        sa.Column("event_leaf_hash", sa.String(), nullable=False),
        sa.Column("replacement_badge", sa.String(), nullable=False),
        sa.Column("entropy", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("requested_at", TIMESTAMP, nullable=False),
        sa.Column("executed_at", TIMESTAMP, nullable=True),
        sa.Column("actor", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_substitutions"),
        sa.ForeignKeyConstraint(["draw_id"], ["draws.id"], name="fk_substitutions_draw_id_draws"),
    )
    op.create_index("ix_substitutions_draw_id_position", "substitutions", ["draw_id", "position"])
    op.create_index("ix_substitutions_removed_badge", "substitutions", ["removed_badge"])

    # --- results and publication -------------------------------------------------------------------------
    # One row per version of an assignment's result (a correction inserts the next version).
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
        sa.CheckConstraint("version >= 1", name=op.f("ck_inspection_results_version")),
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
            name="fk_published_results_inspection_results",  # the conventional name passes 63 characters
        ),
    )

    # Published versions of an inspection item (Art. 5): the item's record and why it changed.
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
        sa.ForeignKeyConstraint(
            ["code"], ["inspection_items.code"], name="fk_item_versions_code_inspection_items"
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_item_versions_version")),
    )

    # --- rule sets ---------------------------------------------------------------------------------------
    # The canonical JSON of every rule set a draw used, by its SHA-256 (for re-evaluating old draws).
    op.create_table(
        "rule_sets",
        sa.Column("hash", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("canonical_json", sa.Text(), nullable=False),
        sa.Column("first_used_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("hash", name="pk_rule_sets"),
    )

    # --- idempotency ledger: the first response to each mutating request (AIP-155) ----------------------
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
    """Drops every table, children before parents (each table's indexes go with it)."""
    for table in (
        "idempotent_requests",
        "rule_sets",
        "item_versions",
        "published_results",
        "publications",
        "inspection_results",
        "substitutions",
        "draw_entropy_inputs",
        "draw_commitments",
        "audit_checkpoints",
        "audit_log_head",
        "audit_events",
        "assignment_members",
        "draw_raises",
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
        op.drop_table(table)
