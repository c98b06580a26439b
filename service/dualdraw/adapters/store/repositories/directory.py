"""Departments, objects, inspectors and side facts (``DirectoryRepository``)."""

from __future__ import annotations

import builtins
import dataclasses
import operator
from array import array
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import closing
from itertools import chain, count
from typing import Any, TypeVar

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from dualdraw.adapters.store import bulk, driver_rows
from dualdraw.adapters.store.object_profiles import ProfileKeys
from dualdraw.adapters.store.repositories.base import (
    READ_BATCH,
    STREAM_BATCH,
    SqlRepository,
    keyset_page,
    last_per_key,
)
from dualdraw.adapters.store.rows import (
    CAMPAIGNS,
    COMPLAINTS,
    CONFLICTS,
    DEPARTMENTS,
    DESIGNATIONS,
    DRAW_OBJECT_COLUMNS,
    INSPECTORS,
    ITEMS,
    OBJECT_COLUMNS,
    OBJECT_NAMES,
    OBJECT_PROFILES,
    OBJECTS,
    PROFILE_COLUMNS,
    PROFILE_ROW_NAMES,
    RISK_ASSESSMENTS,
    SPECIALITIES,
    Row,
    campaign_values,
    complaint_values,
    department_values,
    designation_values,
    object_row,
    object_rows,
    risk_assessment_values,
    to_campaign,
    to_complaint,
    to_department,
    to_designation,
    to_object,
    to_objects,
    to_profiles,
    to_risk_assessment,
)
from dualdraw.domain.draw.ascending import positions_in, strictly_ascending
from dualdraw.domain.draw.numbering import by_first_occurrence
from dualdraw.domain.errors import DataLoss
from dualdraw.domain.jurisdiction import ObjectFilter
from dualdraw.domain.model import (
    Campaign,
    Complaint,
    ComplaintStatus,
    Department,
    DrawObjects,
    InspectionObject,
    Inspector,
    ObjectStatus,
    RiskAssessment,
    RiskConclusion,
    SideFacts,
    Speciality,
    StatutoryDesignation,
)
from dualdraw.domain.object_columns import ObjectColumns
from dualdraw.service_layer.ports import OwnedKind, Page, PageRequest

T = TypeVar("T")
_FIRST = operator.itemgetter(0)
_SECOND = operator.itemgetter(1)


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


def _object_conditions(flt: ObjectFilter, table: sa.Table = OBJECTS) -> builtins.list[sa.ColumnElement[bool]]:
    """The conditions of ``flt`` on ``table``: ``objects``, or ``object_profiles`` (the same columns)."""
    conditions: builtins.list[sa.ColumnElement[bool]] = [
        table.c.registering_department_id.in_(sorted(flt.department_ids))
    ]
    if flt.region_prefix:
        conditions.append(table.c.region_code.startswith(flt.region_prefix, autoescape=True))
    if flt.industries:
        conditions.append(table.c.industry.in_(sorted(flt.industries)))
    if flt.active_only:
        conditions.append(table.c.status == ObjectStatus.ACTIVE.value)
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


def _plan_for_every_row(connection: sa.Connection) -> None:
    """PostgreSQL: plans the streamed reads of this transaction for reading every row. A streamed read is
    a cursor, which PostgreSQL plans for its first 10 % (``cursor_tuple_fraction``): for the side facts of
    one district among a million objects it walked each side-fact table in id order testing every row
    (25 s instead of 0.05 s)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")


# A side fact's columns in the order of its constructor's fields.
_COMPLAINT_FIELDS = tuple(f.name for f in dataclasses.fields(Complaint))
_RISK_ASSESSMENT_FIELDS = tuple(f.name for f in dataclasses.fields(RiskAssessment))
_DESIGNATION_FIELDS = tuple(f.name for f in dataclasses.fields(StatutoryDesignation))


class SqlDirectoryRepository(SqlRepository):
    """Departments, objects, inspectors and side facts (``DirectoryRepository``)."""

    # upserts

    def upsert_departments(self, items: Sequence[Department]) -> None:
        departments = _parents_first(last_per_key(items, lambda d: d.id))
        bulk.upsert(self._connection, DEPARTMENTS, [department_values(d) for d in departments])

    def upsert_objects(self, items: Sequence[InspectionObject]) -> None:
        """Upserts the objects, their profiles first (``object_profiles``)."""
        keys = ProfileKeys()
        rows: Sequence[tuple[str, ...]]
        ordered = False
        if isinstance(items, ObjectColumns) and len(set(items.credit_codes)) == len(items):  # an import's
            rows = object_rows(items, keys)
            ordered = strictly_ascending(items.credit_codes)  # as exports list them: no sort, rows made late
        else:
            code = operator.attrgetter("credit_code")
            distinct = len(set(map(code, items))) == len(items)  # no dict to keep the last
            rows = [object_row(o, keys) for o in (items if distinct else last_per_key(items, code))]
        bulk.upsert_tuples(self._connection, OBJECT_PROFILES, PROFILE_ROW_NAMES, keys.rows())
        bulk.upsert_tuples(self._connection, OBJECTS, OBJECT_NAMES, rows, key_ordered=ordered)

    def upsert_inspectors(self, items: Sequence[Inspector]) -> None:
        """Upserts the inspectors and replaces their specialities and conflicts."""
        inspectors = last_per_key(items, lambda i: i.badge_number)
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
        complaints = last_per_key(items, lambda c: c.id)
        bulk.upsert(self._connection, COMPLAINTS, [complaint_values(c) for c in complaints])

    def upsert_campaigns(self, items: Sequence[Campaign]) -> None:
        campaigns = last_per_key(items, lambda c: c.id)
        bulk.upsert(self._connection, CAMPAIGNS, [campaign_values(c) for c in campaigns])

    def upsert_risk_assessments(self, items: Sequence[RiskAssessment]) -> None:
        assessments = last_per_key(items, lambda a: a.id)
        bulk.upsert(self._connection, RISK_ASSESSMENTS, [risk_assessment_values(a) for a in assessments])

    def upsert_statutory_designations(self, items: Sequence[StatutoryDesignation]) -> None:
        designations = last_per_key(items, lambda s: s.id)
        bulk.upsert(self._connection, DESIGNATIONS, [designation_values(s) for s in designations])

    # departments

    def get_department(self, id: str) -> Department | None:
        return self._get(DEPARTMENTS, id, to_department)

    def all_departments(self) -> list[Department]:
        rows = self._connection.execute(sa.select(DEPARTMENTS).order_by(DEPARTMENTS.c.id))
        return [to_department(r) for r in rows]

    def department_subtree(self, department_id: str) -> frozenset[str]:
        """One recursive query over the parent links (``UNION`` stops at a cycle), not the whole table
        turned into a ``DepartmentTree``: a department-filtered list pays for its subtree only."""
        subtree = (
            sa.select(DEPARTMENTS.c.id)
            .where(DEPARTMENTS.c.id == department_id)
            .cte("subtree", recursive=True)
        )
        below = DEPARTMENTS.alias("below")
        subtree = subtree.union(sa.select(below.c.id).where(below.c.parent_id == subtree.c.id))
        return frozenset(self._connection.execute(sa.select(subtree.c.id)).scalars())

    def list_departments(self, page: PageRequest, ids: Collection[str] | None = None) -> Page[Department]:
        stmt = sa.select(DEPARTMENTS)
        if ids is not None:
            stmt = stmt.where(DEPARTMENTS.c.id.in_(sorted(ids)))
        items, last = keyset_page(self._connection, stmt, DEPARTMENTS.c.id, page, to_department)
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
        items, last = keyset_page(self._connection, stmt, OBJECTS.c.credit_code, page, to_object)
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
        for condition in self._key_conditions(INSPECTORS, INSPECTORS.c.badge_number, badge_numbers):
            rows = self._connection.execute(sa.select(INSPECTORS).where(condition)).all()
            badges = sa.select(INSPECTORS.c.badge_number).where(condition)
            found.update((i.badge_number, i) for i in self._inspectors(rows, badges))
        return found

    def complaints_by_id(self, ids: Collection[str]) -> dict[str, Complaint]:
        return self._by_id(COMPLAINTS, ids, to_complaint)

    def campaigns_by_id(self, ids: Collection[str]) -> dict[str, Campaign]:
        return self._by_id(CAMPAIGNS, ids, to_campaign)

    def risk_assessments_by_id(self, ids: Collection[str]) -> dict[str, RiskAssessment]:
        return self._by_id(RISK_ASSESSMENTS, ids, to_risk_assessment)

    def statutory_designations_by_id(self, ids: Collection[str]) -> dict[str, StatutoryDesignation]:
        return self._by_id(DESIGNATIONS, ids, to_designation)

    def owning_departments(
        self, kind: OwnedKind, keys: Collection[str], *, outside: Collection[str] | None = None
    ) -> dict[str, str]:
        """The department owning each stored record of ``kind`` among ``keys`` (absent keys are left out):
        one query per ``READ_BATCH`` keys (one on PostgreSQL). Side facts belong to their object's
        registering department, a campaign to its organiser, a department to itself. With ``outside``,
        only the records whose owner is none of those: the database filters, so an import's ownership
        check of a chunk of replaced records gets no row back when they are all the caller's."""
        table, key, owner, via_object = _OWNERSHIP[kind]
        found: dict[str, str] = {}
        others: builtins.list[sa.ColumnElement[bool]] = []
        if outside is not None:
            others.append(owner.not_in(sorted(set(outside))))
        for condition in self._key_conditions(table, key, keys):
            if via_object:
                stmt = (
                    sa.select(key, OBJECTS.c.registering_department_id)
                    .join_from(table, OBJECTS, table.c.credit_code == OBJECTS.c.credit_code)
                    .where(condition, *others)
                )
            else:
                stmt = sa.select(key, owner).where(condition, *others)
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
        _plan_for_every_row(self._connection)
        result = self._connection.execute(stmt.execution_options(yield_per=STREAM_BATCH))
        # Whole batches (fetchmany), not a driver call per row: 3 s of a 1M draw on PostgreSQL.
        objects = [o for rows in result.partitions() for o in to_objects(rows)]
        objects.sort(key=operator.attrgetter("credit_code"))
        return objects

    def draw_objects_matching(self, flt: ObjectFilter) -> DrawObjects:
        """The objects ``flt`` selects as a draw reads them (no names), ordered by credit code (bytewise),
        as ``objects_matching`` orders them.

        Each object is read as its credit code and its profile's key, then the profiles ``flt`` selects
        once each: after the objects, so that every key read is found (a profile is stored before any
        object naming it, and never changes). A key not found is a damaged directory: ``DataLoss``."""
        stmt = sa.select(*DRAW_OBJECT_COLUMNS).where(*_object_conditions(flt))
        _plan_for_every_row(self._connection)
        codes: builtins.list[str] = []
        # Each profile numbered as it first occurs, batch by batch: the keys' strings go with their batch
        # (ten million of them would be ~0.9 GB at a provincial draw's peak), and the draw's profile column
        # is read through these numbers (``DrawObjects.numbered``).
        numbering: defaultdict[str, int] = defaultdict(count().__next__)
        numbered = array("q")
        # The rows stream in as the database produces them (``driver_rows``): both processes work. The
        # driver's tuples, not SQLAlchemy rows: a million of those cost a second of CPU.
        with closing(driver_rows.batches(self._connection, stmt, STREAM_BATCH)) as batches:
            for rows in batches:
                codes.extend(map(_FIRST, rows))
                numbered.extend(map(numbering.__getitem__, map(_SECOND, rows)))
        # a view where the platform's index is 64 bits: eight bytes an object, not a second copy
        numbers = np.frombuffer(numbered, dtype=np.int64).astype(np.intp, copy=False)
        of_scope = sa.select(*PROFILE_COLUMNS).where(*_object_conditions(flt, OBJECT_PROFILES))
        profiles = to_profiles(
            chain.from_iterable(driver_rows.batches(self._connection, of_scope, STREAM_BATCH))
        )
        missing = next((key for key in numbering if key not in profiles), None)
        if missing is not None:
            code = codes[numbered.index(numbering[missing])]
            raise DataLoss(
                f"object {code} names profile {missing}, which is not stored with the attributes the "
                "object has: the directory tables were changed outside dualdraw",
                reason="OBJECT_PROFILE_MISSING",
                metadata={"credit_code": code, "profile_key": missing},
            )
        distinct = [profiles[key] for key in numbering]
        if not strictly_ascending(codes):  # by credit code (PostgreSQL's scans start mid-table)
            order = sorted(range(len(codes)), key=codes.__getitem__)  # a merge of the runs read in order
            codes = builtins.list(map(codes.__getitem__, order))
            former, numbers = by_first_occurrence(numbers[np.array(order, dtype=np.intp)], len(distinct))
            distinct = builtins.list(map(distinct.__getitem__, former.tolist()))
        return DrawObjects.of_numbered(codes, distinct, numbers)

    def side_facts_matching(self, flt: ObjectFilter, codes: Sequence[str] | None = None) -> SideFacts:
        """Complaints, risk assessments and designations of the objects ``flt`` selects, and all campaigns.

        The object set is a correlated ``EXISTS``, never a list of codes sent back to the database: a side
        fact's object is looked up by its key, where ``IN (subquery)`` made SQLite build the whole matching
        set once per table (0.4 s of a 100k draw). Each list is ordered by id.

        ``codes``, when the caller holds them (a draw has just loaded its objects), are the credit codes
        ``flt`` selects, ascending: if the side-fact tables hold no more rows than that, every row is read
        and those of ``codes`` are kept, sparing the three joins with the objects table (each a scan of
        it: a province's draw read a million objects three more times for 60k side facts).
        """
        conditions = _object_conditions(flt)
        connection = self._connection
        _plan_for_every_row(connection)
        tables = (COMPLAINTS, RISK_ASSESSMENTS, DESIGNATIONS)
        counted = sa.select(*(sa.select(sa.func.count()).select_from(t).scalar_subquery() for t in tables))
        read_all = (
            codes is not None
            and strictly_ascending(codes)  # as documented; codes out of order take the joins
            and sum(connection.execute(counted).one()) <= len(codes)
        )

        def of_matching(table: sa.Table, columns: Sequence[str]) -> Iterable[Sequence[Any]]:
            """The rows' ``columns``, in that order (each side fact's constructor's)."""
            stmt = sa.select(*(table.c[name] for name in columns)).order_by(table.c.id)
            if read_all:
                # PostgreSQL's driver gives dates as dates: its tuples, where a SQLAlchemy row each cost half
                # of reading 60k side facts
                rows: Sequence[Sequence[Any]] = (
                    builtins.list(chain.from_iterable(driver_rows.batches(connection, stmt, STREAM_BATCH)))
                    if connection.dialect.name == "postgresql"
                    else connection.execute(stmt).all()  # one fetch: row by row, the driver's calls cost more
                )
                at = columns.index("credit_code")
                found = positions_in(codes or (), [r[at] for r in rows])
                return [r for r, place in zip(rows, found, strict=True) if place is not None]
            matching = sa.exists().where(OBJECTS.c.credit_code == table.c.credit_code, *conditions)
            return connection.execute(stmt.where(matching).execution_options(yield_per=STREAM_BATCH))

        campaigns = connection.execute(sa.select(CAMPAIGNS).order_by(CAMPAIGNS.c.id))
        return SideFacts(
            complaints=[
                Complaint(key, code, ComplaintStatus(status), received, closed, summary)
                for key, code, status, received, closed, summary in of_matching(COMPLAINTS, _COMPLAINT_FIELDS)
            ],
            campaigns=[to_campaign(r) for r in campaigns],
            risk_assessments=[
                RiskAssessment(key, code, RiskConclusion(conclusion), assessed, valid_until, note)
                for key, code, conclusion, assessed, valid_until, note in of_matching(
                    RISK_ASSESSMENTS, _RISK_ASSESSMENT_FIELDS
                )
            ],
            statutory_designations=[
                StatutoryDesignation(*row) for row in of_matching(DESIGNATIONS, _DESIGNATION_FIELDS)
            ],
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
        rows, last = keyset_page(self._connection, stmt, INSPECTORS.c.badge_number, page, lambda r: r)
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
        items, last = keyset_page(self._connection, sa.select(CAMPAIGNS), CAMPAIGNS.c.id, page, to_campaign)
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
        items, last = keyset_page(self._connection, stmt, table.c.id, page, convert)
        return Page(items, None if last is None else last.id)
