"""Remote commands on item checklists (``checklists``, Art. 4 and 11) and inspection records (``records``,
Art. 12). Checklists and records are written as JSON files in the proto's JSON form (field names in
lower_snake_case or lowerCamelCase, enums by name: ``"method": "CHECK_METHOD_ON_SITE"``)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

from dualdraw.v1 import checklists_pb2, inspection_records_pb2
from dualdraw_client.dates import date_text

from ..client import DualdrawClient
from ..i18n import _
from ..records import RecordError
from .options import add_command, add_group, idempotency_key, limited, positive_int
from .output import Output, aligned_pairs, show_time

COMMANDS: Final = frozenset({"checklists", "records"})

_M = TypeVar("_M", bound=Message)
_ir = inspection_records_pb2


def read_message(path: str, message: _M) -> _M:
    """``message`` filled from the JSON file ``path`` (``RecordError`` naming the file otherwise)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        json_format.Parse(text, message)
    except (json_format.ParseError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        problem = _("not a valid JSON document of this kind: {problem}").format(problem=exc)
        raise RecordError(path, None, None, problem) from None
    return message


METHODS: Final = {
    checklists_pb2.CHECK_METHOD_ON_SITE: "on site",
    checklists_pb2.CHECK_METHOD_DOCUMENT_REVIEW: "document review",
    checklists_pb2.CHECK_METHOD_ONLINE: "online",
    checklists_pb2.CHECK_METHOD_SAMPLING_AND_TESTING: "sampling and testing",
}
FINDINGS: Final = {
    _ir.CHECK_FINDING_COMPLIANT: "compliant",
    _ir.CHECK_FINDING_NON_COMPLIANT: "non-compliant",
    _ir.CHECK_FINDING_NOT_APPLICABLE: "not applicable",
}
ACKNOWLEDGEMENTS: Final = {
    _ir.ACKNOWLEDGEMENT_ACKNOWLEDGED: "acknowledged (signed)",
    _ir.ACKNOWLEDGEMENT_REFUSED: "refused to sign",
}


def _label(labels: Mapping[Any, str], value: int) -> str:
    """The reader's word for an enum value (empty when unset)."""
    return _(labels[value]) if value in labels else ""


# -- checklists ---------------------------------------------------------------------------------------------


def _show_checklist(out: Output, c: checklists_pb2.Checklist) -> int:
    if out.json:
        out.document(c)
        return 0
    day = c.effective_date
    out.lines(
        aligned_pairs(
            [
                ("checklist", c.name),
                ("revision", str(c.revision)),
                ("item version", str(c.item_version)),
                ("effective from", date_text(day)),
                ("sample requirements", c.sample_requirements),
                ("laboratory requirements", c.laboratory_requirements),
                ("change reason", c.change_reason),
                ("made by", c.creator),
                ("made at", show_time(c.create_time)),
            ]
        )
    )
    out.table(
        iter(c.check_points),
        ["ID", "METHOD", "CHECK POINT", "LEGAL BASIS"],
        lambda p: [
            p.id,
            _label(METHODS, p.method),
            p.text,
            p.legal_basis,
        ],
        "l",
    )
    return 0


def _cmd_checklist_set(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    checklist = read_message(args.file, checklists_pb2.Checklist())
    stored = client.revise_checklist(args.item_code, checklist, request_id=idempotency_key(args))
    return _show_checklist(out, stored)


def _cmd_checklist_get(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    return _show_checklist(out, client.get_checklist(args.item_code, args.revision or 0))


def _cmd_checklist_history(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    out.table(
        iter(client.checklist_revisions(args.item_code)),
        ["REV", "ITEM VERSION", "EFFECTIVE", "POINTS", "BY", "REASON"],
        lambda c: [
            str(c.revision),
            str(c.item_version),
            date_text(c.effective_date),
            str(len(c.check_points)),
            c.creator,
            c.change_reason,
        ],
        "rr",
    )
    return 0


# -- inspection records --------------------------------------------------------------------------------


def _show_record(out: Output, r: _ir.InspectionRecord) -> int:
    if out.json:
        out.document(r)
        return 0
    out.lines(
        aligned_pairs(
            [
                ("record", r.name),
                ("version", str(r.version)),
                ("assignment", r.assignment),
                ("object", r.credit_code),
                ("checklist", f"{r.checklist} r{r.checklist_revision} (v{r.item_version})"),
                ("start", show_time(r.start_time)),
                ("end", show_time(r.end_time)),
                ("place", r.place),
                ("members present", ", ".join(r.members_present)),
                ("enterprise", _label(ACKNOWLEDGEMENTS, r.acknowledgement)),
                ("refusal reason", r.refusal_reason),
                ("refusal witness", r.refusal_witness),
                ("samples", str(len(r.samples))),
                ("lab reports", str(len(r.lab_reports))),
                ("attachments", str(len(r.attachments))),
                ("recorded by", r.recorder),
                ("recorded at", show_time(r.record_time)),
                ("revision reason", r.revision_reason),
                ("content hash", r.content_hash),
            ]
        )
    )
    out.table(
        iter(r.findings),
        ["CHECK POINT", "FINDING", "NOTE"],
        lambda f: [f.check_point_id, _label(FINDINGS, f.finding), f.note],
        "l",
    )
    return 0


def _cmd_record_create(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    record = read_message(args.file, _ir.InspectionRecord())
    if args.assignment:
        record.assignment = args.assignment
    return _show_record(out, client.create_inspection_record(record, request_id=idempotency_key(args)))


def _cmd_record_revise(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    record = read_message(args.file, _ir.InspectionRecord())
    stored = client.revise_inspection_record(
        args.record, record, args.reason, request_id=idempotency_key(args)
    )
    return _show_record(out, stored)


def _cmd_record_get(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    return _show_record(out, client.get_inspection_record(args.record, args.version or 0))


def _record_rows(out: Output, records: Iterable[_ir.InspectionRecord]) -> None:
    out.table(
        iter(records),
        ["RECORD", "VER", "ASSIGNMENT", "CREDIT CODE", "END", "BY", "HASH"],
        lambda r: [
            r.name.removeprefix("inspectionRecords/"),
            str(r.version),
            r.assignment,
            r.credit_code,
            show_time(r.end_time),
            r.recorder,
            r.content_hash[:16],
        ],
        "lr",
    )


def _cmd_record_list(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    assignment = f"draws/{args.draw_id}/assignments/{args.position}" if args.draw_id and args.position else ""
    found = client.iter_inspection_records(draw_id=args.draw_id or "", assignment=assignment)
    _record_rows(out, limited(found, args))
    return 0


def _cmd_record_history(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    _record_rows(out, client.inspection_record_versions(args.record))
    return 0


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: list[argparse.ArgumentParser],
) -> None:
    """Adds :data:`COMMANDS` to the remote command line."""
    checklists = add_group(subparsers, "checklists", "check points per inspection item (Art. 4, 11)")
    p = add_command(
        checklists, "set", _cmd_checklist_set, "store the next revision of an item's checklist", common
    )
    p.add_argument("item_code", metavar="ITEM")
    p.add_argument("--file", required=True, metavar="FILE", help="the checklist as a JSON file")
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p = add_command(checklists, "get", _cmd_checklist_get, "show an item's checklist", common)
    p.add_argument("item_code", metavar="ITEM")
    p.add_argument("--revision", type=positive_int, metavar="N", help="this revision (default: the latest)")
    p = add_command(
        checklists, "history", _cmd_checklist_history, "every revision of an item's checklist", common
    )
    p.add_argument("item_code", metavar="ITEM")

    records = add_group(subparsers, "records", "inspection records of assignments (Art. 12)")
    p = add_command(records, "create", _cmd_record_create, "record the inspection of an assignment", common)
    p.add_argument("--file", required=True, metavar="FILE", help="the record as a JSON file")
    p.add_argument(
        "--assignment", metavar="NAME", help="draws/DRAW_ID/assignments/POSITION (default: the file's)"
    )
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p = add_command(
        records, "revise", _cmd_record_revise, "revise a record: a new version with a reason", common
    )
    p.add_argument("record", metavar="RECORD")
    p.add_argument("--file", required=True, metavar="FILE", help="the revised record as a JSON file")
    p.add_argument("--reason", required=True, help="why the record is revised")
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p = add_command(records, "get", _cmd_record_get, "show an inspection record", common)
    p.add_argument("record", metavar="RECORD")
    p.add_argument("--version", type=positive_int, metavar="N", help="this version (default: the latest)")
    p = add_command(records, "list", _cmd_record_list, "current inspection records", common, listing=True)
    p.add_argument("draw_id", nargs="?", metavar="DRAW_ID")
    p.add_argument("position", nargs="?", type=positive_int, metavar="POSITION")
    p = add_command(records, "history", _cmd_record_history, "every version of one record", common)
    p.add_argument("record", metavar="RECORD")
