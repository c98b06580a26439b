"""Checklists and inspection records between protobuf and the domain."""

from __future__ import annotations

import datetime as dt
import re

from google.protobuf.timestamp_pb2 import Timestamp

from dualdraw.domain import checklists as cl
from dualdraw.domain import inspection_records as ir
from dualdraw.domain.errors import Violations
from dualdraw.entrypoints.grpc.convert import date_from_pb, date_to_pb, parse_enum, timestamp
from dualdraw.v1 import checklists_pb2, inspection_records_pb2

CHECK_METHOD: dict[int, cl.CheckMethod] = {
    checklists_pb2.CHECK_METHOD_ON_SITE: cl.CheckMethod.ON_SITE,
    checklists_pb2.CHECK_METHOD_DOCUMENT_REVIEW: cl.CheckMethod.DOCUMENT_REVIEW,
    checklists_pb2.CHECK_METHOD_ONLINE: cl.CheckMethod.ONLINE,
    checklists_pb2.CHECK_METHOD_SAMPLING_AND_TESTING: cl.CheckMethod.SAMPLING_AND_TESTING,
}
FINDING: dict[int, ir.Finding] = {
    inspection_records_pb2.CHECK_FINDING_COMPLIANT: ir.Finding.COMPLIANT,
    inspection_records_pb2.CHECK_FINDING_NON_COMPLIANT: ir.Finding.NON_COMPLIANT,
    inspection_records_pb2.CHECK_FINDING_NOT_APPLICABLE: ir.Finding.NOT_APPLICABLE,
}
ACKNOWLEDGEMENT: dict[int, ir.Acknowledgement] = {
    inspection_records_pb2.ACKNOWLEDGEMENT_ACKNOWLEDGED: ir.Acknowledgement.ACKNOWLEDGED,
    inspection_records_pb2.ACKNOWLEDGEMENT_REFUSED: ir.Acknowledgement.REFUSED,
}
CHECK_METHOD_PB = {v: checklists_pb2.CheckMethod.ValueType(k) for k, v in CHECK_METHOD.items()}
FINDING_PB = {v: inspection_records_pb2.CheckFinding.ValueType(k) for k, v in FINDING.items()}
ACKNOWLEDGEMENT_PB = {
    v: inspection_records_pb2.Acknowledgement.ValueType(k) for k, v in ACKNOWLEDGEMENT.items()
}

_CHECKLIST_NAME = re.compile(r"^items/([^/]+)/checklist$")
_ASSIGNMENT_NAME = re.compile(r"^draws/([^/]+)/assignments/([1-9][0-9]{0,8})$")
_DRAW_NAME = re.compile(r"^draws/([^/]+)$")


def item_of_checklist(name: str, path: str, v: Violations) -> str:
    """The item code of ``items/{item}/checklist`` (a violation otherwise)."""
    m = _CHECKLIST_NAME.match(name)
    if m is None:
        v.add(path, "must be items/{item}/checklist", reason="RESOURCE_NAME_INVALID")
        return ""
    return m.group(1)


def parse_assignment(name: str, path: str, v: Violations) -> tuple[str, int]:
    """``(draw_id, position)`` of ``draws/{draw}/assignments/{position}`` (a violation otherwise)."""
    m = _ASSIGNMENT_NAME.match(name)
    if m is None:
        v.add(path, "must be draws/{draw}/assignments/{position}", reason="RESOURCE_NAME_INVALID")
        return "", 0
    return m.group(1), int(m.group(2))


def parse_draw(name: str, path: str, v: Violations) -> str:
    m = _DRAW_NAME.match(name)
    if m is None:
        v.add(path, "must be draws/{draw}", reason="RESOURCE_NAME_INVALID")
        return ""
    return m.group(1)


def _instant(pb: Timestamp, has: bool, path: str, v: Violations) -> dt.datetime:
    if not has:
        v.add(path, "is required", reason="FIELD_REQUIRED")
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return pb.ToDatetime(tzinfo=dt.UTC)


def checklist_from_pb(pb: checklists_pb2.Checklist, v: Violations) -> tuple[cl.Checklist, dt.date | None]:
    """The checklist and its effective date (``None``: today); violations go to ``v``."""
    points = tuple(
        cl.CheckPoint(
            p.id.strip(),
            p.text.strip(),
            p.legal_basis.strip(),
            parse_enum(p.method, CHECK_METHOD, f"checklist.check_points[{i}].method", v),
        )
        for i, p in enumerate(pb.check_points)
    )
    checklist = cl.Checklist(points, pb.sample_requirements.strip(), pb.laboratory_requirements.strip())
    return checklist, date_from_pb(pb.effective_date, "checklist.effective_date", v, required=False)


def checklist_to_pb(r: cl.ChecklistRevision) -> checklists_pb2.Checklist:
    day = r.effective_from
    return checklists_pb2.Checklist(
        name=r.name,
        revision=r.revision,
        item_version=r.item_version,
        effective_date=date_to_pb(day),
        check_points=[
            checklists_pb2.CheckPoint(
                id=p.id, text=p.text, legal_basis=p.legal_basis, method=CHECK_METHOD_PB[p.method]
            )
            for p in r.checklist.check_points
        ],
        sample_requirements=r.checklist.sample_requirements,
        laboratory_requirements=r.checklist.laboratory_requirements,
        change_reason=r.change_reason,
        create_time=timestamp(r.published_at),
        creator=r.published_by,
    )


def _file(pb: inspection_records_pb2.EvidenceFile) -> ir.EvidenceFile:
    return ir.EvidenceFile(pb.sha256.strip(), pb.size, pb.content_type.strip())


def _file_pb(f: ir.EvidenceFile) -> inspection_records_pb2.EvidenceFile:
    return inspection_records_pb2.EvidenceFile(sha256=f.sha256, size=f.size, content_type=f.content_type)


def content_from_pb(pb: inspection_records_pb2.InspectionRecord, v: Violations) -> ir.RecordContent:
    """What the request records (the output-only fields are ignored); violations go to ``v``."""
    at = "inspection_record"
    return ir.RecordContent(
        started_at=_instant(pb.start_time, pb.HasField("start_time"), f"{at}.start_time", v),
        ended_at=_instant(pb.end_time, pb.HasField("end_time"), f"{at}.end_time", v),
        place=pb.place.strip(),
        members_present=tuple(b.strip() for b in pb.members_present),
        findings=tuple(
            ir.CheckPointFinding(
                f.check_point_id.strip(),
                parse_enum(f.finding, FINDING, f"{at}.findings[{i}].finding", v),
                f.note.strip(),
            )
            for i, f in enumerate(pb.findings)
        ),
        acknowledgement=parse_enum(pb.acknowledgement, ACKNOWLEDGEMENT, f"{at}.acknowledgement", v),
        refusal_reason=pb.refusal_reason.strip(),
        refusal_witness=pb.refusal_witness.strip(),
        samples=tuple(
            ir.Sample(
                s.id.strip(),
                s.check_point_id.strip(),
                s.description.strip(),
                s.laboratory.strip(),
                s.quantity,
            )
            for s in pb.samples
        ),
        lab_reports=tuple(ir.LabReport(r.sample_id.strip(), _file(r.file)) for r in pb.lab_reports),
        attachments=tuple(_file(a) for a in pb.attachments),
    )


def record_to_pb(r: ir.InspectionRecord) -> inspection_records_pb2.InspectionRecord:
    c = r.content
    return inspection_records_pb2.InspectionRecord(
        name=r.name,
        assignment=ir.assignment_name(r.draw_id, r.position),
        version=r.version,
        credit_code=r.credit_code,
        checklist=cl.checklist_name(r.checklist.item_code),
        item_version=r.checklist.item_version,
        checklist_revision=r.checklist.revision,
        start_time=timestamp(c.started_at),
        end_time=timestamp(c.ended_at),
        place=c.place,
        members_present=list(c.members_present),
        findings=[
            inspection_records_pb2.CheckPointFinding(
                check_point_id=f.check_point_id, finding=FINDING_PB[f.finding], note=f.note
            )
            for f in c.findings
        ],
        acknowledgement=ACKNOWLEDGEMENT_PB[c.acknowledgement],
        refusal_reason=c.refusal_reason,
        refusal_witness=c.refusal_witness,
        samples=[
            inspection_records_pb2.Sample(
                id=s.id,
                check_point_id=s.check_point_id,
                description=s.description,
                laboratory=s.laboratory,
                quantity=s.quantity,
            )
            for s in c.samples
        ],
        lab_reports=[
            inspection_records_pb2.LabReport(sample_id=x.sample_id, file=_file_pb(x.file))
            for x in c.lab_reports
        ],
        attachments=[_file_pb(a) for a in c.attachments],
        recorder=r.recorded_by,
        record_time=timestamp(r.recorded_at),
        revision_reason=r.revision_reason,
        content_hash=r.content_hash,
    )
