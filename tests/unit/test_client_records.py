"""Directory files -> records -> ImportDirectoryRequest chunks, and the file:line errors on bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from google.protobuf.message import Message
from hypothesis import given, settings
from hypothesis import strategies as st

from dualdraw.v1 import directory_pb2
from dualdraw_client.dates import date_text
from dualdraw_client.records import (
    KINDS,
    Origin,
    RecordError,
    SourceMap,
    chunk_records,
    kind_of,
    normalize_kind,
    parse_record,
    read_csv,
    read_file,
    read_files,
    read_jsonl,
)

OBJECTS_CSV = (
    "\ufeffcredit_code,name,region_code,registering_department_id,industry,business_lines,risk_class,status,office\n"
    "91130200MA00000001,唐山钢铁有限公司,130203,130203-GXQ,C13,"
    "special_equipment; product_quality,C,active,第一所\n"
    '91130200MA00000002,"Tangshan Boiler Co., Ltd.",130203,130203-GXQ,C14,special_equipment,'
    "RISK_CLASS_A,OBJECT_STATUS_SUSPENDED,\n"
    "\n"
    '91130200MA00000003,"多行\n名称",130204,130204-FN,,,,,\n'
)

INSPECTORS_CSV = """badge_number,name,department_id,office,specialities,available,conflicts
B001,张三,130203-GXQ,第一所,SE:2026-12-31;PQ,yes,91130200MA00000001;91130200MA00000002
B002,Li Si,130203-GXQ,第二所,SE,false,
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_objects_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "objects.csv", OBJECTS_CSV)
    sourced = list(read_csv(path, "objects"))
    assert [s.origin.line for s in sourced] == [2, 3, 5]
    first, second, third = (s.record for s in sourced)
    assert isinstance(first, directory_pb2.InspectionObject)
    assert list(first.business_lines) == ["special_equipment", "product_quality"]
    assert first.risk_class == directory_pb2.RISK_CLASS_C
    assert first.status == directory_pb2.OBJECT_STATUS_ACTIVE
    assert first.office == "第一所"
    assert second.display_name == "Tangshan Boiler Co., Ltd."  # a "name" column, as files had it
    assert second.risk_class == directory_pb2.RISK_CLASS_A
    assert second.status == directory_pb2.OBJECT_STATUS_SUSPENDED
    assert third.display_name == "多行\n名称"
    assert not third.name  # the resource name is the server's
    assert third.risk_class == directory_pb2.RISK_CLASS_UNSPECIFIED


def test_inspectors_csv_specialities_and_lists(tmp_path: Path) -> None:
    path = write(tmp_path, "inspectors.csv", INSPECTORS_CSV)
    first, second = (s.record for s in read_file(path))  # kind from the file name
    assert isinstance(first, directory_pb2.Inspector)
    assert isinstance(second, directory_pb2.Inspector)
    assert [(s.code, date_text(s.certificate_expires_on)) for s in first.specialities] == [
        ("SE", "2026-12-31"),
        ("PQ", ""),
    ]
    assert first.available is True
    assert list(first.conflicts) == ["91130200MA00000001", "91130200MA00000002"]
    assert second.available is False
    assert list(second.conflicts) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "id,credit_code,received_on\nc-1,X,2025-01-01\nc-2,Y,2025/01/02\n",
            "complaints.csv:3: received_on: expected a date",
        ),
        ("id,credit_code,status\nc-1,X,open\n", "complaints.csv:2: status: unknown ComplaintStatus 'open'"),
        ("id,credit_code,colour\n", "complaints.csv:1: colour: unknown column for complaints"),
        ("id,id\n", "complaints.csv:1: id: column given twice"),
        ("id,credit_code\nc-1,X,extra\n", "complaints.csv:2: 3 cells but the header names 2 columns"),
    ],
)
def test_csv_errors_name_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "complaints.csv", text)
    with pytest.raises(RecordError) as caught:
        list(read_file(path))
    assert str(caught.value).startswith(str(tmp_path / message))


def test_csv_enum_and_bool_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "deps.csv", "id,level\n13,province\n14,2\n")
    assert [r.record.level for r in read_file(path, "departments")] == [
        directory_pb2.DEPARTMENT_LEVEL_PROVINCE,
        directory_pb2.DEPARTMENT_LEVEL_CITY,
    ]
    path = write(tmp_path, "deps.csv", "id,level\n13,county\n")
    with pytest.raises(RecordError, match=r"deps\.csv:2: level: unknown DepartmentLevel 'county'"):
        list(read_file(path, "departments"))
    path = write(tmp_path, "inspectors.csv", "badge_number,available\nB1,maybe\n")
    with pytest.raises(RecordError, match=r"inspectors\.csv:2: available: expected true or false"):
        list(read_file(path))


def test_csv_kind_must_be_known(tmp_path: Path) -> None:
    path = write(tmp_path, "export-2025.csv", "id\n1\n")
    with pytest.raises(RecordError, match="cannot tell the kind"):
        list(read_file(path))
    assert [s.kind for s in read_file(path, "department")] == ["departments"]


def test_the_human_name_is_display_name_or_name_but_not_both(tmp_path: Path) -> None:
    path = write(tmp_path, "inspectors.csv", "badge_number,display_name\nB1,张三\n")
    (sourced,) = read_file(path)
    assert (sourced.record.display_name, sourced.record.name) == ("张三", "")
    path = write(tmp_path, "inspectors.csv", "badge_number,display_name,name\nB1,张三,李四\n")
    with pytest.raises(RecordError, match=r"inspectors.csv:2: name: give the human name once"):
        list(read_file(path))


def test_csv_unnamed_trailing_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "departments.csv", "id,name,,\n13,河北,,\n")
    (sourced,) = read_file(path)
    assert sourced.record.display_name == "河北"
    path = write(tmp_path, "departments.csv", "id,name,\n13,河北,oops\n")
    with pytest.raises(RecordError, match="no header"):
        list(read_file(path))


JSONL_RECORDS: list[dict[str, object]] = [
    {"kind": "department", "id": "13", "name": "河北省市场监督管理局", "level": 1},
    {
        "kind": "object",
        "credit_code": "91130200MA00000001",
        "risk_class": "C",
        "status": "OBJECT_STATUS_ACTIVE",
        "business_lines": ["special_equipment"],
    },
    {
        "kind": "inspector",
        "badge_number": "B001",
        "available": True,
        "specialities": [{"code": "SE", "certificate_expires_on": "2026-12-31"}, "PQ:2027-01-01"],
        "conflicts": "X;Y",
    },
    {
        "kind": "risk_assessment",
        "id": "ra-1",
        "credit_code": "X",
        "conclusion": "unsuitable",
        "valid_until": None,
    },
    {"kind": "statutory_designation", "id": "sd-1", "valid_from": "2025-01-01"},
]
_lines = [json.dumps(record, ensure_ascii=False) for record in JSONL_RECORDS]
JSONL = "\n".join([*_lines[:2], "", *_lines[2:]]) + "\n"  # a blank third line is skipped


def test_jsonl_mixed_kinds(tmp_path: Path) -> None:
    path = write(tmp_path, "directory.jsonl", JSONL)
    sourced = list(read_file(path))
    assert [(s.kind, s.origin.line) for s in sourced] == [
        ("departments", 1),
        ("objects", 2),
        ("inspectors", 4),
        ("risk_assessments", 5),
        ("statutory_designations", 6),
    ]
    department, obj, inspector, assessment, designation = (s.record for s in sourced)
    assert department.level == 1
    assert obj.risk_class == directory_pb2.RISK_CLASS_C
    assert obj.status == directory_pb2.OBJECT_STATUS_ACTIVE
    assert [(s.code, date_text(s.certificate_expires_on)) for s in inspector.specialities] == [
        ("SE", "2026-12-31"),
        ("PQ", "2027-01-01"),
    ]
    assert list(inspector.conflicts) == ["X", "Y"]
    assert assessment.conclusion == directory_pb2.RISK_CONCLUSION_UNSUITABLE
    assert not assessment.HasField("valid_until")
    assert date_text(designation.valid_from) == "2025-01-01"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"kind": "object", "credit_code": 91130200}', "data.jsonl:2: credit_code: expected a string"),
        (
            '{"kind": "object", "risk_class": "E"}',
            "data.jsonl:2: risk_class: unknown RiskClass 'E'; expected one of A, B, C, D",
        ),
        ('{"kind": "object", "colour": "red"}', "data.jsonl:2: colour: unknown field for InspectionObject"),
        ('{"kind": "enterprise"}', "data.jsonl:2: kind: unknown kind 'enterprise'"),
        ('{"credit_code": "X"}', 'data.jsonl:2: kind: missing "kind"'),
        ('{"kind": "object", "credit_code": "X"', "data.jsonl:2: invalid JSON"),
        ('["object"]', "data.jsonl:2: expected a JSON object"),
        (
            json.dumps(
                {"kind": "inspector", "specialities": [{"code": "SE", "certificate_expires_on": "31.12.26"}]}
            ),
            "data.jsonl:2: specialities[0].certificate_expires_on: expected a date",
        ),
        (
            '{"kind": "inspector", "specialities": [":2026-01-01"]}',
            "data.jsonl:2: specialities[0]: expected code or code:YYYY-MM-DD",
        ),
    ],
)
def test_jsonl_errors_name_file_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, "data.jsonl", '{"kind": "department", "id": "13"}\n' + line + "\n")
    with pytest.raises(RecordError) as caught:
        list(read_file(path))
    assert str(caught.value).startswith(str(tmp_path / message))
    assert caught.value.line == 2


def test_jsonl_kind_must_match_the_asked_kind(tmp_path: Path) -> None:
    path = write(tmp_path, "data.jsonl", '{"kind": "department", "id": "13"}\n')
    with pytest.raises(RecordError, match=r"data\.jsonl:1: kind: is departments, but the kind objects"):
        list(read_file(path, "objects"))


def test_readers_accept_open_files() -> None:
    (sourced,) = read_jsonl(io.StringIO('{"kind": "campaign", "id": "cp-1"}\n'), name="stdin")
    assert sourced.origin == Origin("stdin", 1)
    (sourced,) = read_csv(io.StringIO("id,name\ncp-1,专项\n"), "campaign", name="<pipe>")
    assert (sourced.kind, sourced.origin) == ("campaigns", Origin("<pipe>", 2))


def test_files_to_chunks_with_source_map(tmp_path: Path) -> None:
    objects = write(tmp_path, "objects.csv", OBJECTS_CSV)
    jsonl = write(tmp_path, "more.jsonl", JSONL)
    source_map = SourceMap()
    chunks = list(chunk_records(read_files([objects, jsonl], source_map=source_map), max_records=3))
    assert [sum(len(getattr(c, k)) for k in KINDS) for c in chunks] == [3, 3, 2]
    assert [o.credit_code for c in chunks for o in c.objects][-1] == "91130200MA00000001"
    assert sum(len(c.objects) for c in chunks) == 4
    assert all(c.request_id == "" for c in chunks)
    assert source_map.locate("objects[3].credit_code") == (Origin(str(jsonl), 2), "credit_code")
    assert source_map.locate("objects[0]") == (Origin(str(objects), 2), "")
    assert source_map.locate("objects[9].name") is None
    assert source_map.locate("task.ratio") is None


def test_parse_record_and_kinds() -> None:
    record = parse_record("object", {"credit_code": "X", "risk_class": "b"})
    assert record.risk_class == directory_pb2.RISK_CLASS_B
    with pytest.raises(ValueError, match="risk_class: unknown RiskClass"):
        parse_record("objects", {"risk_class": "Z"})
    assert normalize_kind("Risk-Assessment") == "risk_assessments"
    with pytest.raises(ValueError, match="unknown kind"):
        normalize_kind("enterprises")


def _chunks_one_by_one(
    records: list[Message], max_bytes: int, max_records: int
) -> list[directory_pb2.ImportDirectoryRequest]:
    """The chunking rule record by record: a record goes into the current chunk unless that would pass
    ``max_bytes`` or ``max_records`` (a record alone in its chunk always goes in)."""
    chunks, chunk, size = [], directory_pb2.ImportDirectoryRequest(), 0
    for record in records:
        added = directory_pb2.ImportDirectoryRequest(**{kind_of(record): [record]}).ByteSize()
        count = sum(len(getattr(chunk, kind)) for kind in KINDS)
        if count and (size + added > max_bytes or count >= max_records):
            chunks.append(chunk)
            chunk, size = directory_pb2.ImportDirectoryRequest(), 0
        getattr(chunk, kind_of(record)).append(record)
        size += added
    return [*chunks, chunk] if size else chunks


_RECORD = st.one_of(
    st.text(max_size=300).map(lambda name: directory_pb2.Department(id="D", display_name=name)),
    st.text(max_size=3000).map(
        lambda name: directory_pb2.InspectionObject(credit_code="C", display_name=name)
    ),
    st.text(max_size=40).map(lambda summary: directory_pb2.Complaint(id="K", summary=summary)),
)


@settings(max_examples=200, deadline=None)
@given(
    records=st.lists(_RECORD, max_size=60),
    max_bytes=st.integers(min_value=1, max_value=5000),
    max_records=st.integers(min_value=1, max_value=12),
)
def test_chunks_are_cut_as_record_by_record_chunking_cuts_them(
    records: list[Message], max_bytes: int, max_records: int
) -> None:
    chunks = list(chunk_records(iter(records), max_bytes=max_bytes, max_records=max_records))
    assert chunks == _chunks_one_by_one(records, max_bytes, max_records)
    for chunk in chunks:
        count = sum(len(getattr(chunk, kind)) for kind in KINDS)
        assert count <= max_records
        assert count == 1 or chunk.ByteSize() <= max_bytes
