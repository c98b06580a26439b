"""Proto <-> domain conversion of directory records (departments, objects, inspectors, side facts, transfers).
Parsing checks syntax and records every problem in a ``Violations`` collector under the request's field path
(``convert``'s small parsers); semantic checks live in the use cases."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

from google.type import date_pb2

from dualdraw.domain import model
from dualdraw.domain.errors import Violations
from dualdraw.domain.object_columns import ObjectColumns
from dualdraw.entrypoints.grpc import resource_names as names
from dualdraw.entrypoints.grpc.convert import (
    COMPLAINT_STATUS,
    COMPLAINT_STATUS_PB,
    DEPARTMENT_LEVEL,
    DEPARTMENT_LEVEL_PB,
    OBJECT_STATUS,
    OBJECT_STATUS_PB,
    RISK_CLASS,
    RISK_CLASS_PB,
    RISK_CONCLUSION,
    RISK_CONCLUSION_PB,
    _all_ok,
    date_from_pb,
    date_to_pb,
    parse_enum,
    required,
)
from dualdraw.entrypoints.grpc.object_fields import object_fields
from dualdraw.service_layer.directory import Transfer, TransferKind
from dualdraw.v1 import directory_pb2

RECORD_KINDS: dict[int, TransferKind] = {
    directory_pb2.RECORD_KIND_OBJECT: "object",
    directory_pb2.RECORD_KIND_INSPECTOR: "inspector",
    directory_pb2.RECORD_KIND_DEPARTMENT: "department",
}


def record_kind_from_pb(kind: int) -> TransferKind | None:
    """The kind of record a ``TransferRecordRequest`` moves (``None``: unspecified or unknown)."""
    return RECORD_KINDS.get(kind)


def transfer_to_pb(t: Transfer) -> directory_pb2.TransferRecordResponse:
    kind = next(k for k, name in RECORD_KINDS.items() if name == t.kind)
    return directory_pb2.TransferRecordResponse(
        kind=kind,  # type: ignore[arg-type]  # enum values are ints
        key=t.key,
        from_department_id=t.from_department_id,
        to_department_id=t.to_department_id,
        moved=t.moved,
    )


def department_from_pb(pb: directory_pb2.Department, path: str, v: Violations) -> model.Department | None:
    n = len(v.items)
    id_ = required(pb.id, f"{path}.id", v)
    name = required(pb.display_name, f"{path}.display_name", v)
    level = parse_enum(pb.level, DEPARTMENT_LEVEL, f"{path}.level", v)
    region = required(pb.region_code, f"{path}.region_code", v)
    return _all_ok(v, n, lambda: model.Department(id_, name, pb.parent_id or None, level, region))


def department_to_pb(d: model.Department) -> directory_pb2.Department:
    return directory_pb2.Department(
        name=names.DEPARTMENTS.format(d.id),
        id=d.id,
        display_name=d.name,
        parent_id=d.parent_id or "",
        level=DEPARTMENT_LEVEL_PB[d.level],
        region_code=d.region_code,
    )


def object_from_pb(
    pb: directory_pb2.InspectionObject, path: str, v: Violations
) -> model.InspectionObject | None:
    record = well_formed_object(pb)
    if record is not None:
        return record
    n = len(v.items)
    code = required_code(pb.credit_code, f"{path}.credit_code", v)
    name = required(pb.display_name, f"{path}.display_name", v)
    region = required(pb.region_code, f"{path}.region_code", v)
    dept = required(pb.registering_department_id, f"{path}.registering_department_id", v)
    risk = parse_enum(pb.risk_class, RISK_CLASS, f"{path}.risk_class", v)
    status = parse_enum(pb.status, OBJECT_STATUS, f"{path}.status", v)
    return _all_ok(
        v,
        n,
        lambda: model.InspectionObject(
            credit_code=code,
            name=name,
            region_code=region,
            registering_department_id=dept,
            industry=pb.industry.strip(),
            business_lines=_business_lines(pb.business_lines),
            risk_class=risk,
            status=status,
            office=pb.office.strip(),
        ),
    )


def well_formed_object(pb: directory_pb2.InspectionObject) -> model.InspectionObject | None:
    """``object_from_pb`` of a record without problems, else ``None`` (then ``object_from_pb`` names them).

    A million of these per import: each field is read once, no field path is built, and the object is made
    without the frozen dataclass's ``__init__`` (``_inspection_object``).
    """
    code, name, region = pb.credit_code, pb.display_name.strip(), pb.region_code.strip()
    dept = pb.registering_department_id.strip()
    risk, status = RISK_CLASS.get(pb.risk_class), OBJECT_STATUS.get(pb.status)
    if code.strip() and name and region and dept and risk is not None and status is not None:
        return _inspection_object(
            credit_code=code,
            name=name,
            region_code=region,
            registering_department_id=dept,
            industry=pb.industry.strip(),
            business_lines=_business_lines(pb.business_lines),
            risk_class=risk,
            status=status,
            office=pb.office.strip(),
        )
    return None


def well_formed_objects(pbs: Sequence[directory_pb2.InspectionObject], into: ObjectColumns) -> bool:
    """Appends ``pbs`` to ``into`` as ``object_from_pb`` would, when none of them has a problem; else appends
    nothing and returns ``False`` (then ``object_from_pb`` names the problems, one record at a time).

    A million of these per import, a chunk at a time: the fields as the text check read them
    (``object_fields``), trimmed, checked and mapped column by column; no object is made.
    """
    if not pbs:
        return True
    raw = object_fields(pbs, keep=False)
    strip = str.strip
    display_names, regions = list(map(strip, raw.names)), list(map(strip, raw.region_codes))
    departments = list(map(strip, raw.registering_department_ids))
    risk_classes = list(map(RISK_CLASS.get, raw.risk_classes))
    statuses = list(map(OBJECT_STATUS.get, raw.statuses))
    if not (
        all(map(strip, raw.credit_codes))
        and all(display_names)
        and all(regions)
        and all(departments)
        and None not in risk_classes  # enum members compare by identity: a C-level scan
        and None not in statuses
    ):
        return False
    into.extend_columns(
        raw.credit_codes,
        display_names,
        regions,
        departments,
        list(map(strip, raw.industries)),
        list(map(_lines, raw.business_lines)),
        risk_classes,  # type: ignore[arg-type]  # no None: checked above
        statuses,  # type: ignore[arg-type]  # no None: checked above
        list(map(strip, raw.offices)),
    )
    return True


def _inspection_object(**fields: Any) -> model.InspectionObject:
    """``model.InspectionObject(**fields)`` for all of its fields: the same object (equal, same hash), made
    by filling its ``__dict__`` in one call. A frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``: a third of ``well_formed_object``, 1.4 s of a million-object import."""
    made = _new(model.InspectionObject)
    made.__dict__.update(fields)
    return made


_new = object.__new__


def _business_lines(values: Sequence[str]) -> tuple[str, ...]:
    """The distinct non-blank lines, trimmed and sorted (most objects have one)."""
    if len(values) == 1:
        return _one_line(values[0])
    return _lines(tuple(values))


def _one_line(value: str) -> tuple[str, ...]:
    only = value.strip()
    return (only,) if only else ()


@functools.lru_cache(maxsize=4096)
def _lines(values: tuple[str, ...]) -> tuple[str, ...]:
    """Cached: many objects list the same few combinations of business lines."""
    return tuple(sorted({b.strip() for b in values if b.strip()}))


def object_to_pb(o: model.InspectionObject) -> directory_pb2.InspectionObject:
    return directory_pb2.InspectionObject(
        name=names.OBJECTS.format(o.credit_code),
        credit_code=o.credit_code,
        display_name=o.name,
        region_code=o.region_code,
        registering_department_id=o.registering_department_id,
        industry=o.industry,
        business_lines=list(o.business_lines),
        risk_class=RISK_CLASS_PB[o.risk_class],  # type: ignore[arg-type]  # enum values are ints
        status=OBJECT_STATUS_PB[o.status],  # type: ignore[arg-type]  # enum values are ints
        office=o.office,
    )


def inspector_from_pb(pb: directory_pb2.Inspector, path: str, v: Violations) -> model.Inspector | None:
    n = len(v.items)
    badge = required(pb.badge_number, f"{path}.badge_number", v)
    name = required(pb.display_name, f"{path}.display_name", v)
    dept = required(pb.department_id, f"{path}.department_id", v)
    specialities = []
    for i, s in enumerate(pb.specialities):
        sp = f"{path}.specialities[{i}]"
        code = required(s.code, f"{sp}.code", v)
        expires = date_from_pb(s.certificate_expires_on, f"{sp}.certificate_expires_on", v, required=False)
        specialities.append(model.Speciality(code, expires))
    conflicts = frozenset(c for c in pb.conflicts if c.strip())  # checked as written (GB 32100: upper case)
    return _all_ok(
        v,
        n,
        lambda: model.Inspector(
            badge, name, dept, pb.office.strip(), tuple(specialities), pb.available, conflicts
        ),
    )


def inspector_to_pb(i: model.Inspector) -> directory_pb2.Inspector:
    return directory_pb2.Inspector(
        name=names.INSPECTORS.format(i.badge_number),
        badge_number=i.badge_number,
        display_name=i.name,
        department_id=i.department_id,
        office=i.office,
        specialities=[
            directory_pb2.Speciality(code=s.code, certificate_expires_on=date_to_pb(s.certificate_expires_on))
            for s in i.specialities
        ],
        available=i.available,
        conflicts=sorted(i.conflicts),
    )


def complaint_from_pb(pb: directory_pb2.Complaint, path: str, v: Violations) -> model.Complaint | None:
    n = len(v.items)
    id_ = required(pb.id, f"{path}.id", v)
    code = required_code(pb.credit_code, f"{path}.credit_code", v)
    status = parse_enum(pb.status, COMPLAINT_STATUS, f"{path}.status", v)
    received = _day(pb.received_on, f"{path}.received_on", v)
    closed = date_from_pb(pb.closed_on, f"{path}.closed_on", v, required=False)
    return _all_ok(
        v,
        n,
        lambda: model.Complaint(id_, code, status, received, closed, pb.summary),
    )


def complaint_to_pb(c: model.Complaint) -> directory_pb2.Complaint:
    return directory_pb2.Complaint(
        name=names.COMPLAINTS.format(c.id),
        id=c.id,
        credit_code=c.credit_code,
        status=COMPLAINT_STATUS_PB[c.status],  # type: ignore[arg-type]  # enum values are ints
        received_on=date_to_pb(c.received_on),
        closed_on=date_to_pb(c.closed_on),
        summary=c.summary,
    )


def campaign_from_pb(pb: directory_pb2.Campaign, path: str, v: Violations) -> model.Campaign | None:
    n = len(v.items)
    id_ = required(pb.id, f"{path}.id", v)
    name = required(pb.display_name, f"{path}.display_name", v)
    org = required(pb.organizer_department_id, f"{path}.organizer_department_id", v)
    region = required(pb.region_code, f"{path}.region_code", v)
    starts = _day(pb.starts_on, f"{path}.starts_on", v)
    ends = _day(pb.ends_on, f"{path}.ends_on", v)
    return _all_ok(
        v,
        n,
        lambda: model.Campaign(
            id_,
            name,
            org,
            region,
            pb.industry.strip(),
            pb.business_line.strip(),
            starts,
            ends,
        ),
    )


def campaign_to_pb(c: model.Campaign) -> directory_pb2.Campaign:
    return directory_pb2.Campaign(
        name=names.CAMPAIGNS.format(c.id),
        id=c.id,
        display_name=c.name,
        organizer_department_id=c.organizer_department_id,
        region_code=c.region_code,
        industry=c.industry,
        business_line=c.business_line,
        starts_on=date_to_pb(c.starts_on),
        ends_on=date_to_pb(c.ends_on),
    )


def risk_assessment_from_pb(
    pb: directory_pb2.RiskAssessment, path: str, v: Violations
) -> model.RiskAssessment | None:
    n = len(v.items)
    id_ = required(pb.id, f"{path}.id", v)
    code = required_code(pb.credit_code, f"{path}.credit_code", v)
    conclusion = parse_enum(pb.conclusion, RISK_CONCLUSION, f"{path}.conclusion", v)
    assessed = _day(pb.assessed_on, f"{path}.assessed_on", v)
    valid_until = date_from_pb(pb.valid_until, f"{path}.valid_until", v, required=False)
    return _all_ok(
        v,
        n,
        lambda: model.RiskAssessment(id_, code, conclusion, assessed, valid_until, pb.note),
    )


def risk_assessment_to_pb(r: model.RiskAssessment) -> directory_pb2.RiskAssessment:
    return directory_pb2.RiskAssessment(
        name=names.RISK_ASSESSMENTS.format(r.id),
        id=r.id,
        credit_code=r.credit_code,
        conclusion=RISK_CONCLUSION_PB[r.conclusion],  # type: ignore[arg-type]  # enum values are ints
        assessed_on=date_to_pb(r.assessed_on),
        valid_until=date_to_pb(r.valid_until),
        note=r.note,
    )


def designation_from_pb(
    pb: directory_pb2.StatutoryDesignation, path: str, v: Violations
) -> model.StatutoryDesignation | None:
    n = len(v.items)
    id_ = required(pb.id, f"{path}.id", v)
    code = required_code(pb.credit_code, f"{path}.credit_code", v)
    line = required(pb.business_line, f"{path}.business_line", v)
    method = required(pb.method, f"{path}.method", v)
    valid_from = _day(pb.valid_from, f"{path}.valid_from", v)
    valid_to = date_from_pb(pb.valid_to, f"{path}.valid_to", v, required=False)
    return _all_ok(
        v,
        n,
        lambda: model.StatutoryDesignation(id_, code, line, method, pb.legal_basis, valid_from, valid_to),
    )


def designation_to_pb(d: model.StatutoryDesignation) -> directory_pb2.StatutoryDesignation:
    return directory_pb2.StatutoryDesignation(
        name=names.STATUTORY_DESIGNATIONS.format(d.id),
        id=d.id,
        credit_code=d.credit_code,
        business_line=d.business_line,
        method=d.method,
        legal_basis=d.legal_basis,
        valid_from=date_to_pb(d.valid_from),
        valid_to=date_to_pb(d.valid_to),
    )


def _day(value: date_pb2.Date, path: str, v: Violations) -> dt.date:
    """A required day; on a violation a placeholder that must not be used."""
    return date_from_pb(value, path, v) or dt.date.min


def required_code(value: str, path: str, v: Violations) -> str:
    """A credit code exactly as written: the use case refuses lower case or spaces, never fixes them."""
    if not value.strip():
        v.add(path, "is required", reason="FIELD_REQUIRED")
    return value
