"""The request text check: control characters and oversize strings are named by field path, others pass."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dualdraw.domain.errors import Violations
from dualdraw.entrypoints.grpc import validation
from dualdraw.entrypoints.grpc.object_fields import parse_chunk
from dualdraw.entrypoints.grpc.validation import MAX_STRING, check_message
from dualdraw.v1 import directory_pb2

BAD = [chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]]


def problems(message: directory_pb2.ImportDirectoryRequest) -> list[tuple[str, str]]:
    v = Violations()
    check_message(message, "", v)
    return [(x.field, x.description) for x in v.items]


@pytest.mark.parametrize("char", BAD)
def test_each_control_character_is_refused_with_its_field_path(char: str) -> None:
    request = directory_pb2.ImportDirectoryRequest(
        objects=[
            directory_pb2.InspectionObject(display_name="fine"),
            directory_pb2.InspectionObject(display_name=f"a{char}b", business_lines=["ok", f"x{char}"]),
        ]
    )
    assert problems(request) == [
        ("objects[1].display_name", "contains control characters"),
        ("objects[1].business_lines[1]", "contains control characters"),
    ]


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=50))
def test_text_passes_exactly_when_it_has_no_control_character_but_tab_and_newlines(text: str) -> None:
    request = directory_pb2.ImportDirectoryRequest(request_id=text)
    expected = [] if not any(c in BAD for c in text) else [("request_id", "contains control characters")]
    assert problems(request) == expected


def test_oversize_strings_are_refused() -> None:
    request = directory_pb2.ImportDirectoryRequest(request_id="x" * (MAX_STRING + 1))
    assert problems(request) == [("request_id", f"is longer than {MAX_STRING} characters")]
    assert problems(directory_pb2.ImportDirectoryRequest(request_id="x" * MAX_STRING)) == []


@pytest.mark.parametrize("char", ["\x00", "\x1f", "\x7f"])
def test_nested_and_repeated_strings_are_checked_in_every_record(char: str) -> None:
    inspector = directory_pb2.Inspector(
        badge_number="B-1",
        specialities=[directory_pb2.Speciality(code="ok"), directory_pb2.Speciality(code=f"se{char}")],
        conflicts=["91130273MA0NEW123C", f"x{char}"],
    )
    request = directory_pb2.ImportDirectoryRequest(
        inspectors=[directory_pb2.Inspector(badge_number="B-0"), inspector],
        complaints=[directory_pb2.Complaint(summary="x" * (MAX_STRING + 1))],
    )
    assert problems(request) == [
        ("inspectors[1].specialities[1].code", "contains control characters"),
        ("inspectors[1].conflicts[1]", "contains control characters"),
        ("complaints[0].summary", f"is longer than {MAX_STRING} characters"),
    ]


texts = st.text(alphabet=st.sampled_from(["a", "é", "\t", "\n", "\r", " ", *BAD]), max_size=6)


@given(st.lists(st.tuples(texts, st.lists(texts, max_size=3), st.lists(texts, max_size=2)), max_size=4))
def test_a_request_passes_exactly_when_no_record_has_a_bad_string(
    records: list[tuple[str, list[str], list[str]]],
) -> None:
    request = directory_pb2.ImportDirectoryRequest(
        inspectors=[
            directory_pb2.Inspector(
                display_name=name,
                conflicts=conflicts,
                specialities=[directory_pb2.Speciality(code=c) for c in codes],
            )
            for name, conflicts, codes in records
        ]
    )
    every_text = [text for name, conflicts, codes in records for text in [name, *conflicts, *codes]]
    bad = any(c in BAD for text in every_text for c in text)
    assert bool(problems(request)) == bad


@given(
    st.lists(
        st.tuples(texts, texts, texts, st.lists(texts, max_size=3), st.sampled_from(["", "一所", "x" * 10])),
        max_size=4,
    ),
    st.booleans(),
    st.booleans(),
)
def test_an_import_s_objects_pass_exactly_when_none_has_a_bad_string_and_are_named_like_any_record(
    records: list[tuple[str, str, str, list[str], str]], too_long: bool, from_wire: bool
) -> None:
    """An import chunk's objects are read once for the check and the conversion (``object_fields``), from
    the message or, as the server parses a chunk, from its bytes (``parse_chunk``): the check finds exactly
    the bad strings, and names them as the record-by-record walk does."""
    objects = [
        directory_pb2.InspectionObject(
            credit_code=code, display_name=name, industry=industry, business_lines=lines, office=office
        )
        for code, name, industry, lines, office in records
    ]
    if too_long and objects:
        objects[-1].region_code = "x" * (MAX_STRING + 1)
    request = directory_pb2.ImportDirectoryRequest(objects=objects)
    if from_wire:
        request = parse_chunk(request.SerializeToString())
    strings = [
        text
        for code, name, industry, lines, office in records
        for text in [code, name, industry, *lines, office]
    ]
    bad = any(c in BAD for text in strings for c in text) or (too_long and bool(objects))
    found = problems(request)
    assert bool(found) == bad
    expected = Violations()
    validation._name_problems(request, "", expected)
    assert found == [(x.field, x.description) for x in expected.items]


def test_import_chunks_are_parsed_with_their_objects_read_from_the_bytes() -> None:
    """The server parses ``ImportDirectory`` chunks with ``parse_chunk``; every other method keeps its own
    deserializer."""
    import grpc

    handlers = {
        validation.IMPORT_DIRECTORY: grpc.stream_unary_rpc_method_handler(
            lambda requests, context: None,
            request_deserializer=directory_pb2.ImportDirectoryRequest.FromString,
        ),
        "/dualdraw.v1.DirectoryService/GetObject": grpc.unary_unary_rpc_method_handler(
            lambda request, context: None, request_deserializer=directory_pb2.GetObjectRequest.FromString
        ),
    }

    class Details(grpc.HandlerCallDetails):
        def __init__(self, method: str) -> None:
            self.method = method

    def deserializer(method: str) -> object:
        handler = validation.RequestValidationInterceptor().intercept_service(
            lambda d: handlers[d.method], Details(method)
        )
        assert handler is not None
        return handler.request_deserializer

    assert deserializer(validation.IMPORT_DIRECTORY) is parse_chunk
    get_object = deserializer("/dualdraw.v1.DirectoryService/GetObject")
    assert get_object == directory_pb2.GetObjectRequest.FromString
