"""SQLAlchemy implementations of the repository ports in ``dualdraw.service_layer.ports``.

Each repository works inside the session of its unit of work and never commits. Rows are mapped to and from
the domain's frozen dataclasses (``dualdraw.adapters.store.rows``); no ORM object leaves this module. Writes
go
through ``dualdraw.adapters.store.bulk`` (batched Core statements, ``COPY`` on PostgreSQL), never one ORM
object per
row:
- ``upsert_*`` replaces whole records by key; child rows (specialities, conflicts) are deleted and
  re-inserted with their parent. Within one call the last item with a key wins.
- ``list_*`` pages by keyset: ``WHERE key > after ORDER BY key LIMIT size + 1``.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import operator
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dualdraw.adapters.store import bulk
from dualdraw.adapters.store.codes import pack_codes, unpack_codes
from dualdraw.adapters.store.rows import (
    ASSIGNMENTS,
    AUDIT,
    AUDIT_HEAD,
    CAMPAIGNS,
    CHECKPOINTS,
    COMPLAINTS,
    CONFLICTS,
    DEPARTMENTS,
    DESIGNATIONS,
    DRAW_ELIGIBLE,
    DRAWS,
    EXCLUSION_COLUMNS,
    EXCLUSIONS,
    INSPECTORS,
    ITEMS,
    MEMBERS,
    OBJECT_COLUMNS,
    OBJECT_NAMES,
    OBJECTS,
    RAISES,
    RISK_ASSESSMENTS,
    SPECIALITIES,
    TASKS,
    Row,
    Values,
    campaign_values,
    complaint_values,
    department_values,
    designation_values,
    draw_values,
    dump_strings,
    item_values,
    load_strings,
    object_row,
    risk_assessment_values,
    task_values,
    to_audit_event,
    to_campaign,
    to_complaint,
    to_department,
    to_designation,
    to_draw,
    to_exclusion,
    to_item,
    to_object,
    to_objects,
    to_risk_assessment,
    to_task,
)
from dualdraw.domain.audit.checkpoints import Checkpoint, CheckpointSigner
from dualdraw.domain.audit.entries import StoredEntry, event_leaf_hash
from dualdraw.domain.audit.merkle import Frontier
from dualdraw.domain.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound
from dualdraw.domain.jurisdiction import ObjectFilter
from dualdraw.domain.model import (
    Assignment,
    AuditEvent,
    Campaign,
    Complaint,
    Department,
    Draw,
    Exclusion,
    InspectionItem,
    InspectionObject,
    Inspector,
    ObjectStatus,
    RiskAssessment,
    SideFacts,
    Speciality,
    StatutoryDesignation,
    Task,
    TeamMember,
)
from dualdraw.domain.policy import PastInspection, Raise
from dualdraw.service_layer.ports import DrawRecord, OwnedKind, Page, PageRequest

T = TypeVar("T")

READ_BATCH = 1_000  # keys per IN (...) list; far below SQLite's and PostgreSQL's parameter limits
STREAM_BATCH = 10_000  # rows fetched at a time by the large reads
_FROM_PAGE: Any = object()  # "take the keyset position from PageRequest.after as is"


def _last_per_key(items: Iterable[T], key: Callable[[T], str]) -> builtins.list[T]:
    """One item per key, the last one given (as ``upsert`` replaces whole records in order)."""
    return builtins.list({key(item): item for item in items}.values())


def _check_size(page: PageRequest) -> None:
    if page.size < 1:
        raise InvalidArgument([FieldViolation("page_size", "must be at least 1")])


def _int_after(page: PageRequest) -> int | None:
    if page.after is None:
        return None
    try:
        return int(page.after)
    except ValueError:
        raise InvalidArgument([FieldViolation("page_token", "is not a token this list issued")]) from None


def _keyset_page(
    connection: sa.Connection,
    stmt: sa.Select[Any],
    key: sa.ColumnElement[Any],
    page: PageRequest,
    convert: Callable[[Row], T],
    after: Any = _FROM_PAGE,
) -> tuple[builtins.list[T], Row | None]:
    """The page's items in key order, and the last row shown when another page follows (else ``None``).

    ``key`` is a column or a ``tuple_`` of columns; ``after`` is the keyset position as a value of ``key``'s
    type, by default ``page.after``.
    """
    _check_size(page)
    if after is _FROM_PAGE:
        after = page.after
    if after is not None:
        stmt = stmt.where(key > after)
    order = key.clauses if isinstance(key, sa.Tuple) else [key]
    rows = connection.execute(stmt.order_by(*order).limit(page.size + 1)).all()
    shown = rows[: page.size]
    return [convert(row) for row in shown], (shown[-1] if len(rows) > page.size else None)


def _existing_key(connection: sa.Connection, column: sa.ColumnElement[Any], value: Any) -> Any:
    return connection.execute(sa.select(column).where(column == value)).scalar_one_or_none()


def _parents_first(departments: Sequence[Department]) -> builtins.list[Department]:
    """``departments`` ordered so a parent in the batch comes before its children (foreign keys hold
    after every row); a cycle is left for the database to reject."""
    by_id = {d.id: d for d in departments}
    ordered: builtins.list[Department] = []
    placed: set[str] = set()
    for department in departments:
        chain: builtins.list[Department] = []
        current: Department | None = department
        while current is not None and current.id not in placed and current not in chain:
            chain.append(current)
            current = by_id.get(current.parent_id) if current.parent_id is not None else None
        for d in reversed(chain):
            placed.add(d.id)
            ordered.append(d)
    return ordered


def _object_conditions(flt: ObjectFilter) -> builtins.list[sa.ColumnElement[bool]]:
    conditions: builtins.list[sa.ColumnElement[bool]] = [
        OBJECTS.c.registering_department_id.in_(sorted(flt.department_ids))
    ]
    if flt.region_prefix:
        conditions.append(OBJECTS.c.region_code.startswith(flt.region_prefix, autoescape=True))
    if flt.industries:
        conditions.append(OBJECTS.c.industry.in_(sorted(flt.industries)))
    if flt.active_only:
        conditions.append(OBJECTS.c.status == ObjectStatus.ACTIVE.value)
    return conditions


_OWNERSHIP: dict[str, tuple[sa.Table, sa.ColumnElement[str], sa.ColumnElement[str], bool]] = {
    "department": (DEPARTMENTS, DEPARTMENTS.c.id, DEPARTMENTS.c.id, False),
    "object": (OBJECTS, OBJECTS.c.credit_code, OBJECTS.c.registering_department_id, False),
    "inspector": (INSPECTORS, INSPECTORS.c.badge_number, INSPECTORS.c.department_id, False),
    "campaign": (CAMPAIGNS, CAMPAIGNS.c.id, CAMPAIGNS.c.organizer_department_id, False),
    "complaint": (COMPLAINTS, COMPLAINTS.c.id, OBJECTS.c.registering_department_id, True),
    "risk_assessment": (RISK_ASSESSMENTS, RISK_ASSESSMENTS.c.id, OBJECTS.c.registering_department_id, True),
    "designation": (DESIGNATIONS, DESIGNATIONS.c.id, OBJECTS.c.registering_department_id, True),
    "item": (ITEMS, ITEMS.c.code, ITEMS.c.department_id, False),
}
"""Per record kind: its table, key column, owning-department column and whether it is owned through its
object (``owning_departments``)."""


# --- repositories ------------------------------------------------------------------------------------------


class _Repository:
    def __init__(self, session: Session) -> None:
        self._session = session

    @property
    def _connection(self) -> sa.Connection:
        return self._session.connection()

    def _get(self, table: sa.Table, key: Any, convert: Callable[[Row], T]) -> T | None:
        (key_column,) = table.primary_key.columns
        row = self._connection.execute(sa.select(table).where(key_column == key)).first()
        return None if row is None else convert(row)

    def _add_new(self, table: sa.Table, values: Values, reason: str, resource: str) -> None:
        """Inserts one row; ``AlreadyExists(reason)`` when its key is taken (the transaction stays usable)."""
        (key_column,) = table.primary_key.columns
        try:
            with self._session.begin_nested():
                # The savepoint is emitted when the nested transaction's connection is first asked for.
                self._connection.execute(sa.insert(table), [values])
        except IntegrityError as exc:
            key = values[key_column.name]
            if _existing_key(self._connection, key_column, key) is not None:
                raise AlreadyExists(
                    f"{resource} {key!r} exists already", reason=reason, metadata={resource: str(key)}
                ) from exc
            raise


class SqlDirectoryRepository(_Repository):
    """Departments, objects, inspectors and side facts (``DirectoryRepository``)."""

    # upserts

    def upsert_departments(self, items: Sequence[Department]) -> None:
        departments = _parents_first(_last_per_key(items, lambda d: d.id))
        bulk.upsert(self._connection, DEPARTMENTS, [department_values(d) for d in departments])

    def upsert_objects(self, items: Sequence[InspectionObject]) -> None:
        code = operator.attrgetter("credit_code")
        distinct = len(set(map(code, items))) == len(items)  # as an import's are: no dict to keep the last
        objects = items if distinct else _last_per_key(items, code)
        bulk.upsert_tuples(self._connection, OBJECTS, OBJECT_NAMES, [object_row(o) for o in objects])

    def upsert_inspectors(self, items: Sequence[Inspector]) -> None:
        """Upserts the inspectors and replaces their specialities and conflicts."""
        inspectors = _last_per_key(items, lambda i: i.badge_number)
        connection = self._connection
        bulk.upsert(
            connection,
            INSPECTORS,
            [
                {
                    "badge_number": i.badge_number,
                    "name": i.name,
                    "department_id": i.department_id,
                    "office": i.office,
                    "available": i.available,
                }
                for i in inspectors
            ],
        )
        for batch in bulk.batches(inspectors, READ_BATCH):
            badges = [i.badge_number for i in batch]
            connection.execute(sa.delete(SPECIALITIES).where(SPECIALITIES.c.badge_number.in_(badges)))
            connection.execute(sa.delete(CONFLICTS).where(CONFLICTS.c.badge_number.in_(badges)))
        bulk.insert(
            connection,
            SPECIALITIES,
            [
                {
                    "badge_number": i.badge_number,
                    "position": position,
                    "code": s.code,
                    "certificate_expires_on": s.certificate_expires_on,
                }
                for i in inspectors
                for position, s in enumerate(i.specialities)
            ],
        )
        bulk.insert(
            connection,
            CONFLICTS,
            [
                {"badge_number": i.badge_number, "credit_code": code}
                for i in inspectors
                for code in sorted(i.conflicts)
            ],
        )

    def upsert_complaints(self, items: Sequence[Complaint]) -> None:
        complaints = _last_per_key(items, lambda c: c.id)
        bulk.upsert(self._connection, COMPLAINTS, [complaint_values(c) for c in complaints])

    def upsert_campaigns(self, items: Sequence[Campaign]) -> None:
        campaigns = _last_per_key(items, lambda c: c.id)
        bulk.upsert(self._connection, CAMPAIGNS, [campaign_values(c) for c in campaigns])

    def upsert_risk_assessments(self, items: Sequence[RiskAssessment]) -> None:
        assessments = _last_per_key(items, lambda a: a.id)
        bulk.upsert(self._connection, RISK_ASSESSMENTS, [risk_assessment_values(a) for a in assessments])

    def upsert_statutory_designations(self, items: Sequence[StatutoryDesignation]) -> None:
        designations = _last_per_key(items, lambda s: s.id)
        bulk.upsert(self._connection, DESIGNATIONS, [designation_values(s) for s in designations])

    # departments

    def get_department(self, id: str) -> Department | None:
        return self._get(DEPARTMENTS, id, to_department)

    def all_departments(self) -> list[Department]:
        rows = self._connection.execute(sa.select(DEPARTMENTS).order_by(DEPARTMENTS.c.id))
        return [to_department(r) for r in rows]

    def list_departments(self, page: PageRequest, ids: Collection[str] | None = None) -> Page[Department]:
        stmt = sa.select(DEPARTMENTS)
        if ids is not None:
            stmt = stmt.where(DEPARTMENTS.c.id.in_(sorted(ids)))
        items, last = _keyset_page(self._connection, stmt, DEPARTMENTS.c.id, page, to_department)
        return Page(items, None if last is None else last.id)

    # objects

    def get_object(self, credit_code: str) -> InspectionObject | None:
        row = self._connection.execute(
            sa.select(*OBJECT_COLUMNS).where(OBJECTS.c.credit_code == credit_code)
        ).first()
        return None if row is None else to_object(row)

    def list_objects(
        self, page: PageRequest, department_ids: Collection[str] | None = None
    ) -> Page[InspectionObject]:
        stmt = sa.select(*OBJECT_COLUMNS)
        if department_ids is not None:
            stmt = stmt.where(OBJECTS.c.registering_department_id.in_(sorted(department_ids)))
        items, last = _keyset_page(self._connection, stmt, OBJECTS.c.credit_code, page, to_object)
        return Page(items, None if last is None else last.credit_code)

    def existing_credit_codes(self, credit_codes: Collection[str]) -> set[str]:
        """The subset of ``credit_codes`` that are in the directory."""
        found: set[str] = set()
        for condition in self._key_conditions(OBJECTS, OBJECTS.c.credit_code, credit_codes):
            found.update(
                self._connection.execute(sa.select(OBJECTS.c.credit_code).where(condition)).scalars()
            )
        return found

    def objects_by_code(self, credit_codes: Collection[str]) -> dict[str, InspectionObject]:
        found: dict[str, InspectionObject] = {}
        for condition in self._key_conditions(OBJECTS, OBJECTS.c.credit_code, credit_codes):
            stmt = sa.select(*OBJECT_COLUMNS).where(condition)
            found.update((o.credit_code, o) for o in map(to_object, self._connection.execute(stmt)))
        return found

    def inspectors_by_badge(self, badge_numbers: Collection[str]) -> dict[str, Inspector]:
        found: dict[str, Inspector] = {}
        for batch in bulk.batches(sorted(set(badge_numbers)), READ_BATCH):
            rows = self._connection.execute(
                sa.select(INSPECTORS).where(INSPECTORS.c.badge_number.in_(batch))
            ).all()
            found.update((i.badge_number, i) for i in self._inspectors(rows, batch))
        return found

    def complaints_by_id(self, ids: Collection[str]) -> dict[str, Complaint]:
        return self._by_id(COMPLAINTS, ids, to_complaint)

    def campaigns_by_id(self, ids: Collection[str]) -> dict[str, Campaign]:
        return self._by_id(CAMPAIGNS, ids, to_campaign)

    def risk_assessments_by_id(self, ids: Collection[str]) -> dict[str, RiskAssessment]:
        return self._by_id(RISK_ASSESSMENTS, ids, to_risk_assessment)

    def statutory_designations_by_id(self, ids: Collection[str]) -> dict[str, StatutoryDesignation]:
        return self._by_id(DESIGNATIONS, ids, to_designation)

    def owning_departments(self, kind: OwnedKind, keys: Collection[str]) -> dict[str, str]:
        """The department owning each stored record of ``kind`` among ``keys`` (absent keys are left out):
        one query per ``READ_BATCH`` keys (one on PostgreSQL). Side facts belong to their object's
        registering department, a campaign to its organiser, a department to itself."""
        table, key, owner, via_object = _OWNERSHIP[kind]
        found: dict[str, str] = {}
        for condition in self._key_conditions(table, key, keys):
            if via_object:
                stmt = (
                    sa.select(key, OBJECTS.c.registering_department_id)
                    .join_from(table, OBJECTS, table.c.credit_code == OBJECTS.c.credit_code)
                    .where(condition)
                )
            else:
                stmt = sa.select(key, owner).where(condition)
            found.update((k, d) for k, d in self._connection.execute(stmt))
        return found

    def _by_id(self, table: sa.Table, ids: Collection[str], convert: Callable[[Row], T]) -> dict[str, T]:
        found: dict[str, T] = {}
        for condition in self._key_conditions(table, table.c.id, ids):
            for row in self._connection.execute(sa.select(table).where(condition)):
                found[row.id] = convert(row)
        return found

    def _key_conditions(
        self, table: sa.Table, column: sa.ColumnElement[str], keys: Collection[str]
    ) -> builtins.list[sa.ColumnElement[bool]]:
        """WHERE conditions that together select the rows of ``table`` whose ``column`` is one of ``keys``.

        None when ``table`` is empty (a first import looks up a million keys for nothing otherwise); on
        PostgreSQL one ``= ANY(array)``, elsewhere ``IN`` lists of ``READ_BATCH`` keys.
        """
        empty = self._connection.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is None
        if not keys or empty:
            return []
        ordered = sorted(set(keys))
        if self._connection.dialect.name == "postgresql":
            return [column == sa.any_(sa.bindparam(None, ordered, type_=postgresql.ARRAY(sa.String)))]
        return [column.in_(batch) for batch in bulk.batches(ordered, READ_BATCH)]

    def count_objects(self) -> int:
        return self._connection.execute(sa.select(sa.func.count()).select_from(OBJECTS)).scalar_one()

    def objects_matching(self, flt: ObjectFilter) -> list[InspectionObject]:
        """The objects ``flt`` selects, ordered by credit code (bytewise).

        Sorted in Python, not by the database: the same order on both backends, and no locale-aware sort
        of a million rows in PostgreSQL (3 s of a 1M draw's load).
        """
        stmt = sa.select(*OBJECT_COLUMNS).where(*_object_conditions(flt))
        result = self._connection.execute(stmt.execution_options(yield_per=STREAM_BATCH))
        # Whole batches (fetchmany), not a driver call per row: 3 s of a 1M draw on PostgreSQL.
        objects = [o for rows in result.partitions() for o in to_objects(rows)]
        objects.sort(key=operator.attrgetter("credit_code"))
        return objects

    def side_facts_matching(self, flt: ObjectFilter) -> SideFacts:
        """Complaints, risk assessments and designations of the objects ``flt`` selects, and all campaigns.

        The object set is a correlated ``EXISTS``, never a list of codes sent back to the database: a side
        fact's object is looked up by its key, where ``IN (subquery)`` made SQLite build the whole matching
        set once per table (0.4 s of a 100k draw). Each list is ordered by id.
        """
        conditions = _object_conditions(flt)
        connection = self._connection

        def of_matching(table: sa.Table) -> Iterable[Row]:
            matching = sa.exists().where(OBJECTS.c.credit_code == table.c.credit_code, *conditions)
            stmt = sa.select(table).where(matching).order_by(table.c.id)
            return connection.execute(stmt.execution_options(yield_per=STREAM_BATCH))

        campaigns = connection.execute(sa.select(CAMPAIGNS).order_by(CAMPAIGNS.c.id))
        return SideFacts(
            complaints=[to_complaint(r) for r in of_matching(COMPLAINTS)],
            campaigns=[to_campaign(r) for r in campaigns],
            risk_assessments=[to_risk_assessment(r) for r in of_matching(RISK_ASSESSMENTS)],
            statutory_designations=[to_designation(r) for r in of_matching(DESIGNATIONS)],
        )

    # inspectors

    def get_inspector(self, badge_number: str) -> Inspector | None:
        rows = self._connection.execute(
            sa.select(INSPECTORS).where(INSPECTORS.c.badge_number == badge_number)
        ).all()
        found = self._inspectors(rows, [badge_number])
        return found[0] if found else None

    def list_inspectors(
        self, page: PageRequest, department_ids: Collection[str] | None = None
    ) -> Page[Inspector]:
        stmt = sa.select(INSPECTORS)
        if department_ids is not None:
            stmt = stmt.where(INSPECTORS.c.department_id.in_(sorted(department_ids)))
        rows, last = _keyset_page(self._connection, stmt, INSPECTORS.c.badge_number, page, lambda r: r)
        items = self._inspectors(rows, [r.badge_number for r in rows])
        return Page(items, None if last is None else last.badge_number)

    def inspectors_of(self, department_ids: Collection[str]) -> list[Inspector]:
        """The inspectors of ``department_ids`` with specialities and conflicts, ordered by badge number."""
        in_departments = INSPECTORS.c.department_id.in_(sorted(department_ids))
        rows = self._connection.execute(
            sa.select(INSPECTORS).where(in_departments).order_by(INSPECTORS.c.badge_number)
        ).all()
        return self._inspectors(rows, sa.select(INSPECTORS.c.badge_number).where(in_departments))

    def _inspectors(self, rows: Sequence[Row], badges: Sequence[str] | sa.Select[Any]) -> list[Inspector]:
        """``rows`` of ``inspectors`` completed with their child rows (one query per child table)."""
        if not rows:
            return []
        connection = self._connection
        specialities: dict[str, list[Speciality]] = defaultdict(list)
        spec_stmt = (
            sa.select(SPECIALITIES)
            .where(SPECIALITIES.c.badge_number.in_(badges))
            .order_by(SPECIALITIES.c.badge_number, SPECIALITIES.c.position)
        )
        for r in connection.execute(spec_stmt):
            specialities[r.badge_number].append(Speciality(r.code, r.certificate_expires_on))
        conflicts: dict[str, set[str]] = defaultdict(set)
        for r in connection.execute(sa.select(CONFLICTS).where(CONFLICTS.c.badge_number.in_(badges))):
            conflicts[r.badge_number].add(r.credit_code)
        return [
            Inspector(
                badge_number=r.badge_number,
                name=r.name,
                department_id=r.department_id,
                office=r.office,
                specialities=tuple(specialities.get(r.badge_number, ())),
                available=r.available,
                conflicts=frozenset(conflicts.get(r.badge_number, ())),
            )
            for r in rows
        ]

    # side facts

    def get_complaint(self, id: str) -> Complaint | None:
        return self._get(COMPLAINTS, id, to_complaint)

    def list_complaints(self, page: PageRequest, credit_code: str | None = None) -> Page[Complaint]:
        return self._list_side_facts(COMPLAINTS, page, credit_code, to_complaint)

    def get_campaign(self, id: str) -> Campaign | None:
        return self._get(CAMPAIGNS, id, to_campaign)

    def list_campaigns(self, page: PageRequest) -> Page[Campaign]:
        items, last = _keyset_page(self._connection, sa.select(CAMPAIGNS), CAMPAIGNS.c.id, page, to_campaign)
        return Page(items, None if last is None else last.id)

    def get_risk_assessment(self, id: str) -> RiskAssessment | None:
        return self._get(RISK_ASSESSMENTS, id, to_risk_assessment)

    def list_risk_assessments(
        self, page: PageRequest, credit_code: str | None = None
    ) -> Page[RiskAssessment]:
        return self._list_side_facts(RISK_ASSESSMENTS, page, credit_code, to_risk_assessment)

    def get_statutory_designation(self, id: str) -> StatutoryDesignation | None:
        return self._get(DESIGNATIONS, id, to_designation)

    def list_statutory_designations(
        self, page: PageRequest, credit_code: str | None = None
    ) -> Page[StatutoryDesignation]:
        return self._list_side_facts(DESIGNATIONS, page, credit_code, to_designation)

    def _list_side_facts(
        self, table: sa.Table, page: PageRequest, credit_code: str | None, convert: Callable[[Row], T]
    ) -> Page[T]:
        stmt = sa.select(table)
        if credit_code is not None:
            stmt = stmt.where(table.c.credit_code == credit_code)
        items, last = _keyset_page(self._connection, stmt, table.c.id, page, convert)
        return Page(items, None if last is None else last.id)


class SqlItemRepository(_Repository):
    """The inspection item list (``ItemRepository``)."""

    def add(self, item: InspectionItem) -> None:
        """Raises ``AlreadyExists`` (reason ``ITEM_EXISTS``) when the code is taken."""
        self._add_new(ITEMS, item_values(item), "ITEM_EXISTS", "item")

    def get(self, code: str) -> InspectionItem | None:
        return self._get(ITEMS, code, to_item)

    def list(self, page: PageRequest) -> Page[InspectionItem]:
        items, last = _keyset_page(self._connection, sa.select(ITEMS), ITEMS.c.code, page, to_item)
        return Page(items, None if last is None else last.code)


class SqlTaskRepository(_Repository):
    """Tasks (``TaskRepository``)."""

    def add(self, task: Task) -> None:
        """Raises ``AlreadyExists`` (reason ``TASK_EXISTS``) when the id is taken."""
        self._add_new(TASKS, task_values(task), "TASK_EXISTS", "task")

    def get(self, id: str) -> Task | None:
        return self._get(TASKS, id, to_task)

    def list(self, page: PageRequest, department_ids: Collection[str] | None = None) -> Page[Task]:
        stmt = sa.select(TASKS)
        if department_ids is not None:
            stmt = stmt.where(TASKS.c.department_id.in_(sorted(department_ids)))
        items, last = _keyset_page(self._connection, stmt, TASKS.c.id, page, to_task)
        return Page(items, None if last is None else last.id)

    def set_draw(self, task_id: str, draw_id: str | None) -> None:
        """Records ``draw_id`` on the task; ``NotFound`` when there is no such task."""
        result = self._connection.execute(
            sa.update(TASKS).where(TASKS.c.id == task_id).values(draw_id=draw_id)
        )
        if result.rowcount == 0:
            raise NotFound("task", task_id)


class SqlDrawRepository(_Repository):
    """Draws with their eligible set, inspector pool, exclusions and assignments (``DrawRepository``)."""

    def add(self, record: DrawRecord) -> None:
        """Stores the whole record.

        Raises ``AlreadyExists`` (reason ``DRAW_EXISTS``) when the task already has a draw or the draw id is
        taken, and ``NotFound`` when the task does not exist. The transaction stays usable after either.
        """
        draw = record.draw
        try:
            with self._session.begin_nested():
                # The savepoint is emitted when the nested transaction's connection is first asked for.
                self._connection.execute(sa.insert(DRAWS), [draw_values(draw)])
        except IntegrityError as exc:
            connection = self._connection
            drawn = connection.execute(
                sa.select(DRAWS.c.id).where(DRAWS.c.task_id == draw.task_id, DRAWS.c.state != "abandoned")
            ).scalar_one_or_none()
            if drawn is not None:
                raise AlreadyExists(
                    f"task {draw.task_id!r} already has live draw {drawn!r}; abandon it with a reason first",
                    reason="DRAW_EXISTS",
                    metadata={"task_id": draw.task_id, "draw_id": drawn},
                ) from exc
            if _existing_key(connection, DRAWS.c.id, draw.id) is not None:
                raise AlreadyExists(
                    f"draw {draw.id!r} exists already", reason="DRAW_EXISTS", metadata={"draw_id": draw.id}
                ) from exc
            if _existing_key(connection, TASKS.c.id, draw.task_id) is None:
                raise NotFound("task", draw.task_id) from exc
            raise
        connection = self._connection
        bulk.insert(
            connection,
            DRAW_ELIGIBLE,
            [
                {
                    "draw_id": draw.id,
                    "eligible_codes_zlib": pack_codes(record.eligible_codes),
                    "inspector_pool_zlib": pack_codes(record.inspector_pool),
                }
            ],
        )
        bulk.insert(
            connection,
            EXCLUSIONS,
            [
                {
                    "draw_id": draw.id,
                    "credit_code": e.credit_code,
                    "rule_id": e.rule_id,
                    "category": e.category.value,
                    "reason": e.reason,
                    "legal_basis": e.legal_basis,
                    "evidence_json": dump_strings(e.evidence),
                }
                for e in record.exclusions
            ],
        )
        bulk.insert(
            connection,
            ASSIGNMENTS,
            [
                {
                    "draw_id": draw.id,
                    "position": a.position,
                    "credit_code": a.credit_code,
                    "ticket": a.ticket,
                    "stratum": a.stratum,
                }
                for a in record.assignments
            ],
        )
        bulk.insert(
            connection,
            MEMBERS,
            [
                {
                    "draw_id": draw.id,
                    "position": a.position,
                    "member_order": order,
                    "badge_number": m.badge_number,
                    "leader": m.leader,
                }
                for a in record.assignments
                for order, m in enumerate(a.team)
            ],
        )

    def get(self, id: str) -> Draw | None:
        return self._get(DRAWS, id, to_draw)

    def get_record(self, id: str) -> DrawRecord | None:
        """The stored record: codes in stored order, exclusions by (credit code, rule id), assignments by
        position."""
        draw = self.get(id)
        if draw is None:
            return None
        connection = self._connection
        blobs = connection.execute(sa.select(DRAW_ELIGIBLE).where(DRAW_ELIGIBLE.c.draw_id == id)).one()
        exclusions = connection.execute(
            sa.select(*EXCLUSION_COLUMNS)
            .where(EXCLUSIONS.c.draw_id == id)
            .order_by(EXCLUSIONS.c.credit_code, EXCLUSIONS.c.rule_id)
            .execution_options(yield_per=STREAM_BATCH)
        )
        return DrawRecord(
            draw=draw,
            eligible_codes=unpack_codes(blobs.eligible_codes_zlib),
            inspector_pool=unpack_codes(blobs.inspector_pool_zlib),
            exclusions=[to_exclusion(r) for r in exclusions],
            assignments=self._assignments(id, None, None),
        )

    def list(self, page: PageRequest, task_id: str | None = None) -> Page[Draw]:
        stmt = sa.select(DRAWS)
        if task_id is not None:
            stmt = stmt.where(DRAWS.c.task_id == task_id)
        items, last = _keyset_page(self._connection, stmt, DRAWS.c.id, page, to_draw)
        return Page(items, None if last is None else last.id)

    def list_assignments(self, draw_id: str, page: PageRequest) -> Page[Assignment]:
        """Pages by position; ``PageRequest.after`` is the last position as a decimal string."""
        _check_size(page)
        after = _int_after(page)
        stmt = sa.select(ASSIGNMENTS.c.position).where(ASSIGNMENTS.c.draw_id == draw_id)
        if after is not None:
            stmt = stmt.where(ASSIGNMENTS.c.position > after)
        stmt = stmt.order_by(ASSIGNMENTS.c.position).limit(page.size + 1)
        positions = self._connection.execute(stmt).scalars().all()
        if not positions:
            return Page([])
        shown = positions[: page.size]
        items = self._assignments(draw_id, shown[0], shown[-1])
        return Page(items, str(shown[-1]) if len(positions) > page.size else None)

    def _assignments(self, draw_id: str, first: int | None, last: int | None) -> builtins.list[Assignment]:
        """Assignments of ``draw_id`` with positions in ``[first, last]`` (unbounded where ``None``)."""
        connection = self._connection

        def in_range(table: sa.Table) -> builtins.list[sa.ColumnElement[bool]]:
            conditions = [table.c.draw_id == draw_id]
            if first is not None:
                conditions.append(table.c.position >= first)
            if last is not None:
                conditions.append(table.c.position <= last)
            return conditions

        teams: dict[int, builtins.list[TeamMember]] = defaultdict(builtins.list)
        members = connection.execute(
            sa.select(MEMBERS).where(*in_range(MEMBERS)).order_by(MEMBERS.c.position, MEMBERS.c.member_order)
        )
        for m in members:
            teams[m.position].append(TeamMember(m.badge_number, m.leader))
        rows = connection.execute(
            sa.select(ASSIGNMENTS).where(*in_range(ASSIGNMENTS)).order_by(ASSIGNMENTS.c.position)
        )
        return [
            Assignment(r.position, r.credit_code, r.ticket, r.stratum, tuple(teams.get(r.position, ())))
            for r in rows
        ]

    # -- raises and the inspection history -------------------------------------------------------------------

    def add_raises(self, draw_id: str, raises: Sequence[Raise]) -> None:
        bulk.insert(
            self._connection,
            RAISES,
            [
                {
                    "draw_id": draw_id,
                    "credit_code": r.credit_code,
                    "from_class": r.from_class,
                    "to_class": r.to_class,
                    "reason": r.reason,
                    "evidence_json": dump_strings(r.evidence),
                }
                for r in raises
            ],
        )

    def list_raises(self, draw_id: str, page: PageRequest) -> Page[Raise]:
        """Pages by credit code; ``after`` is the last credit code."""
        stmt = sa.select(RAISES).where(RAISES.c.draw_id == draw_id)

        def to_raise(r: Any) -> Raise:
            return Raise(r.credit_code, r.from_class, r.to_class, r.reason, load_strings(r.evidence_json))

        items, last = _keyset_page(self._connection, stmt, RAISES.c.credit_code, page, to_raise)
        return Page(items, None if last is None else last.credit_code)

    def inspection_history(
        self, credit_codes: Collection[str] | None = None
    ) -> builtins.list[PastInspection]:
        """Selections of executed draws (``None``: of all objects), with the task's department, whether it
        was a campaign, the draw date and the team after substitutions."""
        connection = self._connection
        base = (
            sa.select(
                ASSIGNMENTS.c.draw_id,
                ASSIGNMENTS.c.position,
                ASSIGNMENTS.c.credit_code,
                DRAWS.c.as_of,
                TASKS.c.department_id,
                TASKS.c.policy_json,
            )
            .join(DRAWS, DRAWS.c.id == ASSIGNMENTS.c.draw_id)
            .join(TASKS, TASKS.c.id == DRAWS.c.task_id)
            .where(DRAWS.c.state == "executed")
        )
        rows: builtins.list[Any] = []
        if credit_codes is None:
            rows = list(connection.execute(base))
        else:
            codes = sorted(set(credit_codes))
            for i in range(0, len(codes), 500):
                rows.extend(connection.execute(base.where(ASSIGNMENTS.c.credit_code.in_(codes[i : i + 500]))))
        if not rows:
            return []
        draw_ids = sorted({r.draw_id for r in rows})
        teams: dict[tuple[str, int], builtins.list[str]] = defaultdict(builtins.list)
        for i in range(0, len(draw_ids), 500):
            for m in connection.execute(
                sa.select(MEMBERS.c.draw_id, MEMBERS.c.position, MEMBERS.c.badge_number)
                .where(MEMBERS.c.draw_id.in_(draw_ids[i : i + 500]))
                .order_by(MEMBERS.c.draw_id, MEMBERS.c.position, MEMBERS.c.member_order)
            ):
                teams[(m.draw_id, m.position)].append(m.badge_number)
        campaign = {
            text: bool(json.loads(text or "{}").get("campaign", False))
            for text in {r.policy_json for r in rows}
        }
        return [
            PastInspection(
                draw_id=r.draw_id,
                department_id=r.department_id,
                campaign=campaign[r.policy_json],
                as_of=r.as_of,
                credit_code=r.credit_code,
                badges=tuple(teams.get((r.draw_id, r.position), ())),
                position=r.position,
            )
            for r in rows
        ]

    def serious_violations(
        self, credit_codes: Collection[str]
    ) -> dict[str, builtins.list[tuple[str, dt.date]]]:
        """Per credit code, the results whose latest version opened a case or referred it to the judiciary:
        ``("<draw>/<position>/v<version>", inspected_on)``."""
        from dualdraw.adapters.store.publication_repositories import RESULTS

        codes = sorted(set(credit_codes))
        latest: dict[tuple[str, int], Any] = {}
        for i in range(0, len(codes), 500):
            for r in self._connection.execute(
                sa.select(RESULTS).where(RESULTS.c.credit_code.in_(codes[i : i + 500]))
            ):
                key = (r.draw_id, r.position)
                if key not in latest or latest[key].version < r.version:
                    latest[key] = r
        out: dict[str, builtins.list[tuple[str, dt.date]]] = defaultdict(builtins.list)
        for r in latest.values():
            if r.outcome == "case_opened" or r.referred_to_judicial:
                out[r.credit_code].append((f"{r.draw_id}/{r.position}/v{r.version}", r.inspected_on))
        return dict(out)

    def list_exclusions(self, draw_id: str, page: PageRequest) -> Page[Exclusion]:
        """Pages by (credit_code, rule_id); ``after`` is ``"<credit_code>/<rule_id>"``."""
        after: tuple[str, str] | None = None
        if page.after is not None:
            credit_code, slash, rule_id = page.after.partition("/")
            if not slash:
                raise InvalidArgument([FieldViolation("page_token", "is not a token this list issued")])
            after = (credit_code, rule_id)
        key = sa.tuple_(EXCLUSIONS.c.credit_code, EXCLUSIONS.c.rule_id)
        stmt = sa.select(*EXCLUSION_COLUMNS).where(EXCLUSIONS.c.draw_id == draw_id)
        items, last = _keyset_page(self._connection, stmt, key, page, to_exclusion, after=after)
        return Page(items, None if last is None else f"{last.credit_code}/{last.rule_id}")


class SqlAuditRepository(_Repository):
    """The append-only audit log as a Merkle log (``AuditRepository``).

    Every append locks the head row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite transactions are
    serialised already), takes the next sequence, stores the event with its leaf hash and a checkpoint of
    the new tree signed by ``signer``, and moves the head. Several server processes may share one database.
    """

    def __init__(self, session: Session, signer: CheckpointSigner) -> None:
        super().__init__(session)
        self._signer = signer

    def _locked_head(self) -> Frontier:
        for _ in range(2):
            row = self._connection.execute(
                sa.select(AUDIT_HEAD).where(AUDIT_HEAD.c.id == 1).with_for_update()
            ).first()
            if row is not None:
                return Frontier(row.tree_size, [bytes.fromhex(h) for h in json.loads(row.frontier_json)])
            frontier = Frontier()
            for leaf in self.leaf_hashes():
                frontier.append(bytes.fromhex(leaf))
            try:
                with self._session.begin_nested():
                    self._connection.execute(
                        sa.insert(AUDIT_HEAD).values(
                            id=1, tree_size=frontier.size, frontier_json=_frontier_json(frontier)
                        )
                    )
            except IntegrityError:
                continue  # another transaction created it: lock theirs
        raise RuntimeError("cannot lock the audit log head")  # pragma: no cover

    def append(
        self,
        *,
        actor: str,
        action: str,
        resource: str,
        before_json: str,
        after_json: str,
        request_id: str,
        occurred_at: dt.datetime,
    ) -> AuditEvent:
        """Appends an event in the current transaction with the next sequence and a signed checkpoint.

        ``occurred_at`` must be timezone-aware; it is stored, and returned, in UTC.
        """
        if occurred_at.tzinfo is None or occurred_at.utcoffset() is None:
            raise ValueError("occurred_at must be timezone-aware")
        frontier = self._locked_head()
        event = AuditEvent(
            sequence=frontier.size + 1,
            occurred_at=occurred_at.astimezone(dt.UTC),
            actor=actor,
            action=action,
            resource=resource,
            before_json=before_json,
            after_json=after_json,
            request_id=request_id,
        )
        leaf = event_leaf_hash(event)
        connection = self._connection
        connection.execute(
            sa.insert(AUDIT).values(
                sequence=event.sequence,
                occurred_at=event.occurred_at,
                actor=actor,
                action=action,
                resource=resource,
                before_json=before_json,
                after_json=after_json,
                request_id=request_id,
                leaf_hash=leaf.hex(),
            )
        )
        frontier.append(leaf)
        checkpoint = self._signer.sign(frontier.size, frontier.root().hex())
        connection.execute(sa.insert(CHECKPOINTS).values(**checkpoint_values(checkpoint)))
        connection.execute(
            sa.update(AUDIT_HEAD)
            .where(AUDIT_HEAD.c.id == 1)
            .values(tree_size=frontier.size, frontier_json=_frontier_json(frontier))
        )
        return event

    def sign_head(self) -> Checkpoint | None:
        """Signs a checkpoint of the current head unless one exists (covers events from before signing)."""
        frontier = self._locked_head()
        if frontier.size == 0 or self.checkpoint(frontier.size) is not None:
            return None
        checkpoint = self._signer.sign(frontier.size, frontier.root().hex())
        self._connection.execute(sa.insert(CHECKPOINTS).values(**checkpoint_values(checkpoint)))
        return checkpoint

    def list(self, page: PageRequest, resource: str | None = None) -> Page[AuditEvent]:
        """Pages by sequence; ``after`` is the last sequence as a decimal string."""
        stmt = sa.select(AUDIT)
        if resource is not None:
            stmt = stmt.where(AUDIT.c.resource == resource)
        items, last = _keyset_page(
            self._connection, stmt, AUDIT.c.sequence, page, to_audit_event, after=_int_after(page)
        )
        return Page(items, None if last is None else str(last.sequence))

    def entries(self) -> Iterator[StoredEntry]:
        """Every row in sequence order, as stored."""
        rows = self._connection.execute(
            sa.select(AUDIT).order_by(AUDIT.c.sequence).execution_options(yield_per=STREAM_BATCH)
        )
        for row in rows:
            yield StoredEntry(to_audit_event(row), row.leaf_hash)

    def leaf_hashes(self, upto: int | None = None) -> builtins.list[str]:
        stmt = sa.select(AUDIT.c.leaf_hash).order_by(AUDIT.c.sequence)
        if upto is not None:
            stmt = stmt.where(AUDIT.c.sequence <= upto)
        return builtins.list(self._connection.execute(stmt).scalars())

    def checkpoints(self) -> builtins.list[Checkpoint]:
        rows = self._connection.execute(sa.select(CHECKPOINTS).order_by(CHECKPOINTS.c.tree_size))
        return [to_checkpoint(r) for r in rows]

    def checkpoint(self, tree_size: int | None = None) -> Checkpoint | None:
        """The checkpoint of ``tree_size``, or the newest one."""
        stmt = sa.select(CHECKPOINTS)
        if tree_size is None:
            stmt = stmt.order_by(CHECKPOINTS.c.tree_size.desc()).limit(1)
        else:
            stmt = stmt.where(CHECKPOINTS.c.tree_size == tree_size)
        row = self._connection.execute(stmt).first()
        return None if row is None else to_checkpoint(row)

    def events_of(self, resource: str) -> builtins.list[AuditEvent]:
        rows = self._connection.execute(
            sa.select(AUDIT).where(AUDIT.c.resource == resource).order_by(AUDIT.c.sequence)
        )
        return [to_audit_event(r) for r in rows]


def _frontier_json(frontier: Frontier) -> str:
    return json.dumps([h.hex() for h in frontier.hashes])


def checkpoint_values(cp: Checkpoint) -> Values:
    return {
        "tree_size": cp.tree_size,
        "root_hash": cp.root_hash,
        "public_key": cp.public_key,
        "signature": cp.signature,
    }


def to_checkpoint(r: Row) -> Checkpoint:
    return Checkpoint(r.tree_size, r.root_hash, r.public_key, r.signature)


# --- rule sets ---------------------------------------------------------------------------------------------


class SqlRuleSetRepository(_Repository):
    """Rule sets by hash; ``remember`` inserts once and leaves an existing row untouched."""

    def remember(self, hash: str, version: str, canonical_json: str, at: dt.datetime) -> None:
        from dualdraw.adapters.store.models import RuleSetRow

        if self.get(hash) is not None:
            return
        try:
            with self._session.begin_nested():
                self._connection.execute(
                    sa.insert(RuleSetRow),
                    [
                        {
                            "hash": hash,
                            "version": version,
                            "canonical_json": canonical_json,
                            "first_used_at": at,
                        }
                    ],
                )
        except IntegrityError:  # a concurrent draw stored the same set first: the content is the same
            pass

    def get(self, hash: str) -> str | None:
        from dualdraw.adapters.store.models import RuleSetRow

        row = self._connection.execute(
            sa.select(RuleSetRow.canonical_json).where(RuleSetRow.hash == hash)
        ).first()
        return None if row is None else str(row[0])
