"""Objects from their proto: the quick path for good records and the named problems of bad ones agree."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from dualdraw.domain import model
from dualdraw.domain.errors import Violations
from dualdraw.domain.object_columns import ObjectColumns
from dualdraw.entrypoints.grpc.directory_convert import object_from_pb, well_formed_objects
from dualdraw.v1 import directory_pb2

GOOD = directory_pb2.InspectionObject(
    credit_code=" 91130273ma0new123c ",
    display_name=" 唐山某公司 ",
    region_code="130203",
    registering_department_id="130203-LB",
    industry=" C31 ",
    business_lines=[" metrology", "", "special_equipment", "metrology "],
    risk_class=directory_pb2.RISK_CLASS_B,
    status=directory_pb2.OBJECT_STATUS_ACTIVE,
    office=" 一所 ",
)


def test_a_good_record_is_trimmed_its_code_kept_as_written_and_its_lines_sorted_once() -> None:
    v = Violations()
    assert object_from_pb(GOOD, "objects[0]", v) == model.InspectionObject(
        credit_code=" 91130273ma0new123c ",  # the use case refuses it, naming the canonical spelling
        name="唐山某公司",
        region_code="130203",
        registering_department_id="130203-LB",
        industry="C31",
        business_lines=("metrology", "special_equipment"),
        risk_class=model.RiskClass.B,
        status=model.ObjectStatus.ACTIVE,
        office="一所",
    )
    assert not v


def test_an_object_made_without_init_is_the_dataclass_s_own() -> None:
    """The quick path fills the object's ``__dict__`` instead of calling the frozen ``__init__``: the result
    has every field (none left to a default), compares and hashes like the constructed one, pickles (the
    draw process receives objects) and stays frozen."""
    made = object_from_pb(GOOD, "objects[0]", Violations())
    assert made is not None
    constructed = model.InspectionObject(**{f.name: getattr(made, f.name) for f in dataclasses.fields(made)})
    assert set(vars(made)) == {f.name for f in dataclasses.fields(model.InspectionObject)}
    assert made == constructed
    assert hash(made) == hash(constructed)
    assert repr(made) == repr(constructed)
    assert pickle.loads(pickle.dumps(made)) == constructed
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.name = "changed"  # type: ignore[misc]  # frozen: the assignment is what is tested


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"credit_code": "  "}, [("objects[4].credit_code", "is required")]),
        ({"display_name": ""}, [("objects[4].display_name", "is required")]),
        ({"region_code": ""}, [("objects[4].region_code", "is required")]),
        ({"registering_department_id": ""}, [("objects[4].registering_department_id", "is required")]),
        ({"risk_class": 0}, [("objects[4].risk_class", "must be set to one of the defined values")]),
        ({"status": 9}, [("objects[4].status", "unknown value 9")]),
        (
            {"display_name": "", "status": 0},
            [
                ("objects[4].display_name", "is required"),
                ("objects[4].status", "must be set to one of the defined values"),
            ],
        ),
    ],
)
def test_a_bad_record_names_each_problem(change: dict[str, object], expected: list[tuple[str, str]]) -> None:
    pb = directory_pb2.InspectionObject()
    pb.CopyFrom(GOOD)
    for field, value in change.items():
        setattr(pb, field, value)
    v = Violations()
    assert object_from_pb(pb, "objects[4]", v) is None
    assert [(x.field, x.description) for x in v.items] == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [([], ()), ([" "], ()), ([" metrology "], ("metrology",)), (["b", "a", " b"], ("a", "b"))],
)
def test_business_lines_are_distinct_trimmed_and_sorted(lines: list[str], expected: tuple[str, ...]) -> None:
    pb = directory_pb2.InspectionObject()
    pb.CopyFrom(GOOD)
    del pb.business_lines[:]
    pb.business_lines.extend(lines)
    record = object_from_pb(pb, "objects[0]", Violations())
    assert record is not None
    assert record.business_lines == expected


def test_collecting_objects_keeps_request_positions_across_chunks() -> None:
    """The servicer converts a good chunk column by column and a chunk with a bad record one record at a
    time: the records and the violations are those of ``object_from_pb`` record by record, numbered across
    chunks."""
    from dualdraw.entrypoints.grpc.directory_servicer import INVALID_OBJECT, _collect_objects

    bad_name = directory_pb2.InspectionObject()
    bad_name.CopyFrom(GOOD)
    bad_name.display_name = " "
    bad_status = directory_pb2.InspectionObject()
    bad_status.CopyFrom(GOOD)
    bad_status.status = 9  # type: ignore[assignment]  # an unknown enum value on purpose
    chunks = [[GOOD, GOOD], [GOOD, bad_name, GOOD, bad_status], [GOOD]]
    target = ObjectColumns()
    v = Violations()
    for chunk in chunks:
        _collect_objects(chunk, target, v)
    expected_v = Violations()
    flat = [pb for chunk in chunks for pb in chunk]
    expected = [object_from_pb(pb, f"objects[{i}]", expected_v) for i, pb in enumerate(flat)]
    assert [None if r == INVALID_OBJECT else r for r in target] == expected
    assert v.items == expected_v.items
    assert [item.field for item in v.items] == ["objects[3].display_name", "objects[5].status"]
    good = ObjectColumns()
    _collect_objects([GOOD] * 3, good, Violations())
    assert list(good) == [expected[0]] * 3


def _variant(**change: object) -> directory_pb2.InspectionObject:
    pb = directory_pb2.InspectionObject()
    pb.CopyFrom(GOOD)
    for field, value in change.items():
        if field == "business_lines":
            del pb.business_lines[:]
            pb.business_lines.extend(value)  # type: ignore[call-overload]  # a list of strings
        else:
            setattr(pb, field, value)
    return pb


VARIANTS = [
    GOOD,
    _variant(business_lines=[]),
    _variant(business_lines=[" metrology "]),
    _variant(business_lines=["b", "a", " b", ""]),
    _variant(office="", industry=""),
    _variant(risk_class=directory_pb2.RISK_CLASS_D, status=directory_pb2.OBJECT_STATUS_SUSPENDED),
    _variant(name="\t名称\n", region_code=" 130100 ", registering_department_id=" 130100-SJ "),
]


def test_a_chunk_converted_column_by_column_equals_its_records_converted_one_by_one() -> None:
    columns = ObjectColumns()
    assert well_formed_objects(VARIANTS, columns)
    one_by_one = [object_from_pb(pb, f"objects[{i}]", Violations()) for i, pb in enumerate(VARIANTS)]
    assert list(columns) == one_by_one
    assert [columns[i] for i in range(len(VARIANTS))] == one_by_one
    assert columns == ObjectColumns.of(one_by_one)  # type: ignore[arg-type]  # all converted (asserted above)


@pytest.mark.parametrize(
    "bad",
    [
        _variant(credit_code=" "),
        _variant(display_name=""),
        _variant(region_code=" "),
        _variant(registering_department_id=""),
        _variant(risk_class=0),
        _variant(status=9),
    ],
)
def test_a_chunk_with_one_bad_record_is_not_converted_column_by_column(
    bad: directory_pb2.InspectionObject,
) -> None:
    columns = ObjectColumns()
    assert not well_formed_objects([GOOD, bad, GOOD], columns)
    assert len(columns) == 0


def test_the_fields_read_once_hold_every_string_of_an_object() -> None:
    """The text check reads an import's objects through ``object_fields``: every string field of the message
    must be among them, or a new field would go unchecked."""
    from dualdraw.entrypoints.grpc.object_fields import STRING_FIELDS, object_fields

    descriptor = directory_pb2.InspectionObject.DESCRIPTOR
    strings = {f.name for f in descriptor.fields if f.type == f.TYPE_STRING}
    assert strings == {*STRING_FIELDS, "business_lines"}
    assert not [f for f in descriptor.fields if f.type == f.TYPE_MESSAGE]
    texts = list(object_fields([GOOD, _variant(business_lines=["x"])], keep=False).texts())
    assert sorted(texts) == sorted(
        [*(getattr(GOOD, name) for name in STRING_FIELDS)] * 2 + [*GOOD.business_lines, "x"]
    )


def test_a_chunk_read_by_the_text_check_is_converted_from_the_same_read() -> None:
    from dualdraw.entrypoints.grpc import object_fields as module
    from dualdraw.entrypoints.grpc.validation import check_message

    chunk = directory_pb2.ImportDirectoryRequest(objects=VARIANTS)
    check_message(chunk, "", Violations())
    assert module._last.objects is chunk.objects  # remembered for the conversion
    columns = ObjectColumns()
    assert well_formed_objects(chunk.objects, columns)
    assert module._last.objects is None  # taken: nothing kept after the conversion
    assert list(columns) == [object_from_pb(pb, "objects[0]", Violations()) for pb in VARIANTS]
