"""Inspection records (检查记录, Art. 12): the inspection of one assignment as it happened.

A record says when and where the team inspected, who of the team was present (only team members sign, the
leader always), the finding on every check point of the checklist in force, whether the enterprise
acknowledged the record or refused to sign (with a reason and a witness), the samples taken and the
laboratory reports. Evidence files are kept elsewhere by content: the record holds their SHA-256, size and
content type only.

A record is never edited: a revision is a new version with a reason. Each version's canonical JSON
(``domain.canonical_json``) is hashed; the hash is stored with the version and committed in the audit log,
so that a changed row no longer matches the log.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dualdraw.domain.canonical_json import canonical_json, sha256_hex
from dualdraw.domain.checklists import ChecklistRevision, CheckMethod
from dualdraw.domain.errors import FieldViolation

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")
SAMPLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_TEXT = 2000
MAX_FILES = 100
MAX_SAMPLES = 100
MAX_FILE_SIZE = 2**53 - 1  # exact in canonical JSON


class Finding(StrEnum):
    """The finding on one check point."""

    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"
    NOT_APPLICABLE = "not_applicable"


class Acknowledgement(StrEnum):
    """What the enterprise did with the record."""

    ACKNOWLEDGED = "acknowledged"  # signed (签字确认)
    REFUSED = "refused"  # refused to sign (拒绝签字): a reason and a witness are recorded


@dataclass(frozen=True)
class CheckPointFinding:
    check_point_id: str
    finding: Finding
    note: str = ""


@dataclass(frozen=True)
class EvidenceFile:
    """A file kept in the evidence store, named by its content."""

    sha256: str
    size: int
    content_type: str


@dataclass(frozen=True)
class Sample:
    """A sample taken for a sampling check point and sent to a laboratory."""

    id: str
    check_point_id: str
    description: str
    laboratory: str
    quantity: int


@dataclass(frozen=True)
class LabReport:
    """A laboratory's report on one sample."""

    sample_id: str
    file: EvidenceFile


@dataclass(frozen=True)
class RecordContent:
    """What the inspectors write down (before it is stored as a version)."""

    started_at: dt.datetime
    ended_at: dt.datetime
    place: str
    members_present: tuple[str, ...]
    findings: tuple[CheckPointFinding, ...]
    acknowledgement: Acknowledgement
    refusal_reason: str = ""
    refusal_witness: str = ""
    samples: tuple[Sample, ...] = ()
    lab_reports: tuple[LabReport, ...] = ()
    attachments: tuple[EvidenceFile, ...] = ()


@dataclass(frozen=True)
class ChecklistRef:
    """The checklist revision a record was checked against."""

    item_code: str
    item_version: int
    revision: int


@dataclass(frozen=True)
class InspectionRecord:
    """One stored version of the record of assignment ``position`` of draw ``draw_id``."""

    record_id: str
    version: int
    draw_id: str
    position: int
    credit_code: str
    checklist: ChecklistRef
    content: RecordContent
    recorded_by: str
    recorded_at: dt.datetime
    revision_reason: str = ""
    content_hash: str = ""

    @property
    def name(self) -> str:
        return record_name(self.record_id)


def record_id_of(draw_id: str, position: int) -> str:
    """The record id of an assignment: one record (with its versions) per assignment."""
    return f"{draw_id}-{position}"


def record_name(record_id: str) -> str:
    return f"inspectionRecords/{record_id}"


def assignment_name(draw_id: str, position: int) -> str:
    return f"draws/{draw_id}/assignments/{position}"


# --- validation --------------------------------------------------------------------------------------------


def _file_problems(f: EvidenceFile, at: str) -> list[FieldViolation]:
    out: list[FieldViolation] = []
    if not SHA256_HEX.match(f.sha256):
        out.append(
            FieldViolation(f"{at}.sha256", "must be 64 lower-case hex digits (SHA-256)", "SHA256_INVALID")
        )
    if not 0 < f.size <= MAX_FILE_SIZE:
        out.append(FieldViolation(f"{at}.size", "must be a positive number of bytes", "VALUE_OUT_OF_RANGE"))
    if not CONTENT_TYPE.match(f.content_type):
        out.append(
            FieldViolation(
                f"{at}.content_type", "must be a media type such as application/pdf", "FORMAT_INVALID"
            )
        )
    return out


def _text(value: str, at: str, *, required: bool) -> list[FieldViolation]:
    if required and not value.strip():
        return [FieldViolation(at, "is required", "FIELD_REQUIRED")]
    if len(value) > MAX_TEXT:
        return [FieldViolation(at, f"at most {MAX_TEXT} characters", "VALUE_TOO_LONG")]
    return []


def record_problems(
    content: RecordContent,
    *,
    checklist: ChecklistRevision,
    team: Collection[str],
    leader: str,
    now: dt.datetime,
    drawn_at: dt.datetime,
    path: str = "inspection_record",
) -> list[FieldViolation]:
    """Every field violation of ``content`` against the checklist in force and the assignment's team."""
    out: list[FieldViolation] = []

    def bad(name: str, text: str, reason: str) -> None:
        out.append(FieldViolation(f"{path}.{name}", text, reason))

    # when and where
    if content.ended_at < content.started_at:
        bad("end_time", "is before the start time", "DATE_ORDER")
    if content.ended_at > now:
        bad("end_time", f"{content.ended_at.isoformat()} is in the future", "DATE_IN_FUTURE")
    if content.started_at < drawn_at:
        bad("start_time", f"is before the draw ({drawn_at.isoformat()})", "DATE_ORDER")
    out.extend(_text(content.place, f"{path}.place", required=True))

    # who signs: team members only, the leader always
    present = content.members_present
    if len(set(present)) != len(present):
        bad("members_present", "lists a member twice", "DUPLICATE_VALUE")
    for i, badge in enumerate(present):
        if badge not in team:
            bad(
                f"members_present[{i}]",
                f"{badge!r} is not on the assignment's team: only team members sign the record",
                "NOT_A_TEAM_MEMBER",
            )
    if leader not in present:
        bad("members_present", f"the team leader {leader!r} must be present", "LEADER_ABSENT")

    # one finding per check point
    points = {p.id: p for p in checklist.checklist.check_points}
    counted: dict[str, int] = {}
    for i, f in enumerate(content.findings):
        at = f"findings[{i}]"
        counted[f.check_point_id] = counted.get(f.check_point_id, 0) + 1
        if f.check_point_id not in points:
            bad(
                f"{at}.check_point_id",
                f"{f.check_point_id!r} is not a check point of checklist revision {checklist.revision}",
                "UNKNOWN_CHECK_POINT",
            )
        elif counted[f.check_point_id] == 2:
            bad(
                f"{at}.check_point_id",
                f"check point {f.check_point_id!r} has two findings",
                "DUPLICATE_VALUE",
            )
        if f.finding is Finding.NON_COMPLIANT and not f.note.strip():
            bad(f"{at}.note", "a non-compliant finding says what was found", "FIELD_REQUIRED")
        elif len(f.note) > MAX_TEXT:
            bad(f"{at}.note", f"at most {MAX_TEXT} characters", "VALUE_TOO_LONG")
    for point_id in points:
        if point_id not in counted:
            bad("findings", f"check point {point_id!r} has no finding", "FINDING_MISSING")

    # the enterprise's acknowledgement
    if content.acknowledgement is Acknowledgement.REFUSED:
        out.extend(_text(content.refusal_reason, f"{path}.refusal_reason", required=True))
        if not content.refusal_witness:
            bad("refusal_witness", "a refusal to sign is witnessed by a member present", "FIELD_REQUIRED")
        elif content.refusal_witness not in present:
            bad("refusal_witness", "the witness must be a member present", "NOT_A_TEAM_MEMBER")
    elif content.refusal_reason or content.refusal_witness:
        bad("refusal_reason", "only a refused record has a refusal reason and witness", "FIELDS_CONFLICT")

    # samples and laboratory reports
    if len(content.samples) > MAX_SAMPLES:
        bad("samples", f"at most {MAX_SAMPLES} samples", "VALUE_OUT_OF_RANGE")
    sample_ids: set[str] = set()
    sampled: set[str] = set()
    for i, s in enumerate(content.samples):
        at = f"samples[{i}]"
        if not SAMPLE_ID.match(s.id):
            bad(f"{at}.id", "1-64 characters of letters, digits, '.', '_' and '-'", "FORMAT_INVALID")
        elif s.id in sample_ids:
            bad(f"{at}.id", f"sample {s.id!r} is listed twice", "DUPLICATE_VALUE")
        sample_ids.add(s.id)
        point = points.get(s.check_point_id)
        if point is None or point.method is not CheckMethod.SAMPLING_AND_TESTING:
            bad(f"{at}.check_point_id", "must name a sampling-and-testing check point", "UNKNOWN_CHECK_POINT")
        sampled.add(s.check_point_id)
        out.extend(_text(s.description, f"{path}.{at}.description", required=True))
        out.extend(_text(s.laboratory, f"{path}.{at}.laboratory", required=True))
        if not 0 < s.quantity <= 1_000_000:
            bad(f"{at}.quantity", "must be between 1 and 1000000", "VALUE_OUT_OF_RANGE")
    for point_id, point in points.items():
        if point.method is not CheckMethod.SAMPLING_AND_TESTING or point_id in sampled:
            continue
        finding = next((f for f in content.findings if f.check_point_id == point_id), None)
        if finding is None or finding.finding is not Finding.NOT_APPLICABLE:
            bad("samples", f"sampling check point {point_id!r} needs at least one sample", "SAMPLE_MISSING")
    if len(content.lab_reports) > MAX_FILES:
        bad("lab_reports", f"at most {MAX_FILES} reports", "VALUE_OUT_OF_RANGE")
    for i, r in enumerate(content.lab_reports):
        if r.sample_id not in sample_ids:
            bad(f"lab_reports[{i}].sample_id", f"no sample {r.sample_id!r} in this record", "UNKNOWN_SAMPLE")
        out.extend(_file_problems(r.file, f"{path}.lab_reports[{i}].file"))
    if len(content.attachments) > MAX_FILES:
        bad("attachments", f"at most {MAX_FILES} attachments", "VALUE_OUT_OF_RANGE")
    for i, a in enumerate(content.attachments):
        out.extend(_file_problems(a, f"{path}.attachments[{i}]"))
    if len({a.sha256 for a in content.attachments}) != len(content.attachments):
        bad("attachments", "lists a file twice", "DUPLICATE_VALUE")
    return out


# --- the canonical document and its hash ----------------------------------------------------------------


def _instant(value: dt.datetime) -> str:
    """An instant in UTC with microseconds, one spelling per instant."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_instant(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def _file_doc(f: EvidenceFile) -> dict[str, Any]:
    return {"sha256": f.sha256, "size": f.size, "content_type": f.content_type}


def _file_from(d: Mapping[str, Any]) -> EvidenceFile:
    return EvidenceFile(d["sha256"], int(d["size"]), d["content_type"])


def record_document(r: InspectionRecord) -> dict[str, Any]:
    """Everything a record version says, as a JSON object; its canonical JSON is what ``content_hash``
    hashes (the hash itself is not part of it)."""
    c = r.content
    return {
        "record": r.record_id,
        "version": r.version,
        "assignment": assignment_name(r.draw_id, r.position),
        "credit_code": r.credit_code,
        "checklist": {
            "item_code": r.checklist.item_code,
            "item_version": r.checklist.item_version,
            "revision": r.checklist.revision,
        },
        "start_time": _instant(c.started_at),
        "end_time": _instant(c.ended_at),
        "place": c.place,
        "members_present": list(c.members_present),
        "findings": [
            {"check_point_id": f.check_point_id, "finding": f.finding.value, "note": f.note}
            for f in c.findings
        ],
        "acknowledgement": c.acknowledgement.value,
        "refusal_reason": c.refusal_reason,
        "refusal_witness": c.refusal_witness,
        "samples": [
            {
                "id": s.id,
                "check_point_id": s.check_point_id,
                "description": s.description,
                "laboratory": s.laboratory,
                "quantity": s.quantity,
            }
            for s in c.samples
        ],
        "lab_reports": [{"sample_id": x.sample_id, "file": _file_doc(x.file)} for x in c.lab_reports],
        "attachments": [_file_doc(a) for a in c.attachments],
        "recorded_by": r.recorded_by,
        "record_time": _instant(r.recorded_at),
        "revision_reason": r.revision_reason,
    }


def record_from_document(doc: Mapping[str, Any], content_hash: str = "") -> InspectionRecord:
    """The inverse of ``record_document``."""
    draw_part, position = doc["assignment"].removeprefix("draws/").split("/assignments/")
    ref = doc["checklist"]
    return InspectionRecord(
        record_id=doc["record"],
        version=int(doc["version"]),
        draw_id=draw_part,
        position=int(position),
        credit_code=doc["credit_code"],
        checklist=ChecklistRef(ref["item_code"], int(ref["item_version"]), int(ref["revision"])),
        content=RecordContent(
            started_at=_parse_instant(doc["start_time"]),
            ended_at=_parse_instant(doc["end_time"]),
            place=doc["place"],
            members_present=tuple(doc["members_present"]),
            findings=tuple(
                CheckPointFinding(f["check_point_id"], Finding(f["finding"]), f["note"])
                for f in doc["findings"]
            ),
            acknowledgement=Acknowledgement(doc["acknowledgement"]),
            refusal_reason=doc["refusal_reason"],
            refusal_witness=doc["refusal_witness"],
            samples=tuple(
                Sample(s["id"], s["check_point_id"], s["description"], s["laboratory"], int(s["quantity"]))
                for s in doc["samples"]
            ),
            lab_reports=tuple(LabReport(x["sample_id"], _file_from(x["file"])) for x in doc["lab_reports"]),
            attachments=tuple(_file_from(a) for a in doc["attachments"]),
        ),
        recorded_by=doc["recorded_by"],
        recorded_at=_parse_instant(doc["record_time"]),
        revision_reason=doc["revision_reason"],
        content_hash=content_hash,
    )


def canonical_record(r: InspectionRecord) -> bytes:
    """The canonical JSON (RFC 8785) of a record version."""
    return canonical_json(record_document(r))


def record_hash(r: InspectionRecord) -> str:
    """SHA-256 (hex) of the record's canonical JSON."""
    return sha256_hex(canonical_record(r))
