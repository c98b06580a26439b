"""Directory filing snapshots (Art. 7): canonical record lines, a digest independent of order, differences."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from typing import Any

import pytest

from dualdraw.domain import model
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.directory_filing import (
    Change,
    ChildStatus,
    DirectoryFiling,
    DirectoryKind,
    FilingState,
    RecordDifference,
    RecordHash,
    child_status,
    differences,
    expert_record,
    inspector_record,
    institution_record,
    object_record,
    record_line,
    snapshot_of,
)
from dualdraw.domain.draw.expert_draw import Expert, Qualification, TestingInstitution
from dualdraw.service_layer.demo_directory import HIGH_TECH_ZONE, LUNAN, demo_directory
from dualdraw.service_layer.demo_experts import demo_experts

OBJECTS, INSPECTORS = DirectoryKind.OBJECTS, DirectoryKind.INSPECTORS
EXPERTS, INSTITUTIONS = DirectoryKind.EXPERTS, DirectoryKind.TESTING_INSTITUTIONS
LUNAN_DIGEST = "d6a54d7c588b82565abc9ed0b90c03af482b4f032e5972d02d019ec9c8ab514f"
"""The digest of Lunan's demo objects and inspectors, as filed before experts joined the snapshot."""


def _lunan() -> tuple[list[model.InspectionObject], list[model.Inspector]]:
    demo = demo_directory()
    objects = [o for o in demo.objects if o.registering_department_id == LUNAN]
    inspectors = [i for i in demo.inspectors if i.department_id == LUNAN]
    return objects, inspectors


def test_record_lines_are_canonical_json() -> None:
    objects, inspectors = _lunan()
    odd = dataclasses.replace(objects[0], name='名\u2028"\\\x01\x7f\U0001f600', office="\t")
    for record in [*map(object_record, [*objects, odd]), *map(inspector_record, inspectors)]:
        assert record_line(record) == canonical_json(record)


def test_the_digest_is_stable_and_does_not_depend_on_order() -> None:
    objects, inspectors = _lunan()
    first = snapshot_of(LUNAN, {OBJECTS: objects, INSPECTORS: inspectors})
    shuffled_objects, shuffled_inspectors = list(objects), list(inspectors)
    random.Random(7).shuffle(shuffled_objects)
    random.Random(8).shuffle(shuffled_inspectors)
    again = snapshot_of(LUNAN, {INSPECTORS: shuffled_inspectors, OBJECTS: reversed(shuffled_objects)})
    assert again == first
    assert [(k.kind, k.count) for k in first.kinds] == [
        ("objects", len(objects)),
        ("inspectors", len(inspectors)),
        ("experts", 0),
        ("testing_institutions", 0),
    ]
    changed = [dataclasses.replace(objects[0], risk_class=model.RiskClass.D), *objects[1:]]
    assert snapshot_of(LUNAN, {OBJECTS: changed, INSPECTORS: inspectors}).digest != first.digest
    assert snapshot_of("other", {OBJECTS: objects, INSPECTORS: inspectors}).digest != first.digest


def test_an_empty_directory_has_a_digest() -> None:
    snapshot = snapshot_of(LUNAN, {})
    assert len(snapshot.digest) == 64
    assert [k.count for k in snapshot.kinds] == [0, 0, 0, 0]


def test_differences_name_added_removed_and_changed_records() -> None:
    before = {"objects": {"A": "1", "B": "2", "C": "3"}, "inspectors": {"X": "9"}}
    after = {"objects": {"B": "2", "C": "4", "D": "5"}, "inspectors": {}}
    assert differences(before, after) == [
        RecordDifference("objects", "A", Change.REMOVED),
        RecordDifference("objects", "C", Change.CHANGED),
        RecordDifference("objects", "D", Change.ADDED),
        RecordDifference("inspectors", "X", Change.REMOVED),
    ]
    assert differences(after, after) == []


def test_child_status() -> None:
    filing = DirectoryFiling(
        "d.1", "d", "p", 1, FilingState.ACKNOWLEDGED, "aa", (), dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "x"
    )
    assert child_status(None, "aa") is ChildStatus.NEVER_FILED
    assert child_status(filing, "aa") is ChildStatus.ACKNOWLEDGED
    assert child_status(filing, "bb") is ChildStatus.STALE
    returned = dataclasses.replace(filing, state=FilingState.RETURNED)
    assert child_status(returned, "bb") is ChildStatus.RETURNED
    assert (
        child_status(dataclasses.replace(filing, state=FilingState.SUBMITTED), "bb") is ChildStatus.SUBMITTED
    )


def test_a_kind_without_records_leaves_the_digest_as_it_was() -> None:
    objects, _ = _lunan()
    assert (
        snapshot_of(LUNAN, {OBJECTS: objects}).digest
        == snapshot_of(LUNAN, {OBJECTS: objects, INSPECTORS: []}).digest
    )
    assert snapshot_of(LUNAN, {OBJECTS: objects}).digest != snapshot_of(LUNAN, {INSPECTORS: []}).digest


def test_a_key_twice_is_refused() -> None:
    objects, _ = _lunan()
    with pytest.raises(ValueError, match="twice"):
        snapshot_of(LUNAN, {OBJECTS: [objects[0], dataclasses.replace(objects[0], name="x")]})


def _high_tech_zone() -> dict[DirectoryKind, list[Any]]:
    demo = demo_directory()
    experts, institutions, _ = demo_experts()
    return {
        OBJECTS: [o for o in demo.objects if o.registering_department_id == HIGH_TECH_ZONE],
        INSPECTORS: [i for i in demo.inspectors if i.department_id == HIGH_TECH_ZONE],
        EXPERTS: list(experts),
        INSTITUTIONS: list(institutions),
    }


def test_a_department_without_experts_files_the_digest_it_filed_before_they_joined() -> None:
    objects, inspectors = _lunan()
    directories: dict[DirectoryKind, list[Any]] = {OBJECTS: objects, INSPECTORS: inspectors}
    assert snapshot_of(LUNAN, directories).digest == LUNAN_DIGEST
    assert snapshot_of(LUNAN, {**directories, EXPERTS: [], INSTITUTIONS: []}).digest == LUNAN_DIGEST


def test_experts_and_institutions_are_filed_by_id() -> None:
    directories = _high_tech_zone()
    snapshot = snapshot_of(HIGH_TECH_ZONE, directories)
    counts = {k.kind: k.count for k in snapshot.kinds}
    assert (counts["experts"], counts["testing_institutions"]) == (6, 2)
    hashes = snapshot.hashes()
    assert sorted(hashes["experts"]) == [f"GXQ-E0{n}" for n in range(1, 7)]
    assert sorted(hashes["testing_institutions"]) == ["GXQ-L01", "GXQ-L02"]
    without = snapshot_of(
        HIGH_TECH_ZONE, {OBJECTS: directories[OBJECTS], INSPECTORS: directories[INSPECTORS]}
    )
    assert without.digest != snapshot.digest
    assert snapshot_of(HIGH_TECH_ZONE, {**directories, INSTITUTIONS: []}).digest not in {
        snapshot.digest, without.digest,
    }  # fmt: skip


def test_expert_records_are_canonical_json_and_independent_of_set_order() -> None:
    experts, institutions, _ = demo_experts()
    for record in [*map(expert_record, experts), *map(institution_record, institutions)]:
        assert record_line(record) == canonical_json(record)
    two = Expert(
        "E1", "甲", "d", (Qualification("b", None), Qualification("a", dt.date(2030, 1, 1))),
        conflicts=frozenset({"Y", "X"}),
    )  # fmt: skip
    swapped = dataclasses.replace(two, qualifications=two.qualifications[::-1])
    assert record_line(expert_record(two)) == record_line(expert_record(swapped))
    assert expert_record(two) == {
        "conflicts": ["X", "Y"],
        "department_id": "d",
        "display_name": "甲",
        "employer_credit_code": "",
        "id": "E1",
        "qualifications": [{"code": "a", "expires_on": "2030-01-01"}, {"code": "b", "expires_on": None}],
    }
    lab = TestingInstitution("L1", "所", "d", "CODE", (Qualification("a", None),))
    assert institution_record(lab) == {
        "conflicts": [],
        "credit_code": "CODE",
        "department_id": "d",
        "display_name": "所",
        "id": "L1",
        "qualifications": [{"code": "a", "expires_on": None}],
    }


def test_a_changed_certificate_and_added_and_removed_experts_are_differences() -> None:
    directories = _high_tech_zone()
    experts = directories[EXPERTS]
    before = snapshot_of(HIGH_TECH_ZONE, directories)
    first = experts[0]
    assert isinstance(first, Expert)
    renewed = dataclasses.replace(first, qualifications=(Qualification(first.qualifications[0].code, None),))
    newcomer = dataclasses.replace(first, id="GXQ-E99", display_name="新专家")
    after = snapshot_of(
        HIGH_TECH_ZONE,
        {
            **directories,
            EXPERTS: [renewed, *experts[2:], newcomer],
            INSTITUTIONS: directories[INSTITUTIONS][:1],
        },
    )
    assert after.digest != before.digest
    assert differences(before.hashes(), after.hashes()) == [
        RecordDifference("experts", "GXQ-E01", Change.CHANGED),
        RecordDifference("experts", "GXQ-E02", Change.REMOVED),
        RecordDifference("experts", "GXQ-E99", Change.ADDED),
        RecordDifference("testing_institutions", "GXQ-L02", Change.REMOVED),
    ]


def test_differences_list_kinds_in_directory_order() -> None:
    before: dict[str, dict[str, str]] = {}
    after = {"testing_institutions": {"L": "1"}, "experts": {"E": "1"}, "inspectors": {"I": "1"}}
    assert [d.kind for d in differences(before, after)] == ["inspectors", "experts", "testing_institutions"]


def test_a_key_with_a_tab_survives_its_stored_line() -> None:
    record = RecordHash("experts", "E\t1", "ab" * 32)
    assert RecordHash.from_line(record.line()) == record
