"""Objects held column by column behave as the list of the same objects."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dualdraw.adapters.store.object_profiles import ProfileKeys, profile_key
from dualdraw.adapters.store.rows import (
    ColumnRows,
    dump_string_lists,
    dump_strings,
    object_row,
    object_rows,
)
from dualdraw.domain import model
from dualdraw.domain.object_columns import ObjectColumns


def obj(n: int, **change: object) -> model.InspectionObject:
    fields: dict[str, object] = {
        "credit_code": f"CODE{n:04d}",
        "name": f"某公司{n}",
        "region_code": "130203",
        "registering_department_id": "130203-LB",
        "industry": "C31",
        "business_lines": ("metrology", "special_equipment"),
        "risk_class": model.RiskClass.B,
        "status": model.ObjectStatus.ACTIVE,
        "office": "一所",
    }
    return model.InspectionObject(**{**fields, **change})  # type: ignore[arg-type]  # test data


OBJECTS = [
    obj(1),
    obj(2, business_lines=(), office="", risk_class=model.RiskClass.D),
    obj(3, region_code="130100", registering_department_id="130100-SJ", status=model.ObjectStatus.SUSPENDED),
]


def test_columns_are_a_sequence_of_the_same_objects() -> None:
    columns = ObjectColumns.of(OBJECTS)
    assert len(columns) == 3
    assert list(columns) == OBJECTS
    assert [columns[i] for i in range(3)] == OBJECTS
    assert columns[-1] == OBJECTS[-1]
    assert columns[1:] == OBJECTS[1:]
    assert OBJECTS[0] in columns
    with pytest.raises(IndexError):
        columns[3]
    assert columns.credit_codes == ["CODE0001", "CODE0002", "CODE0003"]
    assert columns.placements() == {("130203", "130203-LB"), ("130100", "130100-SJ")}
    assert columns == ObjectColumns.of(OBJECTS)
    assert columns != ObjectColumns.of(OBJECTS[:2])


def test_repeated_values_are_stored_once() -> None:
    columns = ObjectColumns.of([obj(1), obj(2)])
    region = "".join(["1302", "03"])  # an equal string, not the same object
    columns.append(obj(3, region_code=region))
    assert columns.region_codes[2] is columns.region_codes[0]
    assert columns.business_lines[1] is columns.business_lines[0]


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        ObjectColumns().extend_columns(["a"], [], [], [], [], [], [], [], [])


def test_the_rows_of_columns_are_the_rows_of_the_objects() -> None:
    objects = [*OBJECTS, obj(4)]  # the fourth has the first's attributes
    by_columns, by_objects = ProfileKeys(), ProfileKeys()
    rows = object_rows(ObjectColumns.of(objects), by_columns)
    assert list(rows) == [object_row(o, by_objects) for o in objects]
    assert list(rows) == list(rows)  # made afresh at each reading
    assert len(rows) == len(objects)
    assert rows[1] == object_row(objects[1], by_objects)
    assert rows[1:3] == [object_row(o, by_objects) for o in objects[1:3]]
    assert by_columns == by_objects
    assert len(by_columns) == 3


def test_rows_of_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        ColumnRows((["a", "b"], ["x"]))


@given(st.lists(st.lists(st.text(max_size=6), max_size=3), max_size=4))
def test_string_lists_dumped_together_are_each_dumped(lists: list[list[str]]) -> None:
    """The joined arrays of ``dump_string_lists`` are ``dump_strings``' own, escapes or not."""
    assert dump_string_lists(lists) == [dump_strings(values) for values in lists]


@given(st.lists(st.text(max_size=8), min_size=7, max_size=7))
def test_a_profile_key_is_the_hash_of_its_values_each_after_its_length(values: list[str]) -> None:
    """As ``profile_key`` states it (stored keys depend on it): the first 128 bits of SHA-256, in hex, over
    each value preceded by its length in code points and a colon."""
    text = "".join(str(len(value)) + ":" + value for value in values)
    expected = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    assert profile_key(tuple(values)) == expected
    assert profile_key(("130203", "130203-GXQ", "C13", "[]", "A", "active", "")) == (
        "5ad44486b538823bcdc374e18a09cd2e"
    )
