"""Directory filing snapshots (Art. 7): canonical record lines, a digest independent of order, differences."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

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
    child_status,
    differences,
    inspector_record,
    object_record,
    record_line,
    snapshot_of,
)
from dualdraw.service_layer.demo_directory import LUNAN, demo_directory

OBJECTS, INSPECTORS = DirectoryKind.OBJECTS, DirectoryKind.INSPECTORS


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
    ]
    changed = [dataclasses.replace(objects[0], risk_class=model.RiskClass.D), *objects[1:]]
    assert snapshot_of(LUNAN, {OBJECTS: changed, INSPECTORS: inspectors}).digest != first.digest
    assert snapshot_of("other", {OBJECTS: objects, INSPECTORS: inspectors}).digest != first.digest


def test_an_empty_directory_has_a_digest() -> None:
    snapshot = snapshot_of(LUNAN, {})
    assert len(snapshot.digest) == 64
    assert [k.count for k in snapshot.kinds] == [0, 0]


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
