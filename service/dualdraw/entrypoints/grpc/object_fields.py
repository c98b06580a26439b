"""The fields of an import chunk's objects, read once per chunk.

The text check (``validation``) and the conversion (``directory_convert``) both need every field of every
object of an import, up to a million records, and reading a field of a protobuf message makes a new Python
object each time (two thirds of what either of them cost). The first of them to ask reads the chunk's
objects in one C-level pass; the second gets the same values. Both run in the thread that serves the
import, one right after the other, so each thread remembers the last chunk it read (by identity, holding a
reference to it so the identity stays its own) until the conversion takes it.

Faster still, ``parse_chunk`` (the import's request deserializer) reads them from the chunk's wire bytes
in C as it parses the chunk (``object_wire``, a third of the cost, with the text check's facts on the
way), and leaves them for the first reader, whichever thread that is (grpc deserializes in its own).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
from typing import Any

from dualdraw.entrypoints.grpc.object_wire import read_objects
from dualdraw.v1 import directory_pb2

STRING_FIELDS = (
    "credit_code",
    "display_name",
    "region_code",
    "registering_department_id",
    "industry",
    "office",
    "name",
)
"""The singular string fields of ``InspectionObject`` (``name``, the resource name, is ignored by an import
but checked like any string); ``business_lines`` is its one repeated one."""
_READ = attrgetter(*STRING_FIELDS, "business_lines", "risk_class", "status")


@dataclass(frozen=True)
class ObjectFields:
    """The raw field values of a chunk's objects, one tuple per field, in request order."""

    credit_codes: tuple[str, ...]
    names: tuple[str, ...]
    region_codes: tuple[str, ...]
    registering_department_ids: tuple[str, ...]
    industries: tuple[str, ...]
    offices: tuple[str, ...]
    resource_names: tuple[str, ...]
    business_lines: tuple[tuple[str, ...], ...]
    risk_classes: tuple[int, ...]
    statuses: tuple[int, ...]
    longest: int | None = None
    """The length in characters of the longest string, when the wire reader found out (else ``None``)."""
    control_characters: bool | None = None
    """Whether a string holds a control character other than tab, line feed and carriage return, when the
    wire reader found out (else ``None``)."""

    def texts(self) -> Iterator[str]:
        """Every string of the objects: the singular fields', then the business lines."""
        return chain(
            self.credit_codes,
            self.names,
            self.region_codes,
            self.registering_department_ids,
            self.industries,
            self.offices,
            self.resource_names,
            chain.from_iterable(self.business_lines),
        )


_EMPTY = ObjectFields((), (), (), (), (), (), (), (), (), ())


class _LastRead(threading.local):
    objects: Sequence[directory_pb2.InspectionObject] | None = None
    fields: ObjectFields = _EMPTY


_last = _LastRead()


def object_fields(objects: Sequence[directory_pb2.InspectionObject], *, keep: bool = True) -> ObjectFields:
    """The fields of ``objects`` (a chunk's ``objects``), read now or taken from this thread's last read of
    the same container. ``keep=False`` (the last reader) forgets them afterwards."""
    if _last.objects is objects:
        fields = _last.fields
    elif (from_wire := _from_wire.take(objects)) is not None:
        fields = from_wire
    else:
        codes, names, regions, departments, industries, offices, resource_names, lines, risks, statuses = (
            zip(*map(_READ, objects), strict=True) if objects else ((),) * 10
        )
        fields = ObjectFields(
            codes,
            names,
            regions,
            departments,
            industries,
            offices,
            resource_names,
            tuple(map(tuple, lines)),
            risks,
            statuses,
        )
    if keep:
        _last.objects, _last.fields = objects, fields
    elif _last.objects is objects:
        _last.objects, _last.fields = None, _EMPTY
    return fields


def parse_chunk(data: bytes) -> directory_pb2.ImportDirectoryRequest:
    """``ImportDirectoryRequest.FromString(data)``, its objects' fields also read from ``data`` for
    ``object_fields`` (unless the wire reader declines the bytes: then they are read from the message)."""
    chunk = directory_pb2.ImportDirectoryRequest.FromString(data)
    if chunk.objects and (read := read_objects(data)) is not None:
        _from_wire.put(chunk.objects, ObjectFields(*read))
    return chunk


class _FromWire:
    """Fields read by ``parse_chunk`` until a reader takes them, by the identity of the chunk's objects
    (held, so that the identity stays theirs). At most ``LIMIT`` wait: a stream cut off leaves its last
    chunks here until later chunks push them out."""

    LIMIT = 32

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[int, tuple[Any, ObjectFields]] = {}

    def put(self, objects: Sequence[directory_pb2.InspectionObject], fields: ObjectFields) -> None:
        with self._lock:
            self._waiting[id(objects)] = (objects, fields)
            while len(self._waiting) > self.LIMIT:
                del self._waiting[next(iter(self._waiting))]

    def take(self, objects: Sequence[directory_pb2.InspectionObject]) -> ObjectFields | None:
        with self._lock:
            waiting = self._waiting.pop(id(objects), None)
        return waiting[1] if waiting is not None and waiting[0] is objects else None


_from_wire = _FromWire()
