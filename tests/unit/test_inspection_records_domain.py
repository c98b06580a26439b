"""Checklists (Art. 4, 11) and inspection records (Art. 12): the validation rules and the canonical hash."""

from __future__ import annotations

import dataclasses
import datetime as dt

from dualdraw.domain.checklists import (
    Checklist,
    ChecklistRevision,
    CheckMethod,
    CheckPoint,
    checklist_problems,
    in_force,
)
from dualdraw.domain.inspection_records import (
    Acknowledgement,
    ChecklistRef,
    CheckPointFinding,
    EvidenceFile,
    Finding,
    InspectionRecord,
    LabReport,
    RecordContent,
    Sample,
    canonical_record,
    record_document,
    record_from_document,
    record_hash,
    record_problems,
)

NOW = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)
DRAWN = NOW - dt.timedelta(days=3)
SHA = "ab" * 32

CHECKLIST = Checklist(
    check_points=(
        CheckPoint("P-1", "标识标注", "产品质量法第二十七条", CheckMethod.ON_SITE),
        CheckPoint("P-2", "抽样检验", "产品质量法第十五条", CheckMethod.SAMPLING_AND_TESTING),
    ),
    sample_requirements="成品库随机抽取",
    laboratory_requirements="具有CMA资质",
)
REVISION = ChecklistRevision("TS-PQ-01", 1, 1, dt.date(2026, 12, 1), CHECKLIST, "", NOW, "planner")
TEAM = {"B-1", "B-2", "B-3"}

GOOD = RecordContent(
    started_at=NOW - dt.timedelta(hours=3),
    ended_at=NOW - dt.timedelta(hours=1),
    place="高新区建设路1号",
    members_present=("B-1", "B-2"),
    findings=(
        CheckPointFinding("P-1", Finding.COMPLIANT),
        CheckPointFinding("P-2", Finding.NON_COMPLIANT, "样品标签缺失"),
    ),
    acknowledgement=Acknowledgement.ACKNOWLEDGED,
    samples=(Sample("S-1", "P-2", "电线电缆 2 卷", "河北省产品质量监督检验院", 2),),
    lab_reports=(LabReport("S-1", EvidenceFile(SHA, 1024, "application/pdf")),),
    attachments=(EvidenceFile("cd" * 32, 2048, "image/jpeg"),),
)


def problems(content: RecordContent) -> list[tuple[str, str]]:
    found = record_problems(content, checklist=REVISION, team=TEAM, leader="B-1", now=NOW, drawn_at=DRAWN)
    return [(v.field, v.reason) for v in found]


def test_a_complete_record_has_no_problems() -> None:
    assert problems(GOOD) == []


def test_only_team_members_sign_and_the_leader_is_present() -> None:
    outsider = dataclasses.replace(GOOD, members_present=("B-2", "X-9"))
    assert problems(outsider) == [
        ("inspection_record.members_present[1]", "NOT_A_TEAM_MEMBER"),
        ("inspection_record.members_present", "LEADER_ABSENT"),
    ]


def test_every_check_point_has_exactly_one_finding() -> None:
    missing = dataclasses.replace(GOOD, findings=GOOD.findings[1:])
    assert problems(missing) == [("inspection_record.findings", "FINDING_MISSING")]
    twice = dataclasses.replace(GOOD, findings=(*GOOD.findings, CheckPointFinding("P-1", Finding.COMPLIANT)))
    assert problems(twice) == [("inspection_record.findings[2].check_point_id", "DUPLICATE_VALUE")]
    unknown = dataclasses.replace(
        GOOD, findings=(*GOOD.findings, CheckPointFinding("P-9", Finding.COMPLIANT))
    )
    assert problems(unknown) == [("inspection_record.findings[2].check_point_id", "UNKNOWN_CHECK_POINT")]


def test_a_non_compliant_finding_needs_a_note() -> None:
    bare = dataclasses.replace(
        GOOD, findings=(GOOD.findings[0], CheckPointFinding("P-2", Finding.NON_COMPLIANT, " "))
    )
    assert problems(bare) == [("inspection_record.findings[1].note", "FIELD_REQUIRED")]


def test_a_refusal_needs_a_reason_and_a_witness_among_the_members_present() -> None:
    refused = dataclasses.replace(GOOD, acknowledgement=Acknowledgement.REFUSED)
    assert problems(refused) == [
        ("inspection_record.refusal_reason", "FIELD_REQUIRED"),
        ("inspection_record.refusal_witness", "FIELD_REQUIRED"),
    ]
    witnessed = dataclasses.replace(refused, refusal_reason="负责人拒绝签字", refusal_witness="B-3")
    assert problems(witnessed) == [("inspection_record.refusal_witness", "NOT_A_TEAM_MEMBER")]
    assert problems(dataclasses.replace(witnessed, refusal_witness="B-2")) == []
    signed_with_reason = dataclasses.replace(GOOD, refusal_reason="x")
    assert problems(signed_with_reason) == [("inspection_record.refusal_reason", "FIELDS_CONFLICT")]


def test_sampling_check_points_need_samples_and_reports_name_them() -> None:
    no_samples = dataclasses.replace(GOOD, samples=(), lab_reports=())
    assert problems(no_samples) == [("inspection_record.samples", "SAMPLE_MISSING")]
    not_applicable = dataclasses.replace(
        no_samples, findings=(GOOD.findings[0], CheckPointFinding("P-2", Finding.NOT_APPLICABLE))
    )
    assert problems(not_applicable) == []
    stray = dataclasses.replace(
        GOOD, lab_reports=(LabReport("S-9", EvidenceFile(SHA, 1, "application/pdf")),)
    )
    assert problems(stray) == [("inspection_record.lab_reports[0].sample_id", "UNKNOWN_SAMPLE")]
    wrong_point = dataclasses.replace(
        GOOD, samples=(dataclasses.replace(GOOD.samples[0], check_point_id="P-1"),)
    )
    assert ("inspection_record.samples[0].check_point_id", "UNKNOWN_CHECK_POINT") in problems(wrong_point)


def test_evidence_is_named_by_sha256_size_and_content_type() -> None:
    bad = dataclasses.replace(GOOD, attachments=(EvidenceFile("AB" * 32, 0, "pdf"),))
    assert problems(bad) == [
        ("inspection_record.attachments[0].sha256", "SHA256_INVALID"),
        ("inspection_record.attachments[0].size", "VALUE_OUT_OF_RANGE"),
        ("inspection_record.attachments[0].content_type", "FORMAT_INVALID"),
    ]


def test_times_lie_between_the_draw_and_now() -> None:
    early = dataclasses.replace(GOOD, started_at=DRAWN - dt.timedelta(days=1))
    assert problems(early) == [("inspection_record.start_time", "DATE_ORDER")]
    future = dataclasses.replace(GOOD, ended_at=NOW + dt.timedelta(hours=1))
    assert problems(future) == [("inspection_record.end_time", "DATE_IN_FUTURE")]


def test_checklist_rules_and_the_revision_in_force() -> None:
    assert checklist_problems(CHECKLIST) == []
    no_lab = dataclasses.replace(CHECKLIST, laboratory_requirements="")
    assert [(v.field, v.reason) for v in checklist_problems(no_lab)] == [
        ("checklist.laboratory_requirements", "FIELD_REQUIRED")
    ]
    twice = Checklist((CHECKLIST.check_points[0], CHECKLIST.check_points[0]))
    assert [(v.field, v.reason) for v in checklist_problems(twice)] == [
        ("checklist.check_points[1].id", "DUPLICATE_VALUE")
    ]
    later = dataclasses.replace(REVISION, revision=2, effective_from=dt.date(2026, 12, 10))
    other_version = dataclasses.replace(REVISION, revision=3, item_version=2)
    revisions = [REVISION, later, other_version]
    assert in_force(revisions, 1, dt.date(2026, 12, 9)) == REVISION
    assert in_force(revisions, 1, dt.date(2026, 12, 10)) == later
    assert in_force(revisions, 1, dt.date(2026, 11, 30)) is None
    assert in_force(revisions, 2, dt.date(2026, 12, 1)) == other_version


def test_the_canonical_document_round_trips_and_its_hash_covers_the_content() -> None:
    record = InspectionRecord(
        record_id="d-1-1",
        version=1,
        draw_id="d-1",
        position=1,
        credit_code="91130200MA0000000X",
        checklist=ChecklistRef("TS-PQ-01", 1, 1),
        content=GOOD,
        recorded_by="B-1",
        recorded_at=NOW,
    )
    digest = record_hash(record)
    assert record_from_document(record_document(record), digest) == dataclasses.replace(
        record, content_hash=digest
    )
    assert canonical_record(record).startswith(
        b'{"acknowledgement":"acknowledged","assignment":"draws/d-1/assignments/1"'
    )
    changed = dataclasses.replace(record, content=dataclasses.replace(GOOD, place="另一处"))
    assert record_hash(changed) != digest
    assert record_hash(dataclasses.replace(record, content_hash="x")) == digest  # the hash is not hashed
