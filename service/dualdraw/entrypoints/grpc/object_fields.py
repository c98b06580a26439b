"""The fields of an import chunk's objects, read once per chunk.

The text check (``validation``) and the conversion (``directory_convert``) both need every field of every
object of an import, up to a million records, and reading a field of a protobuf message makes a new Python
object each time (two thirds of what either of them cost). The first of them to ask reads the chunk's
objects in one C-level pass; the second gets the same values. Both run in the thread that serves the
import, one right after the other, so each thread remembers the last chunk it read (by identity, holding a
reference to it so the identity stays its own) until the conversion takes it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter

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
