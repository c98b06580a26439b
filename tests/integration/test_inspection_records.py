"""Checklists per published item version and inspection records through the use cases, on a real SQLite
and PostgreSQL store: which checklist applies, who may sign, sampling items, revisions and their audit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest

from dualdraw.adapters.store import Store
from dualdraw.domain import model
from dualdraw.domain.checklists import Checklist
from dualdraw.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from dualdraw.domain.exclusions.model import RuleSet
from dualdraw.domain.inspection_records import (
    Acknowledgement,
    CheckPointFinding,
    EvidenceFile,
    Finding,
    LabReport,
    RecordContent,
    Sample,
)
from dualdraw.service_layer import catalogue, checklists, inspection_records, publication
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import HIGH_TECH_ZONE, demo_checklists
from dualdraw.service_layer.demo_loader import load_demo, load_demo_checklists
from dualdraw.service_layer.draw_abandon import ABANDON_REASONS, abandon_draw
from dualdraw.service_layer.draws import run_draw
from dualdraw.service_layer.entropy_policy import EntropyPolicy
from dualdraw.service_layer.ports import PageRequest
from tests.evidence_helpers import store_bytes


def planner() -> Caller:
    """The caller now (a Caller's ``now`` is fixed when it is made)."""
    return Caller(actor="planner")


class NoExclusions:
    """The rules engine port, excluding nothing: these tests are about what happens after the draw."""

    def evaluate(self, rule_set, context, objects, side_facts, *, progress=None):  # type: ignore[no-untyped-def]  # the port's signature; test double
        return []


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store.from_url(database_url)
    load_demo(store.unit_of_work)
    yield store
    store.dispose()


def _publish(store: Store) -> None:
    publication.publish_item_list(
        store.unit_of_work(),
        effective_from=planner().today(),
        change_summary="首次公布",
        change_legal_basis="第五条",
        caller=planner(),
    )


def _assignment(store: Store, item_code: str) -> tuple[str, model.Assignment]:
    """The draw id and first assignment of an executed draw of ``item_code`` in the high-tech zone."""
    task = catalogue.create_task(
        store.unit_of_work(),
        item_code=item_code,
        department_id=HIGH_TECH_ZONE,
        ratio=Fraction(1, 2),
        team_size=2,
        scope=model.TaskScope(),
        title="",
        caller=planner(),
    )
    outcome = run_draw(
        store.unit_of_work(),
        NoExclusions(),
        RuleSet.of([]),
        task_id=task.id,
        as_of=None,
        caller=planner(),
        entropy=EntropyPolicy(allow_local=True),
    )
    return outcome.draw.id, outcome.record.assignments[0]


def _content(assignment: model.Assignment, checklist: Checklist) -> RecordContent:
    now = dt.datetime.now(dt.UTC)
    return RecordContent(
        started_at=now - dt.timedelta(microseconds=2),
        ended_at=now - dt.timedelta(microseconds=1),
        place="现场",
        members_present=tuple(m.badge_number for m in assignment.team),
        findings=tuple(CheckPointFinding(p.id, Finding.COMPLIANT) for p in checklist.check_points),
        acknowledgement=Acknowledgement.ACKNOWLEDGED,
    )


def test_a_checklist_belongs_to_a_published_item_version_and_is_revised_with_a_reason(store: Store) -> None:
    se = demo_checklists()["TS-SE-01"]

    def set_(**kw: object) -> object:
        args: dict[str, object] = {
            "item_code": "TS-SE-01",
            "checklist": se,
            "item_version": 0,
            "effective_from": None,
            "change_reason": "",
            "caller": planner(),
        }
        args.update(kw)
        return checklists.set_checklist(store.unit_of_work(), **args)  # type: ignore[arg-type]  # test keywords

    with pytest.raises(FailedPrecondition) as unpublished:
        set_()
    assert unpublished.value.reason == "ITEM_NOT_PUBLISHED"
    with pytest.raises(NotFound):
        set_(item_code="NO-SUCH")
    _publish(store)
    with pytest.raises(InvalidArgument) as bad:
        set_(item_version=7, effective_from=planner().today() - dt.timedelta(days=1))
    assert sorted((v.field, v.reason) for v in bad.value.violations) == [
        ("checklist.effective_date", "DATE_ORDER"),
        ("checklist.item_version", "UNKNOWN_ITEM"),
    ]
    first = set_()
    assert (first.revision, first.item_version) == (1, 1)  # type: ignore[attr-defined]  # a ChecklistRevision
    with pytest.raises(InvalidArgument) as no_reason:
        set_(checklist=dataclasses.replace(se, check_points=se.check_points[:2]))
    assert no_reason.value.reason == "FIELD_REQUIRED"
    set_(checklist=dataclasses.replace(se, check_points=se.check_points[:2]), change_reason="合并检查项")
    history = checklists.checklist_history(store.unit_of_work(), "TS-SE-01")
    assert [(r.revision, len(r.checklist.check_points)) for r in history] == [(1, 4), (2, 2)]
    with store.unit_of_work() as uow:
        events = uow.audit.events_of("items/TS-SE-01/checklist/revisions/2")
    assert [e.action for e in events] == ["checklist.revise"]
    assert json.loads(events[0].after_json)["change_reason"] == "合并检查项"


def test_a_record_needs_the_checklist_in_force_for_the_draws_item_version(store: Store) -> None:
    _publish(store)
    draw_id, assignment = _assignment(store, "TS-SE-01")
    content = _content(assignment, demo_checklists()["TS-SE-01"])
    with pytest.raises(FailedPrecondition) as missing:
        inspection_records.create_record(
            store.unit_of_work(), draw_id=draw_id, position=1, content=content, caller=planner()
        )
    assert missing.value.reason == "CHECKLIST_MISSING"
    assert load_demo_checklists(store.unit_of_work, planner()) == 3
    leader = next(m.badge_number for m in assignment.team if m.leader)
    without_leader = dataclasses.replace(
        content, members_present=tuple(b for b in content.members_present if b != leader)
    )
    with pytest.raises(InvalidArgument) as absent:
        inspection_records.create_record(
            store.unit_of_work(),
            draw_id=draw_id,
            position=1,
            content=without_leader,
            caller=planner(),
        )
    assert [v.reason for v in absent.value.violations] == ["LEADER_ABSENT"], absent.value.violations

    repeated = Caller(actor="inspector", request_id="req-1")
    first = inspection_records.create_record(
        store.unit_of_work(), draw_id=draw_id, position=1, content=content, caller=repeated
    )
    again = inspection_records.create_record(
        store.unit_of_work(), draw_id=draw_id, position=1, content=content, caller=repeated
    )
    assert again == first  # the same request id: the stored version, nothing written twice
    with pytest.raises(InvalidArgument) as no_reason:
        inspection_records.revise_record(
            store.unit_of_work(), record_id=first.record_id, content=content, reason=" ", caller=planner()
        )
    assert no_reason.value.violations[0].field == "reason"
    with pytest.raises(InvalidArgument) as same:
        inspection_records.revise_record(
            store.unit_of_work(), record_id=first.record_id, content=content, reason="重录", caller=planner()
        )
    assert same.value.reason == "NO_CHANGE"


def test_a_sampling_item_needs_samples_and_a_refusal_is_witnessed(store: Store) -> None:
    _publish(store)
    load_demo_checklists(store.unit_of_work, planner())
    draw_id, assignment = _assignment(store, "TS-PQ-01")
    content = _content(assignment, demo_checklists()["TS-PQ-01"])
    refused = dataclasses.replace(
        content,
        acknowledgement=Acknowledgement.REFUSED,
        refusal_reason="负责人拒绝签字",
        refusal_witness=content.members_present[0],
    )
    with pytest.raises(InvalidArgument) as no_sample:
        inspection_records.create_record(
            store.unit_of_work(), draw_id=draw_id, position=1, content=refused, caller=planner()
        )
    assert [(v.field, v.reason) for v in no_sample.value.violations] == [
        ("inspection_record.samples", "SAMPLE_MISSING")
    ]
    sampled = dataclasses.replace(refused, samples=(Sample("CY-001", "PQ-2", "电线 2 卷", "省质检院", 2),))
    stored = inspection_records.create_record(
        store.unit_of_work(), draw_id=draw_id, position=1, content=sampled, caller=planner()
    )
    assert (stored.checklist.item_code, stored.checklist.revision) == ("TS-PQ-01", 1)
    assert inspection_records.check_record_hashes(store.unit_of_work()) == []


def test_only_an_executed_draws_existing_assignment_is_recorded(store: Store) -> None:
    _publish(store)
    load_demo_checklists(store.unit_of_work, planner())
    draw_id, assignment = _assignment(store, "TS-SE-01")
    content = _content(assignment, demo_checklists()["TS-SE-01"])
    with pytest.raises(NotFound):
        inspection_records.create_record(
            store.unit_of_work(), draw_id=draw_id, position=999, content=content, caller=planner()
        )
    abandon_draw(
        store.unit_of_work(),
        draw_id=draw_id,
        reason=ABANDON_REASONS[0],
        note="名录数据有误",
        caller=planner(),
    )
    with pytest.raises(FailedPrecondition) as abandoned:
        inspection_records.create_record(
            store.unit_of_work(), draw_id=draw_id, position=1, content=content, caller=planner()
        )
    assert (abandoned.value.reason, abandoned.value.metadata) == ("DRAW_NOT_EXECUTED", {"draw_id": draw_id})


def test_a_record_cites_only_evidence_uploaded_with_its_size_and_type(store: Store, tmp_path: Path) -> None:
    _publish(store)
    load_demo_checklists(store.unit_of_work, planner())
    draw_id, assignment = _assignment(store, "TS-PQ-01")
    content = _content(assignment, demo_checklists()["TS-PQ-01"])
    report_sha, report_size = store_bytes(store.unit_of_work, tmp_path, b"%PDF lab report on CY-001")
    photo_sha, photo_size = store_bytes(store.unit_of_work, tmp_path, b"a photo", "image/jpeg")
    missing = "0" * 64
    cited = dataclasses.replace(
        content,
        samples=(Sample("CY-001", "PQ-2", "电线 2 卷", "省质检院", 2),),
        lab_reports=(LabReport("CY-001", EvidenceFile(missing, 10, "application/pdf")),),
        attachments=(
            EvidenceFile(photo_sha, photo_size, "image/jpeg"),
            EvidenceFile(report_sha, report_size + 1, "application/pdf"),
            EvidenceFile(photo_sha[::-1], photo_size, "image/jpeg"),
        ),
    )
    with pytest.raises(InvalidArgument) as refused:
        inspection_records.create_record(
            store.unit_of_work(), draw_id=draw_id, position=1, content=cited, caller=planner()
        )
    assert [(v.field, v.reason) for v in refused.value.violations] == [
        ("inspection_record.lab_reports[0].file.sha256", "EVIDENCE_NOT_UPLOADED"),
        ("inspection_record.attachments[1].size", "EVIDENCE_SIZE_MISMATCH"),
        ("inspection_record.attachments[2].sha256", "EVIDENCE_NOT_UPLOADED"),
    ]
    with store.unit_of_work() as uow:
        assert uow.inspection_records.list_current(PageRequest(10), None, None).items == []

    good = dataclasses.replace(
        cited,
        lab_reports=(LabReport("CY-001", EvidenceFile(report_sha, report_size, "application/pdf")),),
        attachments=(EvidenceFile(photo_sha, photo_size, "image/jpeg"),),
    )
    stored = inspection_records.create_record(
        store.unit_of_work(), draw_id=draw_id, position=1, content=good, caller=planner()
    )
    retyped = dataclasses.replace(good, attachments=(EvidenceFile(photo_sha, photo_size, "image/png"),))
    with pytest.raises(InvalidArgument) as revision:
        inspection_records.revise_record(
            store.unit_of_work(),
            record_id=stored.record_id,
            content=retyped,
            reason="补充照片",
            caller=planner(),
        )
    assert [(v.field, v.reason) for v in revision.value.violations] == [
        ("inspection_record.attachments[0].content_type", "EVIDENCE_TYPE_MISMATCH")
    ]
    assert [r.version for r in inspection_records.record_history(store.unit_of_work(), stored.record_id)] == [
        1
    ]
