"""Directory filing with the level above (Art. 7) through the use cases on a real SQLite and PostgreSQL
store: submit, acknowledge, return and supersede, refusals, differences and the parent's status view."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from dualdraw.adapters.store import Store
from dualdraw.adapters.store.rows import EXPERTS, INSTITUTIONS
from dualdraw.domain import model
from dualdraw.domain.credit_code import make_credit_code
from dualdraw.domain.directory_filing import (
    Change,
    ChildStatus,
    DirectoryKind,
    FilingState,
    ReturnReason,
    snapshot_of,
)
from dualdraw.domain.draw.expert_draw import Qualification
from dualdraw.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from dualdraw.domain.jurisdiction import ObjectFilter
from dualdraw.service_layer import directory, expert_draws
from dualdraw.service_layer import directory_filings as filings
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import CITY, HIGH_TECH_ZONE, LUBEI, LUNAN, PROVINCE, demo_directory
from dualdraw.service_layer.demo_experts import demo_experts
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
    assert counts == {
        "objects": LUNAN_OBJECTS, "inspectors": LUNAN_INSPECTORS, "experts": 0, "testing_institutions": 0,
    }  # fmt: skip
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


ZONE_OPERATOR = Caller(actor="zone-operator")
LUNAN_DIGEST = "d6a54d7c588b82565abc9ed0b90c03af482b4f032e5972d02d019ec9c8ab514f"
"""Lunan's demo digest (objects and inspectors) as filed before experts joined (tests/unit pins it too)."""


def test_a_department_without_experts_files_the_digest_it_filed_before(store: Store) -> None:
    with store.read_unit_of_work() as uow:
        objects = uow.directory.objects_matching(ObjectFilter(frozenset({LUNAN})))
        inspectors = uow.directory.inspectors_of([LUNAN])
        assert uow.experts.experts_of([LUNAN]) == []
        assert uow.experts.institutions_of([LUNAN]) == []
    old_kinds: dict[DirectoryKind, list[Any]] = {
        DirectoryKind.OBJECTS: objects, DirectoryKind.INSPECTORS: inspectors,
    }  # fmt: skip
    assert snapshot_of(LUNAN, old_kinds).digest == LUNAN_DIGEST
    filing = filings.submit_filing(store.unit_of_work(), LUNAN, "", BRANCH)
    assert filing.digest == LUNAN_DIGEST


def test_a_department_files_its_experts_and_institutions(store: Store) -> None:
    experts, institutions, _ = demo_experts()
    first = filings.submit_filing(store.unit_of_work(), HIGH_TECH_ZONE, "", ZONE_OPERATOR)
    counts = {k.kind: k.count for k in first.kinds}
    assert (counts["experts"], counts["testing_institutions"]) == (len(experts), len(institutions))
    with store.read_unit_of_work() as uow:
        filed = {(r.kind, r.key) for r in uow.filings.records(first.id)}
        without = snapshot_of(
            HIGH_TECH_ZONE,
            {
                DirectoryKind.OBJECTS: uow.directory.objects_matching(
                    ObjectFilter(frozenset({HIGH_TECH_ZONE}))
                ),
                DirectoryKind.INSPECTORS: uow.directory.inspectors_of([HIGH_TECH_ZONE]),
            },
        )
    assert {("experts", e.id) for e in experts} | {
        ("testing_institutions", i.id) for i in institutions
    } <= filed
    assert first.digest != without.digest
    filings.acknowledge_filing(store.unit_of_work(), first.id, CITY_OPERATOR)
    assert (
        filings.list_differences(store.read_unit_of_work(), ALL, department_id=HIGH_TECH_ZONE).differences
        == []
    )

    # a renewed certificate, a new expert, an expert and an institution gone
    renewed = dataclasses.replace(
        experts[2], qualifications=(Qualification(experts[2].qualifications[0].code, None),)
    )
    newcomer = dataclasses.replace(experts[0], id="GXQ-E99", display_name="新专家")
    expert_draws.import_experts(store.unit_of_work(), HIGH_TECH_ZONE, [renewed, newcomer], [], ZONE_OPERATOR)
    with store.engine.begin() as connection:  # the directories have no removal use case yet
        connection.execute(sa.delete(EXPERTS).where(EXPERTS.c.id == experts[1].id))
        connection.execute(sa.delete(INSTITUTIONS).where(INSTITUTIONS.c.id == institutions[1].id))
    expected = [
        ("experts", experts[1].id, Change.REMOVED),
        ("experts", renewed.id, Change.CHANGED),
        ("experts", "GXQ-E99", Change.ADDED),
        ("testing_institutions", institutions[1].id, Change.REMOVED),
    ]
    statuses = {
        c.department_id: c for c in filings.child_statuses(store.read_unit_of_work(), CITY, ALL).items
    }
    assert statuses[HIGH_TECH_ZONE].status is ChildStatus.STALE
    live = filings.list_differences(store.read_unit_of_work(), ALL, department_id=HIGH_TECH_ZONE)
    assert [(d.kind, d.key, d.change) for d in live.differences] == expected

    second = filings.submit_filing(store.unit_of_work(), HIGH_TECH_ZONE, "", ZONE_OPERATOR)
    assert {k.kind: k.count for k in second.kinds}["experts"] == len(experts)
    assert {k.kind: k.count for k in second.kinds}["testing_institutions"] == len(institutions) - 1
    pages: list[tuple[str, str, Change]] = []
    after: str | None = None
    while True:
        page = filings.list_differences(store.read_unit_of_work(), PageRequest(1, after), filing_id=second.id)
        pages.extend((d.kind, d.key, d.change) for d in page.differences)
        after = page.next_after
        if after is None:
            break
    assert pages == expected
    filings.acknowledge_filing(store.unit_of_work(), second.id, CITY_OPERATOR)
    statuses = {
        c.department_id: c for c in filings.child_statuses(store.read_unit_of_work(), CITY, ALL).items
    }
    assert statuses[HIGH_TECH_ZONE].status is ChildStatus.ACKNOWLEDGED
    assert statuses[LUNAN].status is ChildStatus.NEVER_FILED
