"""Directory filing use cases (Art. 7): a department files its objects, inspectors, experts and testing
institutions with its parent, which acknowledges or returns the filing; the parent sees each child's status
and what changed since it last acknowledged. Who may do what (the department's own operator submits, the
parent's decides) is checked by the caller's entry point before these run
(``entrypoints.grpc.security.policy``)."""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass

from dualdraw.domain.directory_filing import (
    ChildStatus,
    DirectoryFiling,
    DirectoryKind,
    FilingState,
    RecordDifference,
    ReturnReason,
    Snapshot,
    child_status,
    difference_order,
    differences,
    filing_id,
    hashes_by_kind,
    snapshot_of,
)
from dualdraw.domain.errors import FailedPrecondition, Violations, invalid
from dualdraw.domain.jurisdiction import ObjectFilter
from dualdraw.service_layer.audit_events import record_event
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.ports import Page, PageRequest, UnitOfWork

MAX_NOTE = 2000


def current_snapshot(uow: UnitOfWork, department_id: str) -> Snapshot:
    """The department's own objects (those it registers), inspectors, experts and testing institutions (those
    it keeps in the expert directories) as they are now: one bulk read per directory."""
    return snapshot_of(
        department_id,
        {
            DirectoryKind.OBJECTS: uow.directory.objects_matching(ObjectFilter(frozenset({department_id}))),
            DirectoryKind.INSPECTORS: uow.directory.inspectors_of([department_id]),
            DirectoryKind.EXPERTS: uow.experts.experts_of([department_id]),
            DirectoryKind.TESTING_INSTITUTIONS: uow.experts.institutions_of([department_id]),
        },
    )


def _resource(id: str) -> str:
    return f"directory_filing:{id}"


def _audit_view(f: DirectoryFiling) -> dict[str, object]:
    return {
        "state": f.state.value,
        "department_id": f.department_id,
        "parent_department_id": f.parent_department_id,
        "digest": f.digest,
        "counts": {k.kind: k.count for k in f.kinds},
        "roots": {k.kind: k.root for k in f.kinds},
    }


def _note(text: str, field: str, v: Violations) -> str:
    text = text.strip()
    if len(text) > MAX_NOTE:
        v.add(field, f"at most {MAX_NOTE} characters", reason="VALUE_TOO_LONG")
    return text


def submit_filing(uow: UnitOfWork, department_id: str, note: str, caller: Caller) -> DirectoryFiling:
    """Files the department's directories as they are now with its parent, as a new ``submitted`` filing;
    a returned latest filing is superseded by it (``superseded_by``). Audited ``directory_filing.submit``.

    Raises ``InvalidArgument`` (blank department, long note), ``NotFound`` (no such department),
    ``FailedPrecondition`` ``DEPARTMENT_HAS_NO_PARENT`` (a root files with nobody) and
    ``DIRECTORY_FILING_PENDING`` (the latest filing awaits the parent's decision).
    """
    v = Violations()
    department_id = department_id.strip()
    if not department_id:
        v.add("department", "is required", reason="FIELD_REQUIRED")
    note = _note(note, "note", v)
    v.raise_if_any()
    with uow:
        department = require(uow.directory.get_department(department_id), "department", department_id)
        if department.parent_id is None:
            raise FailedPrecondition(
                f"department {department_id} has no parent to file its directories with",
                reason="DEPARTMENT_HAS_NO_PARENT",
                metadata={"department": department_id},
            )
        uow.filings.lock_department(department_id)
        latest = uow.filings.latest(department_id)
        if latest is not None and latest.state is FilingState.SUBMITTED:
            raise FailedPrecondition(
                f"filing {latest.id} awaits the decision of {latest.parent_department_id}",
                reason="DIRECTORY_FILING_PENDING",
                metadata={"filing": latest.id},
            )
        snapshot = current_snapshot(uow, department_id)
        sequence = 1 if latest is None else latest.sequence + 1
        filing = DirectoryFiling(
            id=filing_id(department_id, sequence),
            department_id=department_id,
            parent_department_id=department.parent_id,
            sequence=sequence,
            state=FilingState.SUBMITTED,
            digest=snapshot.digest,
            kinds=snapshot.kinds,
            submitted_at=caller.now,
            submitted_by=caller.actor,
            note=note,
        )
        uow.filings.add(filing, snapshot.records)
        after = _audit_view(filing)
        if latest is not None and latest.state is FilingState.RETURNED:
            uow.filings.replace(dataclasses.replace(latest, superseded_by=filing.id))
            after["supersedes"] = latest.id
        record_event(
            uow, caller, action="directory_filing.submit", resource=_resource(filing.id), after=after
        )
        uow.commit()
    return filing


def _decidable(uow: UnitOfWork, id: str) -> DirectoryFiling:
    filing = require(uow.filings.get(id), "directory filing", id)
    if filing.state is not FilingState.SUBMITTED:
        raise FailedPrecondition(
            f"filing {id} is {filing.state.value}: only a submitted filing is acknowledged or returned",
            reason="DIRECTORY_FILING_NOT_SUBMITTED",
            metadata={"filing": id, "state": filing.state.value},
        )
    return filing


def acknowledge_filing(uow: UnitOfWork, id: str, caller: Caller) -> DirectoryFiling:
    """Acknowledges a submitted filing (audited ``directory_filing.acknowledge``).

    Raises ``NotFound`` and ``FailedPrecondition`` ``DIRECTORY_FILING_NOT_SUBMITTED``."""
    with uow:
        filing = _decidable(uow, id.strip())
        decided = dataclasses.replace(
            filing, state=FilingState.ACKNOWLEDGED, decided_at=caller.now, decided_by=caller.actor
        )
        uow.filings.replace(decided)
        record_event(
            uow,
            caller,
            action="directory_filing.acknowledge",
            resource=_resource(filing.id),
            before={"state": filing.state.value},
            after=_audit_view(decided),
        )
        uow.commit()
    return decided


def return_filing(
    uow: UnitOfWork, id: str, reason: ReturnReason | None, note: str, caller: Caller
) -> DirectoryFiling:
    """Returns a submitted filing to its department with a reason and a note (required for ``OTHER``);
    audited ``directory_filing.return``. The department then files again.

    Raises ``InvalidArgument`` (no reason, no note for ``OTHER``, long note), ``NotFound`` and
    ``FailedPrecondition`` ``DIRECTORY_FILING_NOT_SUBMITTED``."""
    v = Violations()
    if reason is None:
        v.add("reason", "is required: say why the filing is returned", reason="FIELD_REQUIRED")
    note = _note(note, "note", v)
    if reason is ReturnReason.OTHER and not note:
        v.add("note", "is required when the reason is OTHER", reason="FIELD_REQUIRED")
    v.raise_if_any()
    assert reason is not None
    with uow:
        filing = _decidable(uow, id.strip())
        decided = dataclasses.replace(
            filing,
            state=FilingState.RETURNED,
            decided_at=caller.now,
            decided_by=caller.actor,
            return_reason=reason,
            return_note=note,
        )
        uow.filings.replace(decided)
        after = _audit_view(decided) | {"reason": reason.value, "note": note}
        record_event(
            uow,
            caller,
            action="directory_filing.return",
            resource=_resource(filing.id),
            before={"state": filing.state.value},
            after=after,
        )
        uow.commit()
    return decided


def get_filing(uow: UnitOfWork, id: str) -> DirectoryFiling:
    with uow:
        return require(uow.filings.get(id.strip()), "directory filing", id)


def list_filings(
    uow: UnitOfWork, page: PageRequest, department_id: str = "", parent_department_id: str = ""
) -> Page[DirectoryFiling]:
    """Filings of a department, or filed with a parent (at least one of them is required)."""
    department_id, parent_department_id = department_id.strip(), parent_department_id.strip()
    if not department_id and not parent_department_id:
        raise invalid("parent", "name the parent department or the filing department", "FIELD_REQUIRED")
    with uow:
        return uow.filings.list(
            page,
            department_ids=[department_id] if department_id else None,
            parent_ids=[parent_department_id] if parent_department_id else None,
        )


@dataclass(frozen=True)
class ChildFiling:
    """A child department's filing status as its parent sees it."""

    department_id: str
    department_name: str
    status: ChildStatus
    current_digest: str
    latest: DirectoryFiling | None
    last_acknowledged: DirectoryFiling | None


def child_statuses(uow: UnitOfWork, parent_department_id: str, page: PageRequest) -> Page[ChildFiling]:
    """The parent's direct children, by id, each with its latest filing's status (``STALE`` when the
    latest filing is acknowledged and the directory has changed since) and its last acknowledged filing.
    The current digest of each child on the page is computed from the live directory (bulk reads).

    Raises ``NotFound`` (no such parent department)."""
    parent_department_id = parent_department_id.strip()
    if not parent_department_id:
        raise invalid("parent_department", "is required", "FIELD_REQUIRED")
    with uow:
        require(uow.directory.get_department(parent_department_id), "department", parent_department_id)
        children = sorted(
            (d for d in uow.directory.all_departments() if d.parent_id == parent_department_id),
            key=lambda d: d.id,
        )
        if page.after is not None:
            children = [d for d in children if d.id > page.after]
        shown = children[: page.size]
        latest = uow.filings.latest_of([d.id for d in shown])
        found = []
        for d in shown:
            filing = latest.get(d.id)
            digest = current_snapshot(uow, d.id).digest
            acknowledged = (
                filing
                if filing is not None and filing.state is FilingState.ACKNOWLEDGED
                else uow.filings.last_acknowledged(d.id)
            )
            found.append(
                ChildFiling(d.id, d.name, child_status(filing, digest), digest, filing, acknowledged)
            )
    return Page(found, shown[-1].id if len(children) > page.size else None)


@dataclass(frozen=True)
class DifferencePage:
    """A page of differences, with the filings they are taken between (``since`` is ``None`` when the
    department has no acknowledged filing to compare with: every record is then ``added``)."""

    differences: list[RecordDifference]
    next_after: str | None
    since: DirectoryFiling | None
    filing: DirectoryFiling | None
    """The filing compared; ``None``: the live directory."""


def list_differences(
    uow: UnitOfWork, page: PageRequest, *, filing_id: str = "", department_id: str = ""
) -> DifferencePage:
    """Records added, removed and changed since the department's last acknowledged filing: in filing
    ``filing_id`` (against the last acknowledged one before it), or in the live directory of
    ``department_id`` (what makes a status ``STALE``). Exactly one of the two is given. Ordered by kind and
    key; the page key is ``kind\\tkey``.

    Raises ``InvalidArgument`` (neither or both given) and ``NotFound``."""
    filing_id, department_id = filing_id.strip(), department_id.strip()
    if bool(filing_id) == bool(department_id):
        raise invalid("filing", "name either a filing or a department (not both)", "FIELD_REQUIRED")
    with uow:
        filing: DirectoryFiling | None = None
        if filing_id:
            filing = require(uow.filings.get(filing_id), "directory filing", filing_id)
            since = uow.filings.last_acknowledged(filing.department_id, before=filing.sequence)
            after = hashes_by_kind(uow.filings.records(filing.id))
        else:
            require(uow.directory.get_department(department_id), "department", department_id)
            since = uow.filings.last_acknowledged(department_id)
            after = current_snapshot(uow, department_id).hashes()
        before = hashes_by_kind(uow.filings.records(since.id)) if since is not None else {}
    found = differences(before, after)
    start = 0
    if page.after is not None:  # the first difference after the page key (present or not)
        kind, _, key = page.after.partition("\t")
        start = bisect.bisect_right(
            found, difference_order(kind, key), key=lambda d: difference_order(d.kind, d.key)
        )
    shown = found[start : start + page.size]
    more = start + page.size < len(found)
    return DifferencePage(shown, f"{shown[-1].kind}\t{shown[-1].key}" if more else None, since, filing)
