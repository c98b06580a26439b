"""The database schema as SQLAlchemy 2 declarative tables, one per domain record (plus child tables).

Portable types only, so one Alembic migration serves SQLite and PostgreSQL:
- enumerations are stored as their string (or integer) values, never as native enum types;
- ratios are exact: a numerator and a positive denominator (``Fraction`` in lowest terms), never a float;
- ordered string tuples with no query needs (business lines, industries, evidence) are JSON text;
- timestamps are ``UtcDateTime``: timezone-aware in Python, stored in UTC on both backends;
- a draw's eligible credit codes and inspector pool are compressed blobs (``draw_eligible``, ``codes``), so
  a draw over a million objects is one row, not a million.

Constraint names follow ``declarative.NAMING_CONVENTION`` so migrations can refer to them on both backends.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

# ``Base`` is re-exported: importing it from here registers every table on its metadata.
from dualdraw.adapters.store.declarative import AutoIncrementKey
from dualdraw.adapters.store.declarative import Base as Base

# --- directory -------------------------------------------------------------------------------------------


class DepartmentRow(Base):
    __tablename__ = "departments"

    id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("departments.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str]


class ObjectRow(Base):
    """An inspection object. ``profile_key`` names its row of ``object_profiles``: the same seven
    attributes as its own columns, which a draw reads once per profile instead of once per object."""

    __tablename__ = "objects"
    __table_args__ = (Index(None, "registering_department_id", "credit_code"),)

    credit_code: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    region_code: Mapped[str]
    registering_department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    industry: Mapped[str]
    business_lines_json: Mapped[str] = mapped_column(Text)
    risk_class: Mapped[str]
    status: Mapped[str]
    office: Mapped[str]
    # No foreign key: every write of an object writes its profile first, in the same transaction, and a
    # key checked per object would cost an import of a million objects a million index look-ups.
    profile_key: Mapped[str]


class ObjectProfileRow(Base):
    """The attributes objects share (all but the credit code and the name), stored once per distinct
    combination and named by their content (``rows.profile_key``): a row never changes and is never
    deleted, so a key read with an object always finds its profile. A province's million objects have
    some fifty thousand profiles."""

    __tablename__ = "object_profiles"

    profile_key: Mapped[str] = mapped_column(primary_key=True)
    region_code: Mapped[str]
    registering_department_id: Mapped[str]
    industry: Mapped[str]
    business_lines_json: Mapped[str] = mapped_column(Text)
    risk_class: Mapped[str]
    status: Mapped[str]
    office: Mapped[str]


class InspectorRow(Base):
    __tablename__ = "inspectors"

    badge_number: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    office: Mapped[str]
    available: Mapped[bool]


class InspectorSpecialityRow(Base):
    """One speciality of an inspector; ``position`` keeps the order of ``Inspector.specialities``."""

    __tablename__ = "inspector_specialities"

    badge_number: Mapped[str] = mapped_column(
        ForeignKey("inspectors.badge_number", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str]
    certificate_expires_on: Mapped[dt.date | None]


class InspectorConflictRow(Base):
    """A declared conflict of interest: the inspector may not inspect the object ``credit_code``."""

    __tablename__ = "inspector_conflicts"

    badge_number: Mapped[str] = mapped_column(
        ForeignKey("inspectors.badge_number", ondelete="CASCADE"), primary_key=True
    )
    credit_code: Mapped[str] = mapped_column(primary_key=True)


# --- side facts --------------------------------------------------------------------------------------------


class ComplaintRow(Base):
    __tablename__ = "complaints"
    __table_args__ = (Index(None, "credit_code", "id"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(ForeignKey("objects.credit_code"))
    status: Mapped[str]
    received_on: Mapped[dt.date]
    closed_on: Mapped[dt.date | None]
    summary: Mapped[str] = mapped_column(Text)


class CampaignRow(Base):
    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    organizer_department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    region_code: Mapped[str]
    industry: Mapped[str]
    business_line: Mapped[str]
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]


class RiskAssessmentRow(Base):
    __tablename__ = "risk_assessments"
    __table_args__ = (Index(None, "credit_code", "id"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(ForeignKey("objects.credit_code"))
    conclusion: Mapped[str]
    assessed_on: Mapped[dt.date]
    valid_until: Mapped[dt.date | None]
    note: Mapped[str] = mapped_column(Text)


class StatutoryDesignationRow(Base):
    __tablename__ = "statutory_designations"
    __table_args__ = (Index(None, "credit_code", "id"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(ForeignKey("objects.credit_code"))
    business_line: Mapped[str]
    method: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[dt.date]
    valid_to: Mapped[dt.date | None]


# --- items and tasks ---------------------------------------------------------------------------------------


class InspectionItemRow(Base):
    __tablename__ = "inspection_items"
    __table_args__ = (
        CheckConstraint("default_ratio_denominator > 0", name="default_ratio_denominator"),
        CheckConstraint(
            "days_per_inspection_denominator > 0 AND cost_per_inspection_denominator > 0"
            " AND testing_fee_denominator > 0",
            name="workload_denominators",
        ),
    )

    code: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    business_line: Mapped[str]
    target_scope: Mapped[str] = mapped_column(Text)
    required_speciality: Mapped[str]
    kind: Mapped[str]
    default_ratio_numerator: Mapped[int] = mapped_column(BigInteger)
    default_ratio_denominator: Mapped[int] = mapped_column(BigInteger)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    created_at: Mapped[dt.datetime | None]
    frequency_cap: Mapped[int | None] = mapped_column(Integer)
    unqualified_assistant: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # What one inspection takes, for the plan's estimate (amounts in yuan, exact fractions).
    team_size: Mapped[int] = mapped_column(Integer, server_default=text("2"))
    days_per_inspection_numerator: Mapped[int] = mapped_column(BigInteger, server_default=text("1"))
    days_per_inspection_denominator: Mapped[int] = mapped_column(BigInteger, server_default=text("1"))
    cost_per_inspection_numerator: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    cost_per_inspection_denominator: Mapped[int] = mapped_column(BigInteger, server_default=text("1"))
    testing_fee_numerator: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    testing_fee_denominator: Mapped[int] = mapped_column(BigInteger, server_default=text("1"))


class TaskRow(Base):
    """A task; ``draw_id`` mirrors ``draws.task_id`` (no foreign key: tasks and draws would form a cycle)."""

    __tablename__ = "tasks"
    __table_args__ = (CheckConstraint("ratio_denominator > 0", name="ratio_denominator"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    item_code: Mapped[str] = mapped_column(ForeignKey("inspection_items.code"))
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    ratio_numerator: Mapped[int] = mapped_column(BigInteger)
    ratio_denominator: Mapped[int] = mapped_column(BigInteger)
    team_size: Mapped[int] = mapped_column(Integer)
    scope_region_code: Mapped[str | None]
    scope_industries_json: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime | None]
    draw_id: Mapped[str | None]
    policy_json: Mapped[str] = mapped_column(Text, server_default="")
    """The task's policy (``domain.policy.TaskPolicy``) as JSON; empty for a ``dualdraw-draw/1`` task."""
    plan_id: Mapped[str | None]
    plan_version: Mapped[int | None]
    plan_entry_id: Mapped[str | None]
    plan_period: Mapped[int | None]
    plan_slot: Mapped[str | None] = mapped_column(unique=True)
    """``plan_id/entry_id/period`` of a planned task, not a rehearsal: one task per entry and period."""
    rehearsal: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


# --- draws -------------------------------------------------------------------------------------------------


class DrawRow(Base):
    """A draw. The partial unique index on ``task_id`` over draws that are not abandoned is what serialises
    concurrent draws of one task and keeps one live draw per task."""

    __tablename__ = "draws"
    __table_args__ = (
        Index(
            "uq_draws_live_task_id",
            "task_id",
            unique=True,
            sqlite_where=text("state <> 'abandoned'"),
            postgresql_where=text("state <> 'abandoned'"),
        ),
        CheckConstraint("ratio_denominator > 0", name="ratio_denominator"),
    )

    id: Mapped[str] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"))
    created_at: Mapped[dt.datetime]
    actor: Mapped[str]
    algorithm_version: Mapped[str]
    seed: Mapped[str]
    entropy_source: Mapped[str] = mapped_column(Text)
    entropy: Mapped[str] = mapped_column(Text)
    manifest_hash: Mapped[str]
    manifest_json: Mapped[str] = mapped_column(Text)
    rule_set_hash: Mapped[str]
    rule_set_version: Mapped[str]
    as_of: Mapped[dt.date]
    in_scope_count: Mapped[int] = mapped_column(Integer)
    excluded_count: Mapped[int] = mapped_column(Integer)
    eligible_count: Mapped[int] = mapped_column(Integer)
    selected_count: Mapped[int] = mapped_column(Integer)
    team_size: Mapped[int] = mapped_column(Integer)
    ratio_numerator: Mapped[int] = mapped_column(BigInteger)
    ratio_denominator: Mapped[int] = mapped_column(BigInteger)
    eligible_digest: Mapped[str]
    inspector_pool_digest: Mapped[str]
    state: Mapped[str]
    state_reason: Mapped[str]
    state_note: Mapped[str] = mapped_column(Text)
    executed_at: Mapped[dt.datetime | None]


class DrawEligibleRow(Base):
    """The eligible credit codes and the inspector pool of one draw.

    Each blob is ``codes.pack_codes(codes)`` in the order the draw stored them (Zstandard; zlib for draws
    stored before revision ``packed_lists``).
    """

    __tablename__ = "draw_eligible"

    draw_id: Mapped[str] = mapped_column(ForeignKey("draws.id"), primary_key=True)
    eligible_codes_packed: Mapped[bytes]
    inspector_pool_packed: Mapped[bytes]


class ExclusionRow(Base):
    """An exclusion of one draw. ``draw_id`` names a draw (checked per statement: ``DRAW_ROW_CHECKS``)."""

    __tablename__ = "exclusions"

    draw_id: Mapped[str] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(primary_key=True)
    rule_id: Mapped[str] = mapped_column(primary_key=True)
    category: Mapped[str]
    reason: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    evidence_json: Mapped[str] = mapped_column(Text)


class AssignmentRow(Base):
    """A selected object of one draw. ``draw_id`` names a draw (checked per statement: ``DRAW_ROW_CHECKS``);
    an assignment is never deleted and its key never changes."""

    __tablename__ = "assignments"

    draw_id: Mapped[str] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit_code: Mapped[str] = mapped_column(index=True)
    ticket: Mapped[str]
    stratum: Mapped[str]


class DrawRaiseRow(Base):
    """An object a draw raised above its credit-risk class's stratum, with the reason and the evidence ids."""

    __tablename__ = "draw_raises"

    draw_id: Mapped[str] = mapped_column(ForeignKey("draws.id"), primary_key=True)
    credit_code: Mapped[str] = mapped_column(primary_key=True)
    from_class: Mapped[str]
    to_class: Mapped[str]
    reason: Mapped[str] = mapped_column(Text)
    evidence_json: Mapped[str] = mapped_column(Text)


class AssignmentMemberRow(Base):
    """One team member of an assignment; ``member_order`` 0 is the first member (the leader). ``(draw_id,
    position)`` names an assignment (checked per statement: ``DRAW_ROW_CHECKS``)."""

    __tablename__ = "assignment_members"

    draw_id: Mapped[str] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_order: Mapped[int] = mapped_column(Integer, primary_key=True)
    badge_number: Mapped[str] = mapped_column(index=True)
    leader: Mapped[bool]


DRAW_ROW_CHECKS: tuple[tuple[str, tuple[str, ...], str, tuple[str, ...]], ...] = (
    ("exclusions", ("draw_id",), "draws", ("id",)),
    ("assignments", ("draw_id",), "draws", ("id",)),
    ("assignment_members", ("draw_id", "position"), "assignments", ("draw_id", "position")),
)
"""The references of a draw's bulk rows (child table, its columns, parent table, the parent's key), which
the database checks once per statement (triggers: migration ``draw_row_checks``) instead of with foreign
keys: a 1M draw writes 200k such rows, and PostgreSQL checked a foreign key row by row (0.9 s of the draw).
The parents are never deleted and their keys never change, so only the children's writes are checked."""

for _child, _, _parent, _ in DRAW_ROW_CHECKS:  # created after their parents, dropped before, as with keys
    Base.metadata.tables[_child].add_is_dependent_on(Base.metadata.tables[_parent])


# --- audit -------------------------------------------------------------------------------------------------


class AuditEventRow(Base):
    """The append-only audit log; ``sequence`` is assigned by the database and never reused."""

    __tablename__ = "audit_events"
    __table_args__ = (Index(None, "resource", "sequence"), {"sqlite_autoincrement": True})

    sequence: Mapped[int] = mapped_column(AutoIncrementKey, primary_key=True, autoincrement=True)
    occurred_at: Mapped[dt.datetime]
    actor: Mapped[str]
    action: Mapped[str]
    resource: Mapped[str]
    before_json: Mapped[str] = mapped_column(Text)
    after_json: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str]
    leaf_hash: Mapped[str]
    """Hex RFC 6962 leaf hash of the event (``dualdraw.domain.audit.entries.leaf_data``), fixed at append
    time."""


# --- results and publication -------------------------------------------------------------------------------


class InspectionResultRow(Base):
    """One version of an assignment's result; append-only (a correction inserts the next version)."""

    __tablename__ = "inspection_results"
    __table_args__ = (
        ForeignKeyConstraint(["draw_id", "position"], ["assignments.draw_id", "assignments.position"]),
        CheckConstraint("version >= 1", name="version"),
        Index(None, "credit_code"),
    )

    draw_id: Mapped[str] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit_code: Mapped[str]
    outcome: Mapped[str]
    inspected_on: Mapped[dt.date]
    findings: Mapped[str] = mapped_column(Text)
    attachments_json: Mapped[str] = mapped_column(Text)
    penalty_decision_number: Mapped[str]
    referred_to_judicial: Mapped[bool]
    referral_note: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str]
    recorded_at: Mapped[dt.datetime]
    correction_reason: Mapped[str] = mapped_column(Text)


class PublicationRow(Base):
    """One publication of a draw's results; ``sequence`` is the credit export's checkpoint."""

    __tablename__ = "publications"
    __table_args__ = (UniqueConstraint("draw_id", "revision"), {"sqlite_autoincrement": True})

    sequence: Mapped[int] = mapped_column(AutoIncrementKey, primary_key=True, autoincrement=True)
    draw_id: Mapped[str] = mapped_column(ForeignKey("draws.id"))
    revision: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[dt.datetime]
    published_by: Mapped[str]
    inspection_ended_on: Mapped[dt.date]
    deadline: Mapped[dt.date]
    verification: Mapped[str] = mapped_column(Text)


class PublishedResultRow(Base):
    """Which version of each assignment's result a publication made public."""

    __tablename__ = "published_results"
    __table_args__ = (
        ForeignKeyConstraint(
            ["draw_id", "position", "version"],
            ["inspection_results.draw_id", "inspection_results.position", "inspection_results.version"],
            name="fk_published_results_inspection_results",  # the conventional name passes 63 characters
        ),
    )

    publication_sequence: Mapped[int] = mapped_column(
        AutoIncrementKey, ForeignKey("publications.sequence"), primary_key=True, autoincrement=False
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_id: Mapped[str]
    version: Mapped[int] = mapped_column(Integer)


class FollowUpRow(Base):
    """A follow-up action of a result (Art. 13); replaced whole at each change, ``revision`` guards against
    lost updates. Evidence, re-inspection and closing are JSON (read with the row, never queried)."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        ForeignKeyConstraint(["draw_id", "position"], ["assignments.draw_id", "assignments.position"]),
        CheckConstraint("revision >= 1", name="revision"),
        Index(None, "department_id", "state", "due_on"),
        Index(None, "draw_id", "position"),
    )

    id: Mapped[str] = mapped_column(String, primary_key=True)
    kind: Mapped[str]
    draw_id: Mapped[str]
    position: Mapped[int] = mapped_column(Integer)
    result_version: Mapped[int] = mapped_column(Integer)
    credit_code: Mapped[str]
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    state: Mapped[str]
    opened_on: Mapped[dt.date]
    due_on: Mapped[dt.date]
    note: Mapped[str] = mapped_column(Text)
    evidence_json: Mapped[str] = mapped_column(Text)
    opened_by: Mapped[str]
    revision: Mapped[int] = mapped_column(Integer)
    reinspection_json: Mapped[str] = mapped_column(Text)
    closing_json: Mapped[str] = mapped_column(Text)
    overdue_recorded: Mapped[bool]


class ObjectionRow(Base):
    """An enterprise's objection to a published result version, and its decision (JSON, once decided)."""

    __tablename__ = "objections"
    __table_args__ = (
        ForeignKeyConstraint(
            ["draw_id", "position", "result_version"],
            ["inspection_results.draw_id", "inspection_results.position", "inspection_results.version"],
            name="fk_objections_inspection_results",  # the conventional name passes 63 characters
        ),
        CheckConstraint("revision >= 1", name="revision"),
        Index(None, "draw_id", "position"),
        Index(None, "department_id"),
    )

    id: Mapped[str] = mapped_column(String, primary_key=True)
    draw_id: Mapped[str]
    position: Mapped[int] = mapped_column(Integer)
    result_version: Mapped[int] = mapped_column(Integer)
    credit_code: Mapped[str]
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    received_on: Mapped[dt.date]
    grounds: Mapped[str] = mapped_column(Text)
    evidence_json: Mapped[str] = mapped_column(Text)
    filed_by: Mapped[str]
    filed_at: Mapped[dt.datetime]
    published_on: Mapped[dt.date]
    revision: Mapped[int] = mapped_column(Integer)
    decision_json: Mapped[str] = mapped_column(Text)


class ItemVersionRow(Base):
    """A published version of an inspection item (Art. 5): the item's record and why it changed."""

    __tablename__ = "item_versions"
    __table_args__ = (CheckConstraint("version >= 1", name="version"),)

    code: Mapped[str] = mapped_column(ForeignKey("inspection_items.code"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    effective_from: Mapped[dt.date]
    published_at: Mapped[dt.datetime]
    published_by: Mapped[str]
    change_summary: Mapped[str] = mapped_column(Text)
    change_legal_basis: Mapped[str] = mapped_column(Text)
    changed_fields_json: Mapped[str] = mapped_column(Text)
    snapshot_json: Mapped[str] = mapped_column(Text)


class ChecklistRevisionRow(Base):
    """A revision of an item's checklist (Art. 4, 11), bound to a published item version."""

    __tablename__ = "checklist_revisions"
    __table_args__ = (
        ForeignKeyConstraint(["item_code", "item_version"], ["item_versions.code", "item_versions.version"]),
        CheckConstraint("revision >= 1", name="revision"),
    )

    item_code: Mapped[str] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[dt.date]
    change_reason: Mapped[str] = mapped_column(Text)
    published_at: Mapped[dt.datetime]
    published_by: Mapped[str]
    checklist_json: Mapped[str] = mapped_column(Text)


class InspectionRecordRow(Base):
    """One version of an assignment's inspection record (Art. 12); append-only. ``document_json`` is the
    version's canonical JSON and ``content_hash`` its SHA-256, committed in the audit log."""

    __tablename__ = "inspection_records"
    __table_args__ = (
        ForeignKeyConstraint(["draw_id", "position"], ["assignments.draw_id", "assignments.position"]),
        CheckConstraint("version >= 1", name="version"),
        Index(None, "draw_id", "position"),
    )

    record_id: Mapped[str] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_id: Mapped[str]
    position: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str]
    document_json: Mapped[str] = mapped_column(Text)


class PlanVersionRow(Base):
    """A version of a department's annual plan (Art. 9): its canonical content and state."""

    __tablename__ = "plan_versions"
    __table_args__ = (CheckConstraint("version >= 1", name="version"),)

    plan_id: Mapped[str] = mapped_column(String, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    state: Mapped[str]
    content_json: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str]
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str]
    approved_at: Mapped[dt.datetime | None]
    published_at: Mapped[dt.datetime | None]


# --- evidence ---------------------------------------------------------------------------------------------


class EvidenceRow(Base):
    """A stored evidence file (its bytes are in the evidence store, under the hash): one row per SHA-256,
    with what its first upload said of it."""

    __tablename__ = "evidence"
    __table_args__ = (CheckConstraint("size_bytes >= 0", name="size_bytes"),)

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str]
    file_name: Mapped[str] = mapped_column(Text)
    uploaded_by: Mapped[str]
    uploaded_at: Mapped[dt.datetime]


class DirectoryFilingRow(Base):
    """A department's filing of its directories with its parent (Art. 7): snapshot summary and state."""

    __tablename__ = "directory_filings"
    __table_args__ = (
        UniqueConstraint("department_id", "sequence"),
        CheckConstraint("sequence >= 1", name="sequence"),
    )

    id: Mapped[str] = mapped_column(String, primary_key=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    parent_department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    state: Mapped[str]
    digest: Mapped[str]
    kinds_json: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime]
    submitted_by: Mapped[str]
    note: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[dt.datetime | None]
    decided_by: Mapped[str]
    return_reason: Mapped[str]
    return_note: Mapped[str] = mapped_column(Text)
    superseded_by: Mapped[str]


class DirectoryFilingRecordsRow(Base):
    """The record hashes of a filing's snapshot: ``kind\tkey\thash`` lines sorted, one packed blob
    (``codes.pack_codes``), so a 100k-object filing is one row."""

    __tablename__ = "directory_filing_records"

    filing_id: Mapped[str] = mapped_column(ForeignKey("directory_filings.id"), primary_key=True)
    records_packed: Mapped[bytes]


# --- rule sets; the audit log's head and checkpoints --------------------------------------------------------


class RuleSetRow(Base):
    """A rule set's canonical JSON by its SHA-256, stored when a draw first uses it (for re-evaluation)."""

    __tablename__ = "rule_sets"

    hash: Mapped[str] = mapped_column(String, primary_key=True)
    version: Mapped[str]
    canonical_json: Mapped[str] = mapped_column(Text)
    first_used_at: Mapped[dt.datetime]


class AuditLogHeadRow(Base):
    """The one lock row of the Merkle log: size and frontier. Appends lock it (``FOR UPDATE``), which
    serialises sequence assignment across server processes sharing one database."""

    __tablename__ = "audit_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    frontier_json: Mapped[str] = mapped_column(Text)


class AuditCheckpointRow(Base):
    """A signed checkpoint (tree head) of the audit log; one per appended event."""

    __tablename__ = "audit_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[str]
    public_key: Mapped[str]
    signature: Mapped[str]
    note: Mapped[str | None] = mapped_column(
        Text
    )  # the C2SP signed note; NULL before revision checkpoint_note


# --- verifiable draws --------------------------------------------------------------------------------------


class DrawCommitmentRow(Base):
    """The salt key and the eligible entries (``code\tstratum\trisk_class`` lines, packed) behind the
    eligible-set Merkle root of a draw's manifest."""

    __tablename__ = "draw_commitments"

    draw_id: Mapped[str] = mapped_column(ForeignKey("draws.id"), primary_key=True)
    salt_key: Mapped[str]
    entries_packed: Mapped[bytes]
    plan_packed: Mapped[bytes | None]
    """``dualdraw-draw/4``: the plan rows (``PlanRow.stored`` lines, packed); NULL for older draws."""
    raised_packed: Mapped[bytes | None]
    """``dualdraw-draw/4``: the raised rows (``code\tfrom\tto`` lines, packed); NULL for older draws."""


class DrawEntropyInputRow(Base):
    """One entropy contribution of a draw: its commitment (frozen at commit) and value (once supplied).

    Commitments are unique across all draws, so a reveal can never be replayed into another draw."""

    __tablename__ = "draw_entropy_inputs"
    __table_args__ = (Index("uq_draw_entropy_inputs_commitment", "commitment", unique=True),)

    draw_id: Mapped[str] = mapped_column(ForeignKey("draws.id"), primary_key=True)
    role: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(primary_key=True)
    commitment: Mapped[str | None]
    value: Mapped[str]
    revealed_at: Mapped[dt.datetime | None]


class SubstitutionRow(Base):
    """A substitution (补抽): requested with reason and evidence hash, executed with fresh entropy."""

    __tablename__ = "substitutions"
    __table_args__ = (Index(None, "draw_id", "position"), Index(None, "removed_badge"))

    id: Mapped[str] = mapped_column(primary_key=True)
    draw_id: Mapped[str] = mapped_column(ForeignKey("draws.id"))
    position: Mapped[int] = mapped_column(Integer)
    removed_badge: Mapped[str]
    reason_code: Mapped[str]
    evidence_hash: Mapped[str]
    entropy_source: Mapped[str] = mapped_column(Text)
    local_secret: Mapped[str]
    event_leaf_hash: Mapped[str]
    replacement_badge: Mapped[str]
    entropy: Mapped[str]
    state: Mapped[str]
    requested_at: Mapped[dt.datetime]
    executed_at: Mapped[dt.datetime | None]
    actor: Mapped[str]


# --- experts and testing institutions (docs/DRAW-ALGORITHM.md §8.2) ------------------------------------


class ExpertRow(Base):
    """An expert of the expert directory (专家库); qualifications and conflicts as canonical JSON lists."""

    __tablename__ = "experts"

    id: Mapped[str] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(Text)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    employer_credit_code: Mapped[str]
    qualifications_json: Mapped[str] = mapped_column(Text)
    conflicts_json: Mapped[str] = mapped_column(Text)


class TestingInstitutionRow(Base):
    """A testing institution (检验检测机构): accreditation scopes and conflicts as canonical JSON lists."""

    __tablename__ = "testing_institutions"
    __test__ = False  # not a pytest test class despite the name

    id: Mapped[str] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(Text)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    credit_code: Mapped[str]
    qualifications_json: Mapped[str] = mapped_column(Text)
    conflicts_json: Mapped[str] = mapped_column(Text)


class ExpertRequirementRow(Base):
    """What an inspection item needs per object: ``count`` experts or institutions holding
    ``qualification``."""

    __tablename__ = "expert_requirements"

    item_code: Mapped[str] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(primary_key=True)
    qualification: Mapped[str]
    count: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime]


class ExpertDrawRow(Base):
    """An expert draw: its inputs committed before the entropy, and its result once executed."""

    __tablename__ = "expert_draws"

    id: Mapped[str] = mapped_column(primary_key=True)
    draw_id: Mapped[str] = mapped_column(ForeignKey("draws.id"), index=True)
    kind: Mapped[str]
    state: Mapped[str]
    as_of: Mapped[dt.date]
    inputs_json: Mapped[str] = mapped_column(Text)
    inputs_hash: Mapped[str]
    entropy_source: Mapped[str] = mapped_column(Text)
    local_secret: Mapped[str]
    entropy: Mapped[str]
    seed: Mapped[str]
    result_json: Mapped[str] = mapped_column(Text)
    result_hash: Mapped[str]
    beacon_value: Mapped[str]
    requested_at: Mapped[dt.datetime]
    executed_at: Mapped[dt.datetime | None]
    actor: Mapped[str]


class ExpertSelectionRow(Base):
    """One drawn expert or institution (``rank`` 0 leads) for one assignment of an executed expert draw."""

    __tablename__ = "expert_selections"
    __table_args__ = (Index(None, "member_id", "credit_code"),)

    expert_draw_id: Mapped[str] = mapped_column(ForeignKey("expert_draws.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str]
    credit_code: Mapped[str]
    ticket: Mapped[str]


# --- idempotency of mutating requests --------------------------------------------------------------------


class IdempotentRequestRow(Base):
    """The first response to a mutating request, keyed by (method, caller, request_id) (AIP-155).

    The row is inserted in the same transaction as the write it guards (so a second write with the same key
    fails on the primary key) and ``response`` is filled right after; a row without a response means the
    write is committed and its answer is still being sent (or was lost in a crash).
    """

    __tablename__ = "idempotent_requests"

    method: Mapped[str] = mapped_column(String, primary_key=True)
    caller: Mapped[str] = mapped_column(String, primary_key=True)
    request_id: Mapped[str] = mapped_column(String, primary_key=True)
    request_digest: Mapped[str]
    response: Mapped[bytes | None]
    created_at: Mapped[dt.datetime]
    completed_at: Mapped[dt.datetime | None]


# --- messages for other systems ----------------------------------------------------------------------------


class OutboxMessageRow(Base):
    """A message for another system (``dualdraw.domain.outbox``), inserted in the transaction of the change
    and its audit event; a relay marks it delivered (with the receiver's receipt) or failed (with the next
    attempt's time). Delivered rows stay: they are the delivery record."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index(None, "destination", "delivered_at", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    destination: Mapped[str] = mapped_column(String(16))
    audit_sequence: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(Text)
    after_json: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[dt.datetime]
    delivered_at: Mapped[dt.datetime | None]
    receipt: Mapped[str] = mapped_column(Text, server_default=text("''"))
    last_error: Mapped[str] = mapped_column(Text, server_default=text("''"))
