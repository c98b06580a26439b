"""Directory filing with the level above (Art. 7) through the use cases on a real SQLite and PostgreSQL
store: submit, acknowledge, return and supersede, refusals, differences and the parent's status view."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator

import pytest

from dualdraw.adapters.store import Store
from dualdraw.domain import model
from dualdraw.domain.credit_code import make_credit_code
from dualdraw.domain.directory_filing import Change, ChildStatus, FilingState, ReturnReason
from dualdraw.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from dualdraw.domain.jurisdiction import ObjectFilter
from dualdraw.service_layer import directory
from dualdraw.service_layer import directory_filings as filings
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import CITY, HIGH_TECH_ZONE, LUBEI, LUNAN, PROVINCE, demo_directory
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.service_layer.ports import PageRequest

BRANCH = Caller(actor="lunan-operator")
CITY_OPERATOR = Caller(actor="city-operator")
ALL = PageRequest(size=1000)
DEMO = demo_directory()
LUNAN_OBJECTS = sum(o.registering_department_id == LUNAN for o in DEMO.objects)
LUNAN_INSPECTORS = sum(i.department_id == LUNAN for i in DEMO.inspectors)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store.from_url(database_url)
    load_demo(store.unit_of_work)
    yield store
    store.dispose()


def _events(store: Store, resource: str) -> list[model.AuditEvent]:
    with store.read_unit_of_work() as uow:
        return uow.audit.events_of(resource)


def test_submit_acknowledge_and_audit(store: Store) -> None:
    filing = filings.submit_filing(store.unit_of_work(), LUNAN, "年度备案", BRANCH)
    assert (filing.id, filing.state, filing.parent_department_id) == (
        f"{LUNAN}.1",
        FilingState.SUBMITTED,
        CITY,
    )
    counts = {k.kind: k.count for k in filing.kinds}
    assert counts == {"objects": LUNAN_OBJECTS, "inspectors": LUNAN_INSPECTORS}
    with store.read_unit_of_work() as uow:
        assert filing.digest == filings.current_snapshot(uow, LUNAN).digest
    acknowledged = filings.acknowledge_filing(store.unit_of_work(), filing.id, CITY_OPERATOR)
    assert acknowledged.state is FilingState.ACKNOWLEDGED
    assert acknowledged.decided_by == "city-operator"
    assert filings.get_filing(store.read_unit_of_work(), filing.id) == acknowledged
    actions = [e.action for e in _events(store, f"directory_filing:{filing.id}")]
    assert actions == ["directory_filing.submit", "directory_filing.acknowledge"]
    after = json.loads(_events(store, f"directory_filing:{filing.id}")[0].after_json)
    assert after["digest"] == filing.digest
    assert after["counts"]["objects"] == LUNAN_OBJECTS


def test_refusals(store: Store) -> None:
    with pytest.raises(FailedPrecondition) as root:
        filings.submit_filing(store.unit_of_work(), PROVINCE, "", BRANCH)
    assert root.value.reason == "DEPARTMENT_HAS_NO_PARENT"
    with pytest.raises(NotFound):
        filings.submit_filing(store.unit_of_work(), "no-such", "", BRANCH)
    filing = filings.submit_filing(store.unit_of_work(), LUNAN, "", BRANCH)
    with pytest.raises(FailedPrecondition) as pending:
        filings.submit_filing(store.unit_of_work(), LUNAN, "", BRANCH)
    assert pending.value.reason == "DIRECTORY_FILING_PENDING"
    with pytest.raises(InvalidArgument):
        filings.return_filing(store.unit_of_work(), filing.id, None, "", CITY_OPERATOR)
    with pytest.raises(InvalidArgument):
        filings.return_filing(store.unit_of_work(), filing.id, ReturnReason.OTHER, " ", CITY_OPERATOR)
    filings.acknowledge_filing(store.unit_of_work(), filing.id, CITY_OPERATOR)
    for decide in (
        lambda: filings.acknowledge_filing(store.unit_of_work(), filing.id, CITY_OPERATOR),
        lambda: filings.return_filing(
            store.unit_of_work(), filing.id, ReturnReason.INCOMPLETE, "", CITY_OPERATOR
        ),
    ):
        with pytest.raises(FailedPrecondition) as decided:
            decide()
        assert decided.value.reason == "DIRECTORY_FILING_NOT_SUBMITTED"
    with pytest.raises(NotFound):
        filings.acknowledge_filing(store.unit_of_work(), f"{LUNAN}.9", CITY_OPERATOR)


def test_a_new_filing_supersedes_a_returned_one(store: Store) -> None:
    first = filings.submit_filing(store.unit_of_work(), LUBEI, "", BRANCH)
    returned = filings.return_filing(
        store.unit_of_work(), first.id, ReturnReason.TERRITORIAL_JURISDICTION, "两户不在辖区", CITY_OPERATOR
    )
    assert (returned.state, returned.return_reason, returned.return_note) == (
        FilingState.RETURNED, ReturnReason.TERRITORIAL_JURISDICTION, "两户不在辖区",
    )  # fmt: skip
    second = filings.submit_filing(store.unit_of_work(), LUBEI, "", BRANCH)
    assert second.sequence == 2
    assert filings.get_filing(store.read_unit_of_work(), first.id).superseded_by == second.id
    listed = filings.list_filings(store.read_unit_of_work(), ALL, parent_department_id=CITY).items
    assert [f.id for f in listed] == [first.id, second.id]
    assert [
        f.id for f in filings.list_filings(store.read_unit_of_work(), PageRequest(size=1), LUBEI).items
    ] == [first.id]
    with pytest.raises(InvalidArgument):
        filings.list_filings(store.read_unit_of_work(), ALL)
    actions = [e.action for e in _events(store, f"directory_filing:{first.id}")]
    assert actions == ["directory_filing.submit", "directory_filing.return"]


def _change_directory(store: Store) -> tuple[str, str, str]:
    """Adds an object, removes nothing (objects are never deleted: one moves away) and changes an inspector;
    returns (added code, moved-away code, changed badge)."""
    with store.read_unit_of_work() as uow:
        objects = uow.directory.objects_matching(ObjectFilter(frozenset({LUNAN})))
        inspector = uow.directory.inspectors_of([LUNAN])[0]
    added = dataclasses.replace(
        objects[0], credit_code=make_credit_code("9", "1", "130202", "70000001"), name="新户"
    )
    directory.import_directory(
        store.unit_of_work(),
        directory.DirectoryBatch(objects=[added], inspectors=[dataclasses.replace(inspector, office="新所")]),
        BRANCH,
    )
    directory.transfer_record(store.unit_of_work(), "object", objects[1].credit_code, CITY, "上收", BRANCH)
    return added.credit_code, objects[1].credit_code, inspector.badge_number


def test_differences_and_stale_status(store: Store) -> None:
    first = filings.submit_filing(store.unit_of_work(), LUNAN, "", BRANCH)
    nothing_since = filings.list_differences(store.read_unit_of_work(), ALL, filing_id=first.id)
    assert nothing_since.since is None
    assert len(nothing_since.differences) == sum(k.count for k in first.kinds)
    assert {d.change for d in nothing_since.differences} == {Change.ADDED}
    filings.acknowledge_filing(store.unit_of_work(), first.id, CITY_OPERATOR)

    statuses = {
        c.department_id: c for c in filings.child_statuses(store.read_unit_of_work(), CITY, ALL).items
    }
    never = ChildStatus.NEVER_FILED
    assert {d: c.status for d, c in statuses.items()} == {
        LUNAN: ChildStatus.ACKNOWLEDGED, LUBEI: never, HIGH_TECH_ZONE: never,
    }  # fmt: skip
    assert filings.list_differences(store.read_unit_of_work(), ALL, department_id=LUNAN).differences == []

    added, moved, badge = _change_directory(store)
    statuses = {
        c.department_id: c for c in filings.child_statuses(store.read_unit_of_work(), CITY, ALL).items
    }
    assert statuses[LUNAN].status is ChildStatus.STALE
    assert statuses[LUNAN].last_acknowledged is not None
    assert statuses[LUNAN].last_acknowledged.id == first.id
    live = filings.list_differences(store.read_unit_of_work(), ALL, department_id=LUNAN)
    expected = [("objects", added, Change.ADDED), ("objects", moved, Change.REMOVED)]
    expected = [*sorted(expected, key=lambda d: d[1]), ("inspectors", badge, Change.CHANGED)]
    assert [(d.kind, d.key, d.change) for d in live.differences] == expected

    second = filings.submit_filing(store.unit_of_work(), LUNAN, "", BRANCH)
    assert second.digest != first.digest
    statuses = {
        c.department_id: c for c in filings.child_statuses(store.read_unit_of_work(), CITY, ALL).items
    }
    assert statuses[LUNAN].status is ChildStatus.SUBMITTED
    filed = filings.list_differences(store.read_unit_of_work(), ALL, filing_id=second.id)
    assert filed.since is not None
    assert filed.since.id == first.id
    assert [(d.kind, d.key, d.change) for d in filed.differences] == expected

    pages, after = [], None
    while True:
        page = filings.list_differences(store.read_unit_of_work(), PageRequest(1, after), filing_id=second.id)
        pages.extend((d.kind, d.key, d.change) for d in page.differences)
        after = page.next_after
        if after is None:
            break
    assert pages == expected
    vanished = filings.list_differences(
        store.read_unit_of_work(), PageRequest(5, "objects\t0"), filing_id=second.id
    )
    assert [(d.kind, d.key, d.change) for d in vanished.differences] == expected  # a key no longer listed
    filings.acknowledge_filing(store.unit_of_work(), second.id, CITY_OPERATOR)
    statuses = {
        c.department_id: c for c in filings.child_statuses(store.read_unit_of_work(), CITY, ALL).items
    }
    assert statuses[LUNAN].status is ChildStatus.ACKNOWLEDGED


def test_a_large_department_files_in_seconds(store: Store) -> None:
    with store.read_unit_of_work() as uow:
        template = uow.directory.objects_matching(ObjectFilter(frozenset({LUNAN})))[0]
    many = [
        dataclasses.replace(
            template, credit_code=make_credit_code("9", "1", "130202", f"{80000000 + n:08d}"), name=f"户{n}"
        )
        for n in range(20_000)
    ]
    directory.import_directory(store.unit_of_work(), directory.DirectoryBatch(objects=many), BRANCH)
    started = time.perf_counter()
    filing = filings.submit_filing(store.unit_of_work(), LUNAN, "", BRANCH)
    assert time.perf_counter() - started < 10
    assert {k.kind: k.count for k in filing.kinds}["objects"] == 20_000 + LUNAN_OBJECTS
    with store.read_unit_of_work() as uow:
        assert len(uow.filings.records(filing.id)) == sum(k.count for k in filing.kinds)
