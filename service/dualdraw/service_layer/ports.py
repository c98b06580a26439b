"""The storage port: what the use cases need from persistence; ``dualdraw.adapters.store`` implements it.

Contracts shared by every method:
- keys are the domain keys (department id, credit code, badge number, side-fact id, item code, task id,
  draw id); ``get_*`` returns ``None`` when absent;
- ``list_*`` pages by key order: ``PageRequest.after`` is the last key of the previous page (``None`` for
  the first page) and the returned ``Page.next_after`` is ``None`` on the last page;
- ``upsert_*`` inserts or replaces whole records by key; nothing is committed until ``UnitOfWork.commit``.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, Literal, Protocol, Self, TypeVar

from dualdraw.domain.audit.checkpoints import Checkpoint
from dualdraw.domain.audit.entries import StoredEntry
from dualdraw.domain.checklists import ChecklistRevision
from dualdraw.domain.directory_filing import DirectoryFiling, RecordHash
from dualdraw.domain.draw.commitments import EligibleEntry
from dualdraw.domain.draw.entropy import EntropyInput
from dualdraw.domain.draw.expert_draw import (
    Expert,
    ExpertDraw,
    Requirement,
    Selection,
    TestingInstitution,
)
from dualdraw.domain.draw.object_plan import ObjectPlan, PlanRow, RaisedRow
from dualdraw.domain.draw.substitution import Substitution
from dualdraw.domain.evidence import Evidence, EvidenceProblem
from dualdraw.domain.exclusions.model import EvaluationContext, RuleSet
from dualdraw.domain.follow_ups import FollowUp
from dualdraw.domain.inspection_history import PastInspection
from dualdraw.domain.inspection_records import InspectionRecord
from dualdraw.domain.item_list import ItemVersion
from dualdraw.domain.jurisdiction import ObjectFilter
from dualdraw.domain.model import (
    Assignment,
    AuditEvent,
    AuditRecord,
    Campaign,
    Complaint,
    Department,
    Draw,
    DrawObjects,
    Exclusion,
    InspectionItem,
    InspectionObject,
    Inspector,
    ObjectAttributes,
    RiskAssessment,
    SideFacts,
    StatutoryDesignation,
    Task,
)
from dualdraw.domain.objections import Objection
from dualdraw.domain.outbox import DeliveryState, Destination, OutboxMessage
from dualdraw.domain.plan.model import PlanVersion
from dualdraw.domain.policy import Raise
from dualdraw.domain.publication import Publication
from dualdraw.domain.results import InspectionResult

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    size: int
    after: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_after: str | None = None


@dataclass(frozen=True)
class DrawRecord:
    """A stored draw and everything needed to recompute it."""

    draw: Draw
    eligible_codes: list[str]
    inspector_pool: list[str]
    exclusions: list[Exclusion]
    assignments: list[Assignment]


OwnedKind = Literal[
    "department", "object", "inspector", "campaign", "complaint", "risk_assessment", "designation", "item"
]
"""Record kinds whose owning department ``DirectoryRepository.owning_departments`` answers."""


class DirectoryRepository(Protocol):
    def upsert_departments(self, items: Sequence[Department]) -> None: ...
    def upsert_objects(self, items: Sequence[InspectionObject]) -> None: ...
    def upsert_inspectors(self, items: Sequence[Inspector]) -> None: ...
    def upsert_complaints(self, items: Sequence[Complaint]) -> None: ...
    def upsert_campaigns(self, items: Sequence[Campaign]) -> None: ...
    def upsert_risk_assessments(self, items: Sequence[RiskAssessment]) -> None: ...
    def upsert_statutory_designations(self, items: Sequence[StatutoryDesignation]) -> None: ...

    def get_department(self, id: str) -> Department | None: ...
    def all_departments(self) -> list[Department]: ...
    def department_subtree(self, department_id: str) -> frozenset[str]:
        """The department's id and the ids of every department below it; empty when it is unknown."""
        ...

    def list_departments(self, page: PageRequest, ids: Collection[str] | None = None) -> Page[Department]: ...

    def get_object(self, credit_code: str) -> InspectionObject | None: ...
    def list_objects(
        self, page: PageRequest, department_ids: Collection[str] | None = None
    ) -> Page[InspectionObject]: ...
    def existing_credit_codes(self, credit_codes: Collection[str]) -> set[str]: ...
    def objects_by_code(self, credit_codes: Collection[str]) -> dict[str, InspectionObject]:
        """The stored objects among ``credit_codes``, keyed by credit code (absent ones are left out)."""
        ...

    def inspectors_by_badge(self, badge_numbers: Collection[str]) -> dict[str, Inspector]: ...
    def owning_departments(
        self, kind: OwnedKind, keys: Collection[str], *, outside: Collection[str] | None = None
    ) -> dict[str, str]:
        """The department owning each stored record of ``kind`` among ``keys`` (absent keys left out), in
        one query per batch of keys: side facts belong to their object's registering department. With
        ``outside``, only the records whose owner is not one of those departments."""
        ...

    def complaints_by_id(self, ids: Collection[str]) -> dict[str, Complaint]: ...
    def campaigns_by_id(self, ids: Collection[str]) -> dict[str, Campaign]: ...
    def risk_assessments_by_id(self, ids: Collection[str]) -> dict[str, RiskAssessment]: ...
    def statutory_designations_by_id(self, ids: Collection[str]) -> dict[str, StatutoryDesignation]: ...
    def count_objects(self) -> int: ...
    def objects_matching(self, flt: ObjectFilter) -> list[InspectionObject]: ...
    def draw_objects_matching(self, flt: ObjectFilter) -> DrawObjects:
        """The objects ``objects_matching`` returns, in the same order, as a draw reads them: without
        their names."""
        ...

    def side_facts_matching(self, flt: ObjectFilter, codes: Sequence[str] | None = None) -> SideFacts:
        """Complaints, risk assessments and designations of the objects ``flt`` selects, and all campaigns.
        ``codes``: the credit codes ``flt`` selects, ascending, when the caller holds them already (a hint:
        the result is the same)."""
        ...

    def get_inspector(self, badge_number: str) -> Inspector | None: ...
    def list_inspectors(
        self, page: PageRequest, department_ids: Collection[str] | None = None
    ) -> Page[Inspector]: ...
    def inspectors_of(self, department_ids: Collection[str]) -> list[Inspector]: ...

    def get_complaint(self, id: str) -> Complaint | None: ...
    def list_complaints(self, page: PageRequest, credit_code: str | None = None) -> Page[Complaint]: ...
    def get_campaign(self, id: str) -> Campaign | None: ...
    def list_campaigns(self, page: PageRequest) -> Page[Campaign]: ...
    def get_risk_assessment(self, id: str) -> RiskAssessment | None: ...
    def list_risk_assessments(
        self, page: PageRequest, credit_code: str | None = None
    ) -> Page[RiskAssessment]: ...
    def get_statutory_designation(self, id: str) -> StatutoryDesignation | None: ...
    def list_statutory_designations(
        self, page: PageRequest, credit_code: str | None = None
    ) -> Page[StatutoryDesignation]: ...


class DirectoryFilingRepository(Protocol):
    """Filings of a department's directories with its parent (Art. 7), and each filing's record hashes."""

    def add(self, filing: DirectoryFiling, records: Sequence[RecordHash]) -> None:
        """Stores a new filing; ``AlreadyExists`` (``DIRECTORY_FILING_EXISTS``) when its id is taken."""
        ...

    def replace(self, filing: DirectoryFiling) -> None: ...
    def get(self, id: str) -> DirectoryFiling | None: ...
    def lock_department(self, department_id: str) -> None:
        """Serialises filings of one department until the transaction ends."""
        ...

    def latest(self, department_id: str) -> DirectoryFiling | None: ...
    def last_acknowledged(self, department_id: str, before: int | None = None) -> DirectoryFiling | None:
        """The latest acknowledged filing (with ``before``: of a lower sequence number)."""
        ...

    def latest_of(self, department_ids: Collection[str]) -> dict[str, DirectoryFiling]: ...
    def records(self, id: str) -> builtins.list[RecordHash]:
        """The record hashes of a filing, sorted by kind and key."""
        ...

    def list(
        self,
        page: PageRequest,
        department_ids: Collection[str] | None = None,
        parent_ids: Collection[str] | None = None,
    ) -> Page[DirectoryFiling]:
        """Filings by department and sequence; the page key is ``department_id\tsequence``."""
        ...


class ItemRepository(Protocol):
    def add(self, item: InspectionItem) -> None: ...
    def get(self, code: str) -> InspectionItem | None: ...
    def list(self, page: PageRequest) -> Page[InspectionItem]: ...


class TaskRepository(Protocol):
    def add(self, task: Task) -> None: ...
    def get(self, id: str) -> Task | None: ...
    def list(self, page: PageRequest, department_ids: Collection[str] | None = None) -> Page[Task]: ...
    def set_draw(self, task_id: str, draw_id: str | None) -> None: ...


@dataclass(frozen=True)
class PackedCodes:
    """A draw's eligible codes and pool lines as the store keeps them (``DrawRepository.pack_codes``)."""

    eligible: bytes
    pool: bytes


class DrawRepository(Protocol):
    def pack_codes(self, eligible_codes: Sequence[str], inspector_pool: Sequence[str]) -> PackedCodes:
        """The eligible codes and pool lines in their stored form: a fraction of a second of compression
        at a million objects, which needs no draw row yet (and no transaction)."""
        ...

    def add(self, record: DrawRecord, packed: PackedCodes | None = None) -> None:
        """Stores the draw with its eligible set, pool, exclusions and assignments; ``packed``, when given,
        is ``pack_codes`` of the record's eligible codes and pool.

        Raises ``dualdraw.domain.errors.AlreadyExists`` when the task already has a draw (a unique
        constraint in the database, so concurrent draws for one task serialise there).
        """
        ...

    def get(self, id: str) -> Draw | None: ...
    def get_record(self, id: str) -> DrawRecord | None: ...
    def inspector_pool(self, id: str) -> builtins.list[str]:
        """The frozen pool lines of the draw (empty when there is no such draw)."""
        ...

    def exclusion_pairs(self, id: str) -> Iterator[tuple[str, str]]:
        """``(credit_code, rule_id)`` of every exclusion, by code then rule id (UTF-8 bytes), read in batches
        as consumed (inside the unit of work)."""
        ...

    def list(self, page: PageRequest, task_id: str | None = None) -> Page[Draw]: ...
    def list_assignments(self, draw_id: str, page: PageRequest) -> Page[Assignment]:
        """Pages by position; ``PageRequest.after`` is the last position as a decimal string."""
        ...

    def list_exclusions(self, draw_id: str, page: PageRequest) -> Page[Exclusion]:
        """Pages by (credit_code, rule_id); ``after`` is ``"<credit_code>/<rule_id>"``."""
        ...

    def add_raises(self, draw_id: str, raises: Sequence[Raise]) -> None: ...
    def list_raises(self, draw_id: str, page: PageRequest) -> Page[Raise]: ...
    def inspection_history(
        self, credit_codes: Collection[str] | None = None
    ) -> builtins.list[PastInspection]:
        """Selections of executed draws (of ``credit_codes``; ``None``: all), teams after substitutions."""
        ...

    def joined_inspections(self) -> builtins.list[PastInspection]:
        """Objects executed draws (not rehearsals) joined into another level's inspection before entropy
        (exclusion rule ``joined-to-other-level``), as inspections without a team of their own."""
        ...

    def serious_violations(
        self, credit_codes: Collection[str]
    ) -> dict[str, builtins.list[tuple[str, dt.date]]]:
        """Per object, results whose latest version opened a case or referred it: (result id, date)."""
        ...


class OutboxRepository(Protocol):
    """Messages for other systems (``dualdraw.domain.outbox``), written with the change that caused them."""

    def add(self, messages: Sequence[OutboxMessage]) -> None: ...
    def due(self, destination: Destination, now: dt.datetime, limit: int) -> list[OutboxMessage]:
        """Undelivered messages whose next attempt is due, oldest event first, locked for this transaction
        where the database can (other relays skip them)."""
        ...

    def lease(self, id: str, until: dt.datetime) -> None:
        """Moves an undelivered message's next attempt to ``until`` (it is being sent meanwhile)."""
        ...

    def delivered(self, id: str, at: dt.datetime, receipt: str) -> None:
        """Marks a message delivered with its receipt; a message delivered already stays as it was."""
        ...

    def failed(self, id: str, error: str, next_attempt_at: dt.datetime) -> None:
        """Records a failed attempt of an undelivered message (a delivered one stays as it was)."""
        ...

    def get(self, id: str) -> OutboxMessage | None: ...
    def counts(self, destination: Destination) -> dict[DeliveryState, int]: ...
    def list(
        self, destination: Destination, page: PageRequest, state: DeliveryState | None = None
    ) -> Page[OutboxMessage]: ...


class AuditRepository(Protocol):
    def append(self, record: AuditRecord) -> AuditEvent:
        """Appends ``record`` in the current transaction; ``sequence`` is assigned by the store."""
        ...

    def stage(self, record: AuditRecord) -> None:
        """Keeps ``record`` for the unit of work's ``commit``, which appends the staged records as its last
        step, so the log's head is held for the commit only; forgotten when the transaction is rolled
        back."""
        ...

    def list(self, page: PageRequest, resource: str | None = None) -> Page[AuditEvent]:
        """Pages by sequence; ``after`` is the last sequence as a decimal string."""
        ...

    # -- the Merkle log -----------------------------------------------------------------------------
    def entries(self) -> Iterator[StoredEntry]: ...
    def leaf_hashes(self, upto: int | None = None) -> builtins.list[str]: ...
    def checkpoints(self) -> builtins.list[Checkpoint]: ...
    def checkpoint(self, tree_size: int | None = None) -> Checkpoint | None: ...
    def events_of(self, resource: str) -> builtins.list[AuditEvent]: ...
    def sign_head(self) -> Checkpoint | None: ...


@dataclass(frozen=True)
class PendingDraw:
    """A committed draw that has not executed yet, with what its task's policy and item say."""

    draw_id: str
    task_id: str
    department_id: str
    policy_json: str
    item_frequency_cap: int | None
    item_code: str = ""


@dataclass(frozen=True)
class PackedCommitments:
    """A draw's eligible entries, object plan and raises as the store keeps them (``pack_commitments``);
    ``plan`` and ``raised`` are ``None`` before ``dualdraw-draw/4``."""

    entries: bytes
    plan: bytes | None = None
    raised: bytes | None = None


class DrawLifecycleRepository(Protocol):
    """Commitments, entropy inputs, state changes, execution and substitutions of draws."""

    def lock_history_scope(self, department_ids: Collection[str], *, exclusive: bool) -> None:
        """Holds the draw lock of every department in ``department_ids`` until the transaction ends.

        ``exclusive``: for a draw that reads the inspection history of those departments (caps, recent
        inspections); it waits for every other holder. Otherwise shared: for a draw that only adds to it;
        shared holders do not wait for each other. Draws of disjoint scopes never wait for each other.
        Raises ``RuntimeError`` when the transaction cannot hold the lock (a read-only unit of work).
        """
        ...

    def pending_draws(self) -> list[PendingDraw]:
        """Every committed draw that has not executed (nor been abandoned) yet."""
        ...

    def pack_commitments(
        self, entries: Sequence[EligibleEntry], plan: ObjectPlan | None = None
    ) -> PackedCommitments:
        """The eligible entries and (``dualdraw-draw/4``) the object plan and raises in their stored form:
        seconds of text and compression at a million objects, which need no draw row yet."""
        ...

    def add_commitments(self, draw_id: str, salt_key: str, packed: PackedCommitments) -> None:
        """Stores the salt key and the ``packed`` entries, plan and raises of ``draw_id``."""
        ...

    def object_plan(self, draw_id: str) -> ObjectPlan | None:
        """The stored object plan and raises of a ``dualdraw-draw/4`` draw; ``None`` for older draws."""
        ...

    def object_plan_rows(self, draw_id: str) -> tuple[Iterator[PlanRow], list[RaisedRow]] | None:
        """``object_plan`` with the plan rows read as consumed (inside the unit of work), in stored order."""
        ...

    def commitments(self, draw_id: str) -> tuple[str, list[EligibleEntry]] | None: ...
    def commitment_entries(self, draw_id: str) -> tuple[str, Iterator[EligibleEntry]] | None:
        """``commitments`` with the entries read as consumed (inside the unit of work), in stored order."""
        ...

    def add_entropy_inputs(self, draw_id: str, inputs: Sequence[EntropyInput]) -> None: ...
    def entropy_inputs(self, draw_id: str) -> list[EntropyInput]: ...
    def set_entropy_value(self, draw_id: str, role: str, name: str, value: str, at: dt.datetime) -> None: ...
    def lock_draw(self, draw_id: str) -> None: ...
    def execute(
        self,
        draw_id: str,
        *,
        seed: str,
        entropy_source: str,
        entropy: str,
        executed_at: dt.datetime,
        selected_count: int,
    ) -> None:
        """Marks the committed draw executed with its seed and entropy; its ``selected_count`` assignments
        are added with ``add_assignments``."""
        ...

    def add_assignments(self, draw_id: str, assignments: Sequence[Assignment]) -> None:
        """Adds assignments (with their teams) of the draw, any number at a time."""
        ...

    def abandon(self, draw_id: str, task_id: str, reason: str, note: str) -> None: ...
    def abandoned_counts(self) -> dict[str, int]: ...
    def abandoned_of_task(self, task_id: str) -> int: ...
    def abandoned_draws(self, task_id: str = "", department_id: str = "") -> list[Draw]: ...
    def draws_per_department(self) -> dict[str, tuple[int, int, int]]: ...
    def add_substitution(self, sub: Substitution, local_secret: str) -> None: ...
    def get_substitution(self, sub_id: str) -> tuple[Substitution, str] | None: ...
    def substitutions(self, draw_id: str) -> list[Substitution]: ...
    def complete_substitution(
        self, sub: Substitution, *, replacement: str, entropy: str, at: dt.datetime
    ) -> None: ...
    def substitution_counts(self) -> tuple[dict[str, int], dict[str, int]]: ...


class RuleSetRepository(Protocol):
    """Rule sets by hash: the canonical JSON of every set a draw used."""

    def remember(self, hash: str, version: str, canonical_json: str, at: dt.datetime) -> None:
        """Stores the set unless a set with ``hash`` is stored already."""
        ...

    def get(self, hash: str) -> str | None:
        """The canonical JSON of the set with ``hash``, ``None`` when none is stored."""
        ...


class ExpertRepository(Protocol):
    """The expert and testing-institution directories, items' requirements and expert draws (§8.2)."""

    def upsert_experts(self, items: Sequence[Expert]) -> None: ...
    def upsert_institutions(self, items: Sequence[TestingInstitution]) -> None: ...
    def owners(self, kind: str, ids: Collection[str]) -> dict[str, str]:
        """The department of each stored entry of ``kind`` (``expert``/``institution``) among ``ids``."""
        ...

    def get_expert(self, id: str) -> Expert | None: ...
    def get_institution(self, id: str) -> TestingInstitution | None: ...
    def list_experts(
        self, page: PageRequest, department_ids: Collection[str] | None = None
    ) -> Page[Expert]: ...
    def list_institutions(
        self, page: PageRequest, department_ids: Collection[str] | None = None
    ) -> Page[TestingInstitution]: ...
    def experts_of(self, department_ids: Collection[str]) -> builtins.list[Expert]:
        """Every expert of ``department_ids`` (one bulk read), by id."""
        ...

    def institutions_of(self, department_ids: Collection[str]) -> builtins.list[TestingInstitution]:
        """Every testing institution of ``department_ids`` (one bulk read), by id."""
        ...

    def holders(self, kind: str, qualification: str) -> builtins.list[Expert | TestingInstitution]:
        """Every entry of ``kind`` holding a qualification with code ``qualification`` (expired included)."""
        ...

    def set_requirement(self, requirement: Requirement, at: dt.datetime) -> None: ...
    def requirements(self, item_code: str) -> builtins.list[Requirement]: ...
    def add_draw(self, draw: ExpertDraw, local_secret: str) -> None: ...
    def get_draw(self, id: str) -> tuple[ExpertDraw, str] | None:
        """The expert draw and its local secret (``""`` unless development entropy)."""
        ...

    def draws_of(self, draw_id: str) -> builtins.list[ExpertDraw]: ...
    def complete_draw(self, draw: ExpertDraw, selections: Sequence[Selection], at: dt.datetime) -> None:
        """Stores the executed state of ``draw`` (entropy, seed, result) and its selection rows."""
        ...

    def selections(self, expert_draw_id: str) -> builtins.list[Selection]: ...
    def served(
        self, kind: str, credit_codes: Collection[str], since: dt.date, until: dt.date
    ) -> dict[str, set[str]]:
        """Member id → the codes among ``credit_codes`` it was drawn for by executed expert draws of
        ``kind`` dated in ``[since, until]``."""
        ...


class UnitOfWork(Protocol):
    """One transaction. ``with uow:`` rolls back on exit unless ``commit()`` was called."""

    directory: DirectoryRepository
    items: ItemRepository
    tasks: TaskRepository
    plans: PlanRepository
    draws: DrawRepository
    audit: AuditRepository
    results: ResultRepository
    publications: PublicationRepository
    item_versions: ItemVersionRepository
    rule_sets: RuleSetRepository
    lifecycle: DrawLifecycleRepository
    outbox: OutboxRepository
    evidence: EvidenceRepository
    filings: DirectoryFilingRepository
    follow_ups: FollowUpRepository
    objections: ObjectionRepository
    checklists: ChecklistRepository
    inspection_records: InspectionRecordRepository
    experts: ExpertRepository

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None:
        """Commits the transaction, after the queued writes (``defer``)."""
        ...

    def rollback(self) -> None: ...
    def defer(self, write: Callable[[], None]) -> None:
        """Queues ``write``, statements of this transaction that nothing in it reads before they run: at
        ``write_behind`` (after those already running behind), at the latest at ``settle`` or before the
        commit. A rollback drops them."""
        ...

    def write_behind(self) -> None:
        """Starts the queued writes, beside the caller where the database allows it; writes deferred after
        this run behind too (the caller then computes without the database until ``settle``)."""
        ...

    def settle(self) -> None:
        """Returns once every write deferred so far has run; raises what they raised."""
        ...


class ObjectLookup(Protocol):
    """The object with a credit code, read alone (``GetObject``); ``None`` when there is none. Raises
    ``Unavailable`` when the database cannot answer."""

    def __call__(self, credit_code: str) -> InspectionObject | None: ...


class PointRead(Protocol):
    """Runs a read of a few rows by key, which must not write, in a unit of work of its own
    (``Store.point_read``)."""

    def __call__(self, read: Callable[[UnitOfWork], T]) -> T: ...


# --- results and publication -------------------------------------------------------------------------------


class ResultRepository(Protocol):
    """Inspection results, append-only: one row per (draw, position, version)."""

    def add(self, result: InspectionResult) -> None:
        """Raises ``AlreadyExists`` (reason ``RESULT_VERSION_EXISTS``) when that version is stored already
        (two concurrent corrections of one result: the second must re-read and retry)."""
        ...

    def get(self, draw_id: str, position: int, version: int) -> InspectionResult | None: ...
    def history(self, draw_id: str, position: int) -> list[InspectionResult]:
        """Every version of one assignment's result, oldest first."""
        ...

    def current(self, draw_id: str) -> dict[int, InspectionResult]:
        """The latest version of every result of a draw, by position."""
        ...

    def get_many(self, keys: Collection[tuple[str, int, int]]) -> list[InspectionResult]:
        """The stored versions among ``(draw_id, position, version)`` keys, in key order."""
        ...

    def list_current(self, page: PageRequest, draw_id: str | None = None) -> Page[InspectionResult]:
        """Latest versions, paged by (draw_id, position); ``after`` is ``"<draw_id>/<position>"``."""
        ...

    def draw_ids(self) -> list[str]:
        """Draws that have at least one result, sorted."""
        ...


class PublicationRepository(Protocol):
    def add(self, publication: Publication) -> Publication:
        """Stores ``publication`` (its ``sequence`` is ignored and assigned by the store) and returns it.

        Raises ``AlreadyExists`` (reason ``PUBLICATION_CONFLICT``) when the revision is taken.
        """
        ...

    def latest(self, draw_id: str) -> Publication | None: ...
    def latest_all(self) -> dict[str, Publication]:
        """The latest publication of every published draw, by draw id."""
        ...

    def after(self, sequence: int, limit: int) -> list[Publication]:
        """Publications with a larger sequence, in sequence order (the credit export's increments)."""
        ...

    def previous(self, publication: Publication) -> Publication | None:
        """The publication of the same draw with the revision before ``publication``'s."""
        ...


class FollowUpRepository(Protocol):
    """Follow-ups of results (Art. 13), one record each, replaced whole at each change."""

    def add(self, follow_up: FollowUp) -> None: ...
    def get(self, id: str) -> FollowUp | None: ...
    def replace(self, follow_up: FollowUp, previous_revision: int) -> None:
        """Stores ``follow_up`` over the record whose revision is ``previous_revision``; ``Aborted``
        (``CONCURRENT_CHANGE``) when another request changed it since it was read."""
        ...

    def list(
        self,
        page: PageRequest,
        department_ids: Collection[str] | None = None,
        draw_id: str | None = None,
        open_only: bool = False,
    ) -> Page[FollowUp]:
        """By id; of the owning departments ``department_ids`` (``None``: all), of one draw, not closed."""
        ...

    def overdue(
        self, today: dt.date, department_ids: Collection[str] | None = None
    ) -> builtins.list[FollowUp]:
        """Not closed and due before ``today``, by owning department, due date and id."""
        ...

    def of_results(self, keys: Collection[tuple[str, int]]) -> builtins.list[FollowUp]:
        """Every follow-up of the results ``(draw_id, position)``, by result, opening day and id."""
        ...


class ObjectionRepository(Protocol):
    """Enterprise objections to published results, one record each (filed, then decided once)."""

    def add(self, objection: Objection) -> None: ...
    def get(self, id: str) -> Objection | None: ...
    def replace(self, objection: Objection, previous_revision: int) -> None:
        """As ``FollowUpRepository.replace``."""
        ...

    def list(
        self, page: PageRequest, department_ids: Collection[str] | None = None, draw_id: str | None = None
    ) -> Page[Objection]: ...
    def of_results(self, keys: Collection[tuple[str, int]]) -> builtins.list[Objection]:
        """Every objection to the results ``(draw_id, position)``, by result, day received and id."""
        ...


class PlanRepository(Protocol):
    def add(self, version: PlanVersion) -> None:
        """Raises ``AlreadyExists`` (reason ``PLAN_VERSION_EXISTS``) when that version is stored already."""
        ...

    def replace(self, version: PlanVersion) -> None: ...
    def versions(self, plan_id: str) -> builtins.list[PlanVersion]:
        """Every version of a plan, oldest first (empty for an unknown plan)."""
        ...

    def list(
        self,
        page: PageRequest,
        department_ids: builtins.list[str] | None = None,
        published_only: bool = False,
    ) -> Page[PlanVersion]:
        """The latest version of each plan (the latest published one with ``published_only``)."""
        ...

    def tasks_of(self, plan_id: str) -> builtins.list[Task]: ...
    def task_in_slot(self, slot: str) -> Task | None: ...


class ItemVersionRepository(Protocol):
    def add(self, version: ItemVersion) -> None:
        """Raises ``AlreadyExists`` (reason ``ITEM_VERSION_EXISTS``) when that version is stored already."""
        ...

    def history(self, code: str) -> list[ItemVersion]:
        """Every published version of an item, oldest first."""
        ...

    def all(self) -> list[ItemVersion]:
        """Every published version of every item, by code and version."""
        ...

    def replace_item(self, item: InspectionItem) -> None:
        """Replaces the working record of a revised item (its item-list row); ``NotFound`` if absent."""
        ...


# --- evidence ---------------------------------------------------------------------------------------------


class EvidenceRepository(Protocol):
    """The record of stored evidence files, one row per SHA-256 (the bytes are in an ``EvidenceStore``)."""

    def add(self, evidence: Evidence) -> bool:
        """Records ``evidence``; ``False`` (and nothing changed) when its hash is recorded already."""
        ...

    def get(self, sha256: str) -> Evidence | None: ...
    def get_many(self, sha256s: Collection[str]) -> dict[str, Evidence]:
        """The recorded evidence of those hashes that are recorded, by hash, in one query."""
        ...

    def list(self, page: PageRequest) -> Page[Evidence]:
        """By hash; ``Page.next_after`` is the last hash shown."""
        ...


@dataclass(frozen=True)
class StoredBlob:
    """A file that is in the store whole, with its SHA-256 (hex) and size, as checked while it was written."""

    sha256: str
    size_bytes: int


class EvidenceStore(Protocol):
    """Where evidence bytes live, addressed by their SHA-256 (a directory; object storage could replace it).

    Nothing partial is ever visible: a file appears under its hash only once all of it is written, with the
    declared size and hash; a failed or interrupted write leaves nothing a reader can find."""

    def put(self, sha256: str, size_bytes: int, chunks: Iterator[bytes]) -> StoredBlob:
        """Writes ``chunks`` and makes them visible under ``sha256`` when their hash and size are those
        declared. Raises ``InvalidArgument`` (``EVIDENCE_HASH_MISMATCH``, ``EVIDENCE_SIZE_MISMATCH``) and
        leaves nothing otherwise; storing content that is there already is a no-op."""
        ...

    def read(self, sha256: str, size_bytes: int, chunk_bytes: int) -> Iterator[bytes]:
        """The file's bytes in chunks, checked against ``sha256`` and ``size_bytes`` before the first chunk
        and again as they are read: ``DataLoss`` (``EVIDENCE_MISSING``, ``EVIDENCE_ALTERED``) when the file
        is absent or other than recorded."""
        ...

    def check(self, sha256: str, size_bytes: int) -> EvidenceProblem | None:
        """``None`` when the file is there with its hash and size, else what is wrong with it."""
        ...

    def location(self, sha256: str) -> str:
        """Where the file is kept, for people: its path inside the store (short enough for error metadata)."""


class ChecklistRepository(Protocol):
    """Checklist revisions of items, append-only."""

    def add(self, revision: ChecklistRevision) -> None:
        """Raises ``AlreadyExists`` (reason ``CHECKLIST_REVISION_EXISTS``) when that revision is stored."""
        ...

    def history(self, item_code: str) -> list[ChecklistRevision]:
        """Every revision of an item's checklist, oldest first."""
        ...


class InspectionRecordRepository(Protocol):
    """Inspection records, append-only: one row per (record id, version) with its canonical JSON and hash."""

    def add(self, record: InspectionRecord) -> None:
        """Raises ``AlreadyExists`` (reason ``RECORD_VERSION_EXISTS``) when that version is stored already."""
        ...

    def history(self, record_id: str) -> list[InspectionRecord]:
        """Every version of one record, oldest first (empty for an unknown record)."""
        ...

    def list_current(
        self, page: PageRequest, draw_id: str | None = None, position: int | None = None
    ) -> Page[InspectionRecord]:
        """Latest versions, paged by record id (``after`` is the last record id)."""
        ...

    def all_versions(self, page: PageRequest) -> Page[tuple[str, int, str, str]]:
        """``(record_id, version, document_json, content_hash)`` of every stored version as stored, paged
        by (record id, version); ``after`` is ``"<record_id>/<version>"``."""
        ...


class ExclusionMatcher(Protocol):
    """Decides which objects the exclusion rules exclude. The implementation is durable_rules in a worker
    process (``dualdraw.adapters.rules_engine.engine.ExclusionEngine``); the use cases see only this."""

    def evaluate(
        self,
        rule_set: RuleSet,
        context: EvaluationContext,
        objects: Sequence[ObjectAttributes],
        side_facts: SideFacts,
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Exclusion]:
        """One ``Exclusion`` per (object, rule) that holds, sorted by (credit code, rule id); ``progress`` is
        called after each shard.
        Raises ``FailedPrecondition`` for a context the rules cannot use, ``Unavailable`` when the engine
        failed."""
        ...
