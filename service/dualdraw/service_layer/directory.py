"""Directory use cases: validated, all-or-nothing imports and reads of the Art. 7 directories."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Literal, TypeVar

from dualdraw.domain import model
from dualdraw.domain.credit_code import (
    NOT_CANONICAL,
    all_valid,
    canonical_spelling,
    check_canonical,
    check_credit_code,
    credit_code_problem,
    not_canonical_problem,
    well_formed,
)
from dualdraw.domain.draw.algorithm import set_digest
from dualdraw.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, Violations
from dualdraw.domain.jurisdiction import DepartmentTree, department_tree_problems
from dualdraw.domain.object_columns import ObjectColumns
from dualdraw.domain.region import region_code_problem, region_within
from dualdraw.runtime.crashpoints import crash_point
from dualdraw.service_layer.audit_events import record_event
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.ports import UnitOfWork

T = TypeVar("T")


@dataclass
class DirectoryBatch:
    """Records of one import, each list in request order (field paths index into these lists)."""

    departments: list[model.Department] = field(default_factory=list)
    objects: ObjectColumns = field(default_factory=ObjectColumns)
    inspectors: list[model.Inspector] = field(default_factory=list)
    complaints: list[model.Complaint] = field(default_factory=list)
    campaigns: list[model.Campaign] = field(default_factory=list)
    risk_assessments: list[model.RiskAssessment] = field(default_factory=list)
    statutory_designations: list[model.StatutoryDesignation] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.objects, ObjectColumns):  # a list of objects: the columns of a small batch
            self.objects = ObjectColumns.of(self.objects)

    def counts(self) -> dict[str, int]:
        return {
            "departments": len(self.departments),
            "objects": len(self.objects),
            "inspectors": len(self.inspectors),
            "complaints": len(self.complaints),
            "campaigns": len(self.campaigns),
            "risk_assessments": len(self.risk_assessments),
            "statutory_designations": len(self.statutory_designations),
        }


def import_directory(uow: UnitOfWork, batch: DirectoryBatch, caller: Caller) -> dict[str, int]:
    """Validates the whole batch against itself and the stored directory and upserts it in one transaction,
    which commits only when the batch is valid.

    Raises ``InvalidArgument`` naming every bad field (``objects[3].credit_code``), and
    ``FailedPrecondition`` (``DEPARTMENT_CHANGE_NEEDS_TRANSFER``) when a record would move to another
    department: an import syncs records, a move is ``transfer_record``. Nothing is written then.
    """
    with uow:
        stored = _stored_facts(uow, batch)
        replaced = _replaced(uow, batch)
        # The checks and the audit view are plain Python and the writes mostly wait for the database, so a
        # worker thread computes them meanwhile; the transaction is rolled back unless the checks pass.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-checks") as worker:
            checked = worker.submit(_check, batch, stored, replaced)
            audit_view = worker.submit(_changes, replaced)
            try:
                _write(uow, batch)
            except Exception:
                checked.result()  # a bad batch explains a failed write: its violations are the answer
                raise
            checked.result()
            before, after = audit_view.result()
        counts = batch.counts()
        after["counts"] = counts
        record_event(
            uow, caller, action="directory.import", resource="directory", before=before or None, after=after
        )
        crash_point("import.before_commit")
        uow.commit()
    crash_point("import.after_commit")
    return counts


def _write(uow: UnitOfWork, batch: DirectoryBatch) -> None:
    directory = uow.directory
    if batch.departments:
        directory.upsert_departments(_parents_first(batch.departments))
    directory.upsert_objects(batch.objects)
    crash_point("import.after_objects")
    directory.upsert_inspectors(batch.inspectors)
    directory.upsert_complaints(batch.complaints)
    directory.upsert_campaigns(batch.campaigns)
    directory.upsert_risk_assessments(batch.risk_assessments)
    directory.upsert_statutory_designations(batch.statutory_designations)


TransferKind = Literal["object", "inspector", "department"]
MAX_TRANSFER_REASON = 2000


@dataclass(frozen=True)
class Transfer:
    """A record's move between departments (for a department: between parents)."""

    kind: TransferKind
    key: str
    from_department_id: str
    to_department_id: str
    moved: bool


def transfer_record(
    uow: UnitOfWork, kind: TransferKind, key: str, to_department_id: str, reason: str, caller: Caller
) -> Transfer:
    """Moves an object to another registering department, an inspector to another department or a
    department under another parent, with an audit event (before/after department and the reason) in the
    same transaction. A record already there is left alone (``moved=False``, nothing written).

    Raises ``InvalidArgument`` (blank key, reason or target; unknown target; a target whose territory does
    not fit the record) and ``NotFound`` (no such record).
    """
    v = Violations()
    if kind == "object":
        check_canonical(key, "key", v)
    key, to, reason = key.strip(), to_department_id.strip(), reason.strip()
    if not key:
        v.add("key", "is required", reason="FIELD_REQUIRED")
    if not to:
        v.add("to_department_id", "is required", reason="FIELD_REQUIRED")
    if not reason:
        v.add("reason", "is required: say why the record moves", reason="FIELD_REQUIRED")
    elif len(reason) > MAX_TRANSFER_REASON:
        v.add("reason", f"at most {MAX_TRANSFER_REASON} characters", reason="VALUE_TOO_LONG")
    v.raise_if_any()
    with uow:
        departments = {d.id: d for d in uow.directory.all_departments()}
        target = departments.get(to)
        if target is None:
            raise InvalidArgument(
                [
                    FieldViolation(
                        "to_department_id", f"unknown department {to!r}", reason="UNKNOWN_DEPARTMENT"
                    )
                ]
            )
        before, after = _moved(uow, kind, key, target, departments, v)
        v.raise_if_any()
        transfer = Transfer(kind, key, before, to, moved=before != to)
        if transfer.moved:
            record_event(
                uow,
                caller,
                action="directory.transfer",
                resource=f"{kind}:{key}",
                before={"department_id": before},
                after={"department_id": to, "reason": reason},
            )
            after()
            uow.commit()
    return transfer


def _moved(
    uow: UnitOfWork,
    kind: TransferKind,
    key: str,
    target: model.Department,
    departments: dict[str, model.Department],
    v: Violations,
) -> tuple[str, Callable[[], None]]:
    """The record's current department (a department's: its parent) and the write that moves it."""
    d = uow.directory
    if kind == "object":
        obj = require(d.get_object(key), "object", key)
        if not region_within(obj.region_code, target.region_code):
            v.add(
                "to_department_id",
                f"{obj.region_code} is outside the territory of {target.id}",
                reason="REGION_OUTSIDE_TERRITORY",
            )
        moved_object = dataclasses.replace(obj, registering_department_id=target.id)
        return obj.registering_department_id, lambda: d.upsert_objects([moved_object])
    if kind == "inspector":
        inspector = require(d.get_inspector(key), "inspector", key)
        moved_inspector = dataclasses.replace(inspector, department_id=target.id)
        return inspector.department_id, lambda: d.upsert_inspectors([moved_inspector])
    department = require(departments.get(key), "department", key)
    moved_department = dataclasses.replace(department, parent_id=target.id)
    for problem in department_tree_problems([moved_department], existing=departments.values()):
        v.add("to_department_id", problem.description, reason=problem.reason)
    return department.parent_id or "", lambda: d.upsert_departments([moved_department])


LISTED_KEYS = 1000
"""Imports creating up to this many records of a kind list their keys in the audit event; larger ones give
the count and the ``set_digest`` of the keys."""


@dataclass(frozen=True)
class _Kind:
    """The records of one kind in an import, their keys, and the stored records with those keys."""

    name: str
    records: Sequence[Any]
    keys: list[str]
    stored: dict[str, Any]


def _replaced(uow: UnitOfWork, batch: DirectoryBatch) -> list[_Kind]:
    """Per kind in the batch, the stored records it will replace (read before anything is written)."""
    d = uow.directory
    kinds: list[tuple[str, Sequence[Any], Callable[[Any], str], Callable[[list[str]], dict[str, Any]]]] = [
        (
            "departments",
            batch.departments,
            attrgetter("id"),
            lambda keys: {x.id: x for x in d.all_departments()},
        ),
        ("objects", batch.objects, attrgetter("credit_code"), d.objects_by_code),
        ("inspectors", batch.inspectors, attrgetter("badge_number"), d.inspectors_by_badge),
        ("complaints", batch.complaints, attrgetter("id"), d.complaints_by_id),
        ("campaigns", batch.campaigns, attrgetter("id"), d.campaigns_by_id),
        ("risk_assessments", batch.risk_assessments, attrgetter("id"), d.risk_assessments_by_id),
        (
            "statutory_designations",
            batch.statutory_designations,
            attrgetter("id"),
            d.statutory_designations_by_id,
        ),
    ]
    found = []
    for name, records, key, stored_by_key in kinds:
        if records:
            keys = records.credit_codes[:] if isinstance(records, ObjectColumns) else list(map(key, records))
            found.append(_Kind(name, records, keys, stored_by_key(keys)))
    return found


_PLACED_BY = {
    "departments": "parent_id",
    "objects": "registering_department_id",
    "inspectors": "department_id",
}
"""Per record kind, the attribute placing a record in the department tree: an import may not change it."""
LISTED_MOVES = 100
"""A refused import names at most this many moved records (and counts the rest)."""


def _check(batch: DirectoryBatch, facts: _StoredFacts, kinds: list[_Kind]) -> None:
    _validate(batch, facts)
    _refuse_moves(kinds)


def _refuse_moves(kinds: list[_Kind]) -> None:
    """Raises ``FailedPrecondition`` naming each record the import would move to another department (or,
    for a department, under another parent)."""
    moved: list[FieldViolation] = []
    count = 0
    for kind in kinds:
        attribute = _PLACED_BY.get(kind.name)
        if attribute is None or not kind.stored:
            continue
        placed = attrgetter(attribute)
        stored = kind.stored
        for i in _stored_positions(kind.keys, stored):  # only these can move
            key, record = kind.keys[i], kind.records[i]
            old = stored[key]
            if placed(old) == placed(record):
                continue
            count += 1
            if len(moved) < LISTED_MOVES:
                moved.append(
                    FieldViolation(
                        f"{kind.name}[{i}].{attribute}",
                        f"{key} is in {placed(old) or 'no department'}, not {placed(record) or 'none'}:"
                        " an import does not move records; use TransferRecord",
                        reason="DEPARTMENT_CHANGE_NEEDS_TRANSFER",
                    )
                )
    if moved:
        raise FailedPrecondition(
            f"the import would move {count} record(s) to another department; nothing imported",
            reason="DEPARTMENT_CHANGE_NEEDS_TRANSFER",
            metadata={"moved": str(count)},
            violations=moved,
        )


def _changes(kinds: list[_Kind]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The audit view of an import: ``before`` holds every record it replaces as it was; ``after`` the new
    state of those records and, per kind, the keys (or their digest) of the records it creates."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {"created": {}, "updated": {}}
    for kind in kinds:
        keys, stored = kind.keys, kind.stored
        if stored:
            created = sorted(k for k in keys if k not in stored)
            records = kind.records
            updated = {
                k: r
                for k, r in ((keys[i], records[i]) for i in _stored_positions(keys, stored))
                if stored[k] != r
            }
        else:  # a first import: nothing to compare
            created, updated = sorted(keys), {}
        if created:
            listing: dict[str, Any] = {"count": len(created), "keys_digest": set_digest(created)}
            if len(created) <= LISTED_KEYS:
                listing["keys"] = created
            after["created"][kind.name] = listing
        if updated:
            before[kind.name] = {k: stored[k] for k in sorted(updated)}
            after["updated"][kind.name] = {k: updated[k] for k in sorted(updated)}
    return before, after


def _stored_positions(keys: Sequence[str], stored: dict[str, Any]) -> list[int]:
    """The positions in ``keys`` of the keys ``stored`` holds, in order (each record is read, or made from
    its columns, only there)."""
    return [i for i, key in enumerate(keys) if key in stored]


def _parents_first(departments: Sequence[model.Department]) -> list[model.Department]:
    return sorted(departments, key=lambda d: int(d.level))


def _duplicates(items: Sequence[T], key: Callable[[T], str], path: str, v: Violations) -> None:
    _duplicates_of(list(map(key, items)), path, v)


def _duplicates_of(keys: Sequence[str], path: str, v: Violations) -> None:
    """Adds a violation for each key in ``keys`` that repeats an earlier one (one set when none does)."""
    if len(set(keys)) == len(keys):
        return
    seen: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k in seen:
            v.add(f"{path}[{i}]", f"duplicates {path}[{seen[k]}] ({k})", reason="DUPLICATE_VALUE")
        else:
            seen[k] = i


@dataclass(frozen=True)
class _StoredFacts:
    """What the checks of an import need from the stored directory, read before anything is written."""

    departments: dict[str, model.Department]
    known_credit_codes: set[str]
    """The credit codes the batch's side facts may refer to: the batch's objects and the stored ones."""


def _stored_facts(uow: UnitOfWork, batch: DirectoryBatch) -> _StoredFacts:
    return _StoredFacts({d.id: d for d in uow.directory.all_departments()}, _known_credit_codes(uow, batch))


def _validate(batch: DirectoryBatch, facts: _StoredFacts) -> None:
    """Raises ``InvalidArgument`` naming every problem of ``batch`` (plain Python: no database access)."""
    v = Violations()
    stored = facts.departments
    v.items.extend(department_tree_problems(batch.departments, existing=stored.values()))
    if v:
        v.raise_if_any()  # the checks below need a valid tree
    merged = {**stored, **{d.id: d for d in batch.departments}}
    tree = DepartmentTree(list(merged.values()))

    codes = batch.objects.credit_codes
    _duplicates_of(codes, "objects", v)
    if not (all_valid(codes) and _all_placed(batch.objects, tree)):  # the common case, checked in bulk
        _object_problems(batch.objects, tree, v)  # walks the objects to name each problem

    _duplicates(batch.inspectors, lambda i: i.badge_number, "inspectors", v)
    for i, ins in enumerate(batch.inspectors):
        p = f"inspectors[{i}]"
        if tree.get(ins.department_id) is None:
            v.add(
                f"{p}.department_id", f"unknown department {ins.department_id!r}", reason="UNKNOWN_DEPARTMENT"
            )
        for code in sorted(ins.conflicts):
            if problem := credit_code_problem(code):
                reason = (
                    "CREDIT_CODE_NOT_CANONICAL"
                    if canonical_spelling(code)
                    else "CREDIT_CODE_CHECK_CHARACTER"
                    if well_formed(code)
                    else "CREDIT_CODE_FORMAT"
                )
                v.add(f"{p}.conflicts", f"{code}: {problem}", reason=reason)
        codes = [s.code for s in ins.specialities]
        if len(set(codes)) != len(codes):
            v.add(f"{p}.specialities", "lists a speciality twice", reason="DUPLICATE_VALUE")

    known_codes = facts.known_credit_codes
    _side_facts(batch.complaints, "complaints", known_codes, v)
    _side_facts(batch.risk_assessments, "risk_assessments", known_codes, v)
    _side_facts(batch.statutory_designations, "statutory_designations", known_codes, v)
    for i, c in enumerate(batch.complaints):
        if c.closed_on is not None and c.closed_on < c.received_on:
            v.add(f"complaints[{i}].closed_on", "is before received_on", reason="DATE_ORDER")
        if c.status is model.ComplaintStatus.CLOSED and c.closed_on is None:
            v.add(
                f"complaints[{i}].closed_on",
                "is required when the complaint is closed",
                reason="FIELD_REQUIRED",
            )
    for i, r in enumerate(batch.risk_assessments):
        _window(r.assessed_on, r.valid_until, f"risk_assessments[{i}].valid_until", v)
    for i, s in enumerate(batch.statutory_designations):
        _window(s.valid_from, s.valid_to, f"statutory_designations[{i}].valid_to", v)

    _duplicates(batch.campaigns, lambda c: c.id, "campaigns", v)
    for i, campaign in enumerate(batch.campaigns):
        p = f"campaigns[{i}]"
        organizer = campaign.organizer_department_id
        if tree.get(organizer) is None:
            v.add(
                f"{p}.organizer_department_id",
                f"unknown department {organizer!r}",
                reason="UNKNOWN_DEPARTMENT",
            )
        if problem := region_code_problem(campaign.region_code):
            v.add(f"{p}.region_code", problem, reason="REGION_CODE_INVALID")
        _window(campaign.starts_on, campaign.ends_on, f"{p}.ends_on", v)
    v.raise_if_any()


def _all_placed(objects: ObjectColumns, tree: DepartmentTree) -> bool:
    """True when every object's region code is valid and within its (known) registering department's
    territory; checked once per distinct pair of region and department."""
    for region, department_id in objects.placements():
        dept = tree.get(department_id)
        if dept is None or _region_problem(region) or not _region_within(region, dept.region_code):
            return False
    return True


def _object_problems(objects: Sequence[model.InspectionObject], tree: DepartmentTree, v: Violations) -> None:
    """Adds the problems of each object to ``v``, named by its path (``objects[3].credit_code``)."""
    for i, o in enumerate(objects):
        dept = tree.get(o.registering_department_id)
        if (
            credit_code_problem(o.credit_code) is None
            and _region_problem(o.region_code) is None
            and dept is not None
            and _region_within(o.region_code, dept.region_code)
        ):
            continue  # the common case; a bad object is checked again below, naming each problem
        p = f"objects[{i}]"
        check_credit_code(o.credit_code, f"{p}.credit_code", v)
        if problem := region_code_problem(o.region_code):
            v.add(f"{p}.region_code", problem, reason="REGION_CODE_INVALID")
        if dept is None:
            v.add(
                f"{p}.registering_department_id",
                f"unknown department {o.registering_department_id!r}",
                reason="UNKNOWN_DEPARTMENT",
            )
        elif not region_code_problem(o.region_code) and not region_within(o.region_code, dept.region_code):
            v.add(
                f"{p}.region_code",
                f"{o.region_code} is outside the territory of department {dept.id} ({dept.region_code})",
                reason="REGION_OUTSIDE_TERRITORY",
            )


_region_problem = functools.lru_cache(maxsize=4096)(region_code_problem)
_region_within = functools.lru_cache(maxsize=4096)(region_within)
"""Cached: an import has a million objects but only as many region codes as its departments' territory."""


def _window(start: dt.date, end: dt.date | None, path: str, v: Violations) -> None:
    if end is not None and end < start:
        v.add(path, f"{end.isoformat()} is before {start.isoformat()}", reason="DATE_ORDER")


def _known_credit_codes(uow: UnitOfWork, batch: DirectoryBatch) -> set[str]:
    referenced = {
        f.credit_code
        for facts in (batch.complaints, batch.risk_assessments, batch.statutory_designations)
        for f in facts
    }
    known = set(batch.objects.credit_codes)
    known.update(uow.directory.existing_credit_codes(referenced - known))
    return known


def _side_facts(
    facts: Sequence[model.Complaint | model.RiskAssessment | model.StatutoryDesignation],
    path: str,
    known: set[str],
    v: Violations,
) -> None:
    _duplicates(facts, lambda f: f.id, path, v)
    for i, f in enumerate(facts):
        canonical = canonical_spelling(f.credit_code)
        if canonical is not None:
            v.add(f"{path}[{i}].credit_code", not_canonical_problem(canonical), reason=NOT_CANONICAL)
        elif f.credit_code not in known:
            v.add(
                f"{path}[{i}].credit_code",
                f"no object with credit code {f.credit_code!r} in the directory",
                reason="UNKNOWN_OBJECT",
            )


def require(value: T | None, resource: str, key: str) -> T:
    """``value`` unless it is ``None``, which is a ``NotFound`` for ``resource`` ``key``."""
    if value is None:
        raise NotFound(resource, key)
    return value
