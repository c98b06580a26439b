"""An import chunk's objects read from its wire bytes (``object_wire``) are the values protobuf's accessors
give, with the text check's facts; bytes it does not expect leave the reading to the parsed message."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from dualdraw.entrypoints.grpc import object_fields as module
from dualdraw.entrypoints.grpc.object_fields import ObjectFields, object_fields, parse_chunk
from dualdraw.entrypoints.grpc.object_wire import read_objects
from dualdraw.v1 import directory_pb2

CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
INT32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
_texts = st.one_of(st.text(max_size=30), st.sampled_from(["", "130203", "一所", " 唐山 ", "a\tb\n"]))

_objects = st.builds(
    directory_pb2.InspectionObject,
    name=_texts,
    credit_code=_texts,
    display_name=_texts,
    region_code=_texts,
    registering_department_id=_texts,
    industry=_texts,
    business_lines=st.lists(_texts, max_size=3),
    risk_class=INT32,
    status=INT32,
    office=_texts,
)
_others = st.one_of(
    st.builds(directory_pb2.Department, id=_texts, display_name=_texts),
    st.builds(directory_pb2.Complaint, id=_texts, summary=_texts),
)


def _accessor_read(chunk: directory_pb2.ImportDirectoryRequest) -> tuple[object, ...]:
    fields = object_fields(chunk.objects, keep=False)
    assert fields.longest is None  # read from the message: the reference
    return _columns(fields)


def _columns(fields: ObjectFields) -> tuple[object, ...]:
    return (
        fields.credit_codes,
        fields.names,
        fields.region_codes,
        fields.registering_department_ids,
        fields.industries,
        fields.offices,
        fields.resource_names,
        fields.business_lines,
        fields.risk_classes,
        fields.statuses,
    )


def _wire_read(data: bytes) -> tuple[object, ...]:
    read = read_objects(data)
    assert read is not None
    return read[:10]


@settings(max_examples=300, deadline=None)
@given(objects=st.lists(_objects, max_size=8), others=st.lists(_others, max_size=3), last=st.booleans())
def test_the_wire_read_gives_what_the_accessors_give_with_the_text_check_s_facts(
    objects: list[directory_pb2.InspectionObject], others: list[directory_pb2.Department], last: bool
) -> None:
    chunk = directory_pb2.ImportDirectoryRequest(request_id="r", objects=objects, last_chunk=last)
    for record in others:
        getattr(
            chunk, "departments" if isinstance(record, directory_pb2.Department) else "complaints"
        ).append(record)
    data = chunk.SerializeToString()
    read = read_objects(data)
    assert read is not None
    assert read[:10] == _accessor_read(directory_pb2.ImportDirectoryRequest.FromString(data))
    strings = [s for column in read[:7] for s in column] + [s for lines in read[7] for s in lines]
    assert read[10] == max(map(len, strings), default=0)
    assert read[11] == any(CONTROL.search(s) for s in strings)


def _field(number: int, wire_type: int, payload: bytes) -> bytes:
    return _varint(number << 3 | wire_type) + payload


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append(n & 0x7F | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _field(number, 2, _varint(len(payload)) + payload)


def _chunk_of(*objects: bytes) -> bytes:
    return b"".join(_length_delimited(2, o) for o in objects)


def test_fields_sent_twice_unknown_fields_and_negative_enums_read_as_protobuf_reads_them() -> None:
    first = directory_pb2.InspectionObject(
        credit_code="A", business_lines=["x"], risk_class=2
    ).SerializeToString()
    second = directory_pb2.InspectionObject(credit_code="B", business_lines=["y"]).SerializeToString()
    unknown = (
        _field(20, 0, _varint(300))
        + _field(21, 1, b"\x01" * 8)
        + _length_delimited(22, "未知".encode())
        + _field(23, 5, b"\x02" * 4)
    )
    negative = _field(7, 0, _varint(2**64 - 1)) + _field(8, 0, _varint(2**64 - 5))
    data = _chunk_of(first + unknown + second, negative, b"") + _length_delimited(1, b"")  # a department
    parsed = directory_pb2.ImportDirectoryRequest.FromString(data)
    assert [o.credit_code for o in parsed.objects] == ["B", "", ""]
    assert list(parsed.objects[0].business_lines) == ["x", "y"]
    assert (parsed.objects[1].risk_class, parsed.objects[1].status) == (-1, -5)
    assert _wire_read(data) == _accessor_read(parsed)


def test_bytes_the_reader_does_not_expect_are_read_from_the_parsed_message() -> None:
    object_ = directory_pb2.InspectionObject(credit_code="A", display_name="x").SerializeToString()
    wrong_wire_type = _chunk_of(object_ + _field(3, 0, _varint(7)))  # region_code as a varint
    group = _chunk_of(object_ + _field(20, 3, b"") + _field(20, 4, b""))
    for data in (wrong_wire_type, group):
        assert read_objects(data) is None
        chunk = parse_chunk(data)  # protobuf accepts both: the unexpected field is kept as unknown
        fields = object_fields(chunk.objects, keep=False)
        assert fields.longest is None
        assert fields.credit_codes == ("A",)
    for cut in (_chunk_of(object_)[:-1], b"\x12\x05ab", b"\xff"):
        assert read_objects(cut) is None


def test_a_parsed_chunk_leaves_its_wire_read_for_the_first_reader_only() -> None:
    objects = [directory_pb2.InspectionObject(credit_code=f"C{n}", display_name="名\x01") for n in range(3)]
    chunk = parse_chunk(directory_pb2.ImportDirectoryRequest(objects=objects).SerializeToString())
    fields = object_fields(chunk.objects, keep=False)
    assert fields.credit_codes == ("C0", "C1", "C2")
    assert (fields.longest, fields.control_characters) == (2, True)
    assert object_fields(chunk.objects, keep=False).longest is None  # taken: read from the message again


def test_at_most_a_bounded_number_of_wire_reads_wait_for_a_reader() -> None:
    data = directory_pb2.ImportDirectoryRequest(
        objects=[directory_pb2.InspectionObject()]
    ).SerializeToString()
    chunks = [parse_chunk(data) for _ in range(module._FromWire.LIMIT + 5)]
    assert len(module._from_wire._waiting) == module._FromWire.LIMIT
    assert object_fields(chunks[0].objects, keep=False).longest is None  # pushed out by later chunks
    assert object_fields(chunks[-1].objects, keep=False).longest == 0
    for chunk in chunks:
        module._from_wire.take(chunk.objects)
    assert not module._from_wire._waiting
