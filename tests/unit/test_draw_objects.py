"""A draw's in-scope objects held as two columns (``model.DrawObjects``) read as the list of
``DrawObject`` pairs they replace."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dualdraw.domain.model import (
    DrawObject,
    DrawObjects,
    InspectionObject,
    ObjectProfile,
    ObjectStatus,
    RiskClass,
    attribute_column,
    credit_codes,
)

PROFILES = [
    ObjectProfile("130102", "130102-FJ", "C31", ("metrology",), RiskClass.A, ObjectStatus.ACTIVE, "所0"),
    ObjectProfile("130103", "130103-FJ", "F52", (), RiskClass.D, ObjectStatus.SUSPENDED, "所1"),
]


def objects_of(pairs: list[tuple[str, int]]) -> tuple[DrawObjects, list[DrawObject]]:
    listed = [DrawObject(code, PROFILES[p]) for code, p in pairs]
    return DrawObjects([o.credit_code for o in listed], [o.profile for o in listed]), listed


PAIRS = st.lists(st.tuples(st.text(min_size=1, max_size=4), st.sampled_from([0, 1])), max_size=30)


@given(PAIRS, st.integers(-40, 40), st.integers(-40, 40))
def test_columns_read_as_the_list(pairs: list[tuple[str, int]], start: int, stop: int) -> None:
    objects, listed = objects_of(pairs)
    assert len(objects) == len(listed)
    assert list(objects) == listed
    assert objects == listed
    assert objects[start:stop] == listed[start:stop]
    assert isinstance(objects[start:stop], DrawObjects)
    for i in range(-len(listed), len(listed)):
        assert objects[i] == listed[i]
        assert objects[i].risk_class is listed[i].profile.risk_class
        assert objects[i].office == listed[i].profile.office


@given(PAIRS, st.data())
def test_where_pop_and_clear(pairs: list[tuple[str, int]], data: st.DataObject) -> None:
    objects, listed = objects_of(pairs)
    keep = data.draw(st.lists(st.booleans(), min_size=len(listed), max_size=len(listed)))
    assert objects.where(keep) == [o for o, kept in zip(listed, keep, strict=True) if kept]
    if listed:
        assert objects.pop() == listed.pop()
        assert objects == listed
    objects.clear()
    assert len(objects) == 0
    assert objects.codes == []
    assert objects.profiles == []


@given(PAIRS, st.data())
def test_objects_are_numbered_by_profile_through_filters_and_changes(
    pairs: list[tuple[str, int]], data: st.DataObject
) -> None:
    """``numbered``: each object's profile is ``profiles[number]``, the profiles distinct (by identity) in
    order of first occurrence; kept through ``where`` and made again once the columns change."""
    objects, listed = objects_of(pairs)

    def holds(found: DrawObjects, *, filtered: bool = False) -> None:
        profiles, numbers = found.numbered()
        assert [profiles[n] for n in numbers.tolist()] == found.profiles
        assert len({id(p) for p in profiles}) == len(profiles)
        if not filtered:  # a filter's objects keep the numbers they had: their profiles, and maybe others
            assert [id(p) for p in profiles] == list(dict.fromkeys(map(id, found.profiles)))

    holds(objects)
    keep = data.draw(st.lists(st.booleans(), min_size=len(listed), max_size=len(listed)))
    kept = objects.where(keep)
    holds(kept, filtered=True)
    kept.append(DrawObject("new", PROFILES[1]))
    holds(kept)
    if listed:
        objects.pop()
        holds(objects)


def test_columns_of_unequal_length_are_refused() -> None:
    with pytest.raises(ValueError, match="2 credit codes for 1 profiles"):
        DrawObjects(["a", "b"], [PROFILES[0]])


def test_a_draw_object_reads_its_attributes_from_its_profile() -> None:
    o = DrawObject("91130102MA0000000X", PROFILES[1])
    assert (o.region_code, o.registering_department_id, o.industry, o.business_lines) == (
        "130103",
        "130103-FJ",
        "F52",
        (),
    )
    assert (o.risk_class, o.status, o.office) == (RiskClass.D, ObjectStatus.SUSPENDED, "所1")
    assert ObjectProfile.of(o) == PROFILES[1]
    listed = InspectionObject(o.credit_code, "name", *PROFILES[0][:-1], office=PROFILES[0].office)
    assert ObjectProfile.of(listed) == PROFILES[0]


ATTRIBUTES = ["credit_code", "region_code", "registering_department_id", "risk_class", "status", "office"]


@given(PAIRS)
def test_an_attribute_column_is_each_objects_attribute(pairs: list[tuple[str, int]]) -> None:
    objects, listed = objects_of(pairs)
    for attribute in ATTRIBUTES:
        column = attribute_column(objects, attribute)
        assert column == [getattr(o, attribute) for o in listed]
        assert attribute_column(listed, attribute) == column
        column.append("new")  # a new list each time: the objects' own columns are untouched
        assert len(objects) == len(listed)


def test_an_attribute_column_of_other_objects_reads_each_object() -> None:
    o = InspectionObject(
        "91130102MA0000000X", "n", "130102", "d", "C31", (), RiskClass.B, ObjectStatus.ACTIVE
    )
    assert attribute_column([o, o], "risk_class") == [RiskClass.B, RiskClass.B]


@given(PAIRS)
def test_credit_codes_are_the_column_of_draw_objects_and_a_list_of_others(
    pairs: list[tuple[str, int]],
) -> None:
    objects, listed = objects_of(pairs)
    assert credit_codes(objects) is objects.codes  # not copied
    assert credit_codes(listed) == [o.credit_code for o in listed] == objects.codes
