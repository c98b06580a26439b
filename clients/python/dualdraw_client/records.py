"""Reading directory files (CSV, JSON Lines) into ``ImportDirectoryRequest`` chunks.

CSV: one kind per file (``departments``, ``objects``, ``inspectors``, ``complaints``, ``campaigns``,
``risk_assessments``, ``statutory_designations``), a header row of proto field names, UTF-8 (a BOM is
fine); the record's human name may be headed ``display_name`` or, as in files written before resource
names, ``name`` (the resource name, ``objects/{credit_code}``..., is the server's). Repeated fields
(``business_lines``, ``conflicts``, ``industries``...) are ``;``-separated; inspector ``specialities`` are
``code:YYYY-MM-DD;code2`` (no date: no expiry). Enums are given by their full name (``RISK_CLASS_C``) or
its suffix (``C``, case-insensitive); bools as true/false, yes/no, 1/0.
An empty cell leaves the field at its proto default.

JSON Lines: one object per line with a ``"kind"`` key naming the kind in the singular (``"object"``,
``"risk_assessment"``...); the other keys are proto field names. Lists are JSON arrays (a ``;``-separated
string is accepted too); a speciality is ``{"code": ..., "certificate_expires_on": ...}`` or ``"code:date"``.

Every problem raises :class:`RecordError` naming ``file:line`` and the field.
"""

from __future__ import annotations

import csv
import datetime
import json
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import accumulate, islice
from operator import methodcaller
from pathlib import Path
from typing import IO, TypeAlias, cast

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from google.type import date_pb2

from dualdraw.v1 import directory_pb2

__all__ = [
    "DEFAULT_MAX_CHUNK_BYTES",
    "DEFAULT_MAX_CHUNK_RECORDS",
    "KINDS",
    "DirectoryRecord",
    "Origin",
    "RecordError",
    "SourceMap",
    "SourcedRecord",
    "chunk_records",
    "kind_of",
    "normalize_kind",
    "parse_record",
    "read_csv",
    "read_file",
    "read_files",
    "read_jsonl",
]

DirectoryRecord: TypeAlias = (
    directory_pb2.Department
    | directory_pb2.InspectionObject
    | directory_pb2.Inspector
    | directory_pb2.Complaint
    | directory_pb2.Campaign
    | directory_pb2.RiskAssessment
    | directory_pb2.StatutoryDesignation
)
"""A message that can be imported: one of the seven repeated fields of ``ImportDirectoryRequest``."""

_MESSAGE_CLASSES: dict[str, type[DirectoryRecord]] = {
    "departments": directory_pb2.Department,
    "objects": directory_pb2.InspectionObject,
    "inspectors": directory_pb2.Inspector,
    "complaints": directory_pb2.Complaint,
    "campaigns": directory_pb2.Campaign,
    "risk_assessments": directory_pb2.RiskAssessment,
    "statutory_designations": directory_pb2.StatutoryDesignation,
}

KINDS: tuple[str, ...] = tuple(_MESSAGE_CLASSES)
"""The kinds, as plural names; each is also the ``ImportDirectoryRequest`` field holding such records."""

_SINGULAR: dict[str, str] = {
    "department": "departments",
    "object": "objects",
    "inspector": "inspectors",
    "complaint": "complaints",
    "campaign": "campaigns",
    "risk_assessment": "risk_assessments",
    "statutory_designation": "statutory_designations",
}
_KIND_BY_MESSAGE: dict[str, str] = {cls.DESCRIPTOR.full_name: kind for kind, cls in _MESSAGE_CLASSES.items()}

# Dates are google.type.Date fields, written YYYY-MM-DD; checked here so the error names the file and line.
_DATE = date_pb2.Date.DESCRIPTOR.full_name
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})

DEFAULT_MAX_CHUNK_BYTES = 2_000_000
"""Upper bound of one serialized chunk (the server's receive limit is 4 MiB)."""
DEFAULT_MAX_CHUNK_RECORDS = 2_000
"""Upper bound of the records in one chunk."""


@dataclass(frozen=True)
class Origin:
    """Where a record came from: a file and a 1-based line (the first line of a multi-line CSV row)."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


class RecordError(ValueError):
    """A record that cannot be read; ``str()`` is ``file:line: field: problem`` (unknown parts left out)."""

    def __init__(self, path: str, line: int | None, field_name: str | None, problem: str) -> None:
        self.path = path
        self.line = line
        self.field = field_name
        self.problem = problem
        where = path if line is None else f"{path}:{line}"
        super().__init__(f"{where}: {field_name}: {problem}" if field_name else f"{where}: {problem}")


@dataclass(frozen=True)
class SourcedRecord:
    """A parsed record, its kind (plural) and where it came from."""

    kind: str
    record: DirectoryRecord
    origin: Origin


@dataclass
class SourceMap:
    """The origins of the records in stream order, per kind: ``origins["objects"][3]`` is ``objects[3]``.

    Filled by :func:`read_files` as records are read, so it is complete once the stream was consumed;
    :meth:`locate` turns a server field path such as ``objects[3].credit_code`` into ``file:line``.
    """

    origins: dict[str, list[Origin]] = field(default_factory=dict)

    def add(self, kind: str, origin: Origin) -> None:
        self.origins.setdefault(kind, []).append(origin)

    def locate(self, field_path: str) -> tuple[Origin, str] | None:
        """``(origin, rest)`` for ``kind[i].rest`` paths of a known record, else None."""
        match = re.fullmatch(r"(\w+)\[(\d+)\](?:\.(.*))?", field_path)
        if match is None:
            return None
        records = self.origins.get(match.group(1), [])
        index = int(match.group(2))
        if index >= len(records):
            return None
        return records[index], match.group(3) or ""


def normalize_kind(name: str) -> str:
    """The plural kind for a plural or singular name (``object`` -> ``objects``); ValueError if unknown."""
    key = name.strip().lower().replace("-", "_")
    if key in _MESSAGE_CLASSES:
        return key
    if key in _SINGULAR:
        return _SINGULAR[key]
    raise ValueError(f"unknown kind {name!r}; expected one of {', '.join(KINDS)}")


def kind_of(record: Message) -> str:
    """The plural kind of a directory message; TypeError for any other message."""
    try:
        return _KIND_BY_MESSAGE[record.DESCRIPTOR.full_name]
    except KeyError:
        raise TypeError(f"{record.DESCRIPTOR.full_name} is not a directory record") from None


class _FieldError(Exception):
    """A problem with one field's value; turned into a RecordError once the location is known."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field_name
        self.problem = problem


def _enum_prefix(enum: EnumDescriptor) -> str:
    """``RiskClass`` -> ``RISK_CLASS_``: the prefix shared by the enum's value names."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"


def _parse_enum(enum: EnumDescriptor, name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _FieldError(name, f"expected an {enum.name} name, got {value!r}")
    if isinstance(value, int):
        if enum.values_by_number.get(value) is None:
            raise _FieldError(name, f"{value} is not a {enum.name} number")
        return value
    text = value.strip().upper().replace("-", "_").replace(" ", "_")
    if not text:
        return 0
    if text.isdigit():  # a CSV cell holding the value's number, e.g. a department level "3"
        return _parse_enum(enum, name, int(text))
    prefix = _enum_prefix(enum)
    for candidate in (text, prefix + text):
        found = enum.values_by_name.get(candidate)
        if found is not None:
            return int(found.number)
    allowed = ", ".join(v.name.removeprefix(prefix) for v in enum.values if v.number != 0)
    raise _FieldError(name, f"unknown {enum.name} {value!r}; expected one of {allowed}")


def _parse_date(name: str, value: object) -> date_pb2.Date | None:
    """The ``google.type.Date`` of a ``YYYY-MM-DD`` text; ``None`` (the field left unset) for a blank one."""
    if not isinstance(value, str):
        raise _FieldError(name, f"expected a date YYYY-MM-DD, got {json.dumps(value, ensure_ascii=False)}")
    text = value.strip()
    if not text:
        return None
    try:
        if not _DATE_RE.fullmatch(text):
            raise ValueError(text)
        day = datetime.date.fromisoformat(text)
    except ValueError:
        raise _FieldError(name, f"expected a date YYYY-MM-DD, got {value!r}") from None
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def _split_list(name: str, value: object) -> list[object]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    if isinstance(value, list):
        return list(value)
    raise _FieldError(name, f"expected a list or a ';'-separated string, got {value!r}")


def _parse_scalar(fd: FieldDescriptor, name: str, value: object) -> object:
    """Converts one CSV cell or JSON value to the Python value of a scalar (non-message) field."""
    if fd.type == FieldDescriptor.TYPE_ENUM and fd.enum_type is not None:
        return _parse_enum(fd.enum_type, name, value)
    if fd.type == FieldDescriptor.TYPE_BOOL:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE or not text:
                return False
        raise _FieldError(name, f"expected true or false, got {value!r}")
    if fd.type == FieldDescriptor.TYPE_STRING:
        if not isinstance(value, str):
            raise _FieldError(name, f"expected a string, got {json.dumps(value, ensure_ascii=False)}")
        return value.strip()
    if fd.cpp_type in (FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_INT64):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return 0
            try:
                return int(text)
            except ValueError:
                pass
        raise _FieldError(name, f"expected an integer, got {value!r}")
    raise _FieldError(name, f"fields of this type ({fd.type}) cannot be imported")  # pragma: no cover


def _parse_speciality(name: str, value: object) -> directory_pb2.Speciality:
    if isinstance(value, str):
        code, _, expires = value.partition(":")
        if not code.strip():
            raise _FieldError(name, f"expected code or code:YYYY-MM-DD, got {value!r}")
        return directory_pb2.Speciality(code=code.strip(), certificate_expires_on=_parse_date(name, expires))
    if isinstance(value, dict):
        speciality = directory_pb2.Speciality()
        _fill(speciality, value, name + ".")
        if not speciality.code:
            raise _FieldError(name, "a speciality needs a code")
        return speciality
    raise _FieldError(name, f"expected 'code:YYYY-MM-DD' or an object, got {value!r}")


def _fill(message: Message, values: Mapping[str, object], prefix: str = "") -> None:
    """Sets ``message`` fields from a name -> value mapping (CSV strings or JSON values)."""
    # types-protobuf types DESCRIPTOR as the Python or the upb class; both have the same public API
    descriptor = cast(Descriptor, message.DESCRIPTOR)
    if "name" in values and "display_name" in descriptor.fields_by_name:
        if "display_name" in values:
            raise _FieldError(prefix + "name", "give the human name once, as display_name (or name)")
        values = {("display_name" if k == "name" else k): v for k, v in values.items()}
    for key, value in values.items():
        name = prefix + key
        fd = descriptor.fields_by_name.get(key)
        if fd is None:
            known = ", ".join(f.name for f in descriptor.fields)
            raise _FieldError(name, f"unknown field for {descriptor.name} (known: {known})")
        if value is None:
            continue
        if fd.is_repeated:
            items = _split_list(name, value)
            target = getattr(message, fd.name)
            for index, item in enumerate(items):
                item_name = f"{name}[{index}]"
                if fd.type == FieldDescriptor.TYPE_MESSAGE:
                    target.append(_parse_speciality(item_name, item))
                else:
                    target.append(_parse_scalar(fd, item_name, item))
        elif fd.message_type is not None:
            if fd.message_type.full_name != _DATE:
                raise _FieldError(name, "nested messages cannot be imported")  # pragma: no cover
            day = _parse_date(name, value)
            if day is not None:
                getattr(message, fd.name).CopyFrom(day)
        else:
            setattr(message, fd.name, _parse_scalar(fd, name, value))


def parse_record(kind: str, values: Mapping[str, object]) -> DirectoryRecord:
    """Builds one record of ``kind`` (plural or singular) from field values; raises ValueError.

    The ValueError's text is ``field: problem``; file readers wrap it in a :class:`RecordError`.
    """
    record = _MESSAGE_CLASSES[normalize_kind(kind)]()
    try:
        _fill(record, values)
    except _FieldError as exc:
        raise ValueError(f"{exc.field}: {exc.problem}") from None
    return record


def _build(kind: str, values: Mapping[str, object], path: str, line: int) -> DirectoryRecord:
    record = _MESSAGE_CLASSES[kind]()
    try:
        _fill(record, values)
    except _FieldError as exc:
        raise RecordError(path, line, exc.field, exc.problem) from None
    return record


def read_csv(source: str | Path | IO[str], kind: str, *, name: str | None = None) -> Iterator[SourcedRecord]:
    """Yields the records of a CSV file of one ``kind``; ``name`` overrides the file name used in errors."""
    plural = normalize_kind(kind)
    if isinstance(source, str | Path):
        with open(source, encoding="utf-8-sig", newline="") as handle:
            yield from read_csv(handle, plural, name=name or str(source))
        return
    path = name or str(getattr(source, "name", "<csv>"))
    reader = csv.reader(source)
    try:
        header = next(reader, None)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise RecordError(path, 1, None, f"unreadable CSV: {exc}") from None
    if header is None:
        return
    columns = [column.strip().lstrip("\ufeff") for column in header]
    known = _MESSAGE_CLASSES[plural].DESCRIPTOR.fields_by_name
    for column in columns:
        if column and column not in known:
            raise RecordError(path, 1, column, f"unknown column for {plural} (known: {', '.join(known)})")
    duplicates = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicates:
        raise RecordError(path, 1, duplicates[0], "column given twice")
    end = reader.line_num
    while True:
        start = end + 1
        try:
            row = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise RecordError(path, start, None, f"unreadable CSV: {exc}") from None
        end = reader.line_num
        if row is None:
            return
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(columns):
            problem = f"{len(row)} cells but the header names {len(columns)} columns"
            raise RecordError(path, start, None, problem)
        values: dict[str, object] = {}
        for index, (column, cell) in enumerate(zip(columns, row, strict=False)):
            if column:
                values[column] = cell
            elif cell.strip():  # spreadsheets add unnamed trailing columns; only empty ones are fine
                raise RecordError(path, start, None, f"a value in column {index + 1}, which has no header")
        yield SourcedRecord(plural, _build(plural, values, path, start), Origin(path, start))


def read_jsonl(source: str | Path | IO[str], *, name: str | None = None) -> Iterator[SourcedRecord]:
    """Yields the records of a JSON Lines file; each line names its ``"kind"`` (blank lines are skipped)."""
    if isinstance(source, str | Path):
        with open(source, encoding="utf-8-sig") as handle:
            yield from read_jsonl(handle, name=name or str(source))
        return
    path = name or str(getattr(source, "name", "<jsonl>"))
    line_number = 0
    while True:
        try:
            line = source.readline()
        except UnicodeDecodeError as exc:
            raise RecordError(path, line_number + 1, None, f"not UTF-8: {exc}") from None
        if not line:
            return
        line_number += 1
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            problem = f"invalid JSON: {exc.msg} (column {exc.colno})"
            raise RecordError(path, line_number, None, problem) from None
        if not isinstance(data, dict):
            raise RecordError(path, line_number, None, "expected a JSON object")
        kind_name = data.pop("kind", None)
        if not isinstance(kind_name, str):
            raise RecordError(path, line_number, "kind", 'missing "kind" (e.g. "object", "inspector")')
        try:
            kind = normalize_kind(kind_name)
        except ValueError as exc:
            raise RecordError(path, line_number, "kind", str(exc)) from None
        yield SourcedRecord(kind, _build(kind, data, path, line_number), Origin(path, line_number))


def _csv_kind_from_name(path: Path) -> str | None:
    try:
        return normalize_kind(path.stem)
    except ValueError:
        return None


def read_file(path: str | Path, kind: str | None = None) -> Iterator[SourcedRecord]:
    """Yields a file's records: ``.jsonl``/``.ndjson``/``.json`` as JSON Lines, anything else as CSV.

    A CSV file's kind is ``kind`` or, when None, its file name (``objects.csv``); JSON Lines name the
    kind on every line, and ``kind``, when given, must match it.
    """
    path = Path(path)
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        expected = normalize_kind(kind) if kind else None
        for sourced in read_jsonl(path):
            if expected is not None and sourced.kind != expected:
                problem = f"is {sourced.kind}, but the kind {expected} was asked for"
                raise RecordError(str(path), sourced.origin.line, "kind", problem)
            yield sourced
        return
    csv_kind = normalize_kind(kind) if kind else _csv_kind_from_name(path)
    if csv_kind is None:
        problem = f"cannot tell the kind of this CSV file from its name; give one of {', '.join(KINDS)}"
        raise RecordError(str(path), None, None, problem)
    yield from read_csv(path, csv_kind)


def read_files(
    paths: Iterable[str | Path], kind: str | None = None, source_map: SourceMap | None = None
) -> Iterator[DirectoryRecord]:
    """Yields the records of several files in order, noting each origin in ``source_map`` when given."""
    for path in paths:
        for sourced in read_file(path, kind):
            if source_map is not None:
                source_map.add(sourced.kind, sourced.origin)
            yield sourced.record


def _overhead(size: int) -> int:
    """Bytes a length-delimited field of ``size`` bytes adds to its parent: tag plus length varint."""
    return 1 + max(1, (size.bit_length() + 6) // 7) + size


def chunk_records(
    records: Iterable[DirectoryRecord],
    *,
    max_bytes: int = DEFAULT_MAX_CHUNK_BYTES,
    max_records: int = DEFAULT_MAX_CHUNK_RECORDS,
) -> Iterator[directory_pb2.ImportDirectoryRequest]:
    """Packs records of any kinds, in order, into chunks of at most ``max_bytes`` and ``max_records``.

    A single record larger than ``max_bytes`` travels alone in its chunk. Yields nothing for no records.
    ``request_id`` is left empty (``DualdrawClient.import_directory`` sets it on the first chunk).

    Reads ``records`` lazily, ``max_records`` at a time: each block's sizes are summed and cut with C-level
    calls, and each run of one kind is copied into its chunk with one ``extend`` (a million objects: half
    the time of appending them one by one, on the same cores as the import it feeds).
    """
    if max_bytes <= 0 or max_records <= 0:
        raise ValueError("max_bytes and max_records must be positive")
    chunk = directory_pb2.ImportDirectoryRequest()
    size = count = 0
    source = iter(records)
    while block := list(islice(source, max_records)):
        kinds = list(map(kind_of, block))
        ends = list(accumulate(map(_overhead, map(_BYTE_SIZE, block))))  # bytes up to each record's end
        start = 0
        while start < len(block):
            before = ends[start - 1] if start else 0
            end = min(bisect_right(ends, max_bytes - size + before, start), start + max_records - count)
            if end == start:  # the next record does not fit
                if count:
                    yield chunk
                    chunk = directory_pb2.ImportDirectoryRequest()
                    size = count = 0
                    continue
                end = start + 1  # larger than max_bytes: alone in its chunk
            _add_runs(chunk, kinds, block, start, end)
            size += ends[end - 1] - before
            count += end - start
            start = end
    if count:
        yield chunk


_BYTE_SIZE = methodcaller("ByteSize")


def _add_runs(
    chunk: directory_pb2.ImportDirectoryRequest,
    kinds: list[str],
    block: list[DirectoryRecord],
    start: int,
    end: int,
) -> None:
    """Copies ``block[start:end]`` into ``chunk``, one ``extend`` per run of records of one kind."""
    while start < end:
        kind, run_end = kinds[start], start + 1
        while run_end < end and kinds[run_end] == kind:
            run_end += 1
        getattr(chunk, kind).extend(block[start:run_end])  # extend copies the messages into the chunk
        start = run_end
