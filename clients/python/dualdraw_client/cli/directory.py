"""Remote commands on the directory: ``import`` (CSV or JSON Lines in one transaction), ``objects``,
``inspectors``, ``departments`` and ``transfer``."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from dualdraw.v1 import directory_pb2

from ..client import DualdrawClient
from ..dates import date_text
from ..errors import DualdrawError
from ..i18n import _
from ..progress import Bar
from ..records import KINDS, DirectoryRecord, SourceMap, chunk_records, read_files
from .options import add_command, add_group, idempotency_key, limited, positive_int
from .output import Output, aligned_pairs, enum_name, format_table, show_time


def _cmd_import(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    source_map = SourceMap()
    with Bar(_("importing"), unit="record") as bar:

        def counted() -> Iterator[DirectoryRecord]:
            for record in read_files(args.files, args.kind, source_map):
                bar.advance()
                yield record

        chunks = chunk_records(counted(), max_records=args.chunk_records)
        try:
            result = client.import_directory(chunks, request_id=idempotency_key(args))
        except DualdrawError as exc:
            _locate_violations(exc, source_map)
            raise
    if out.json:
        out.document(result)
        return 0
    rows = [[_(KIND_NAMES.get(kind, kind)), str(getattr(result, kind))] for kind in KINDS]
    out.lines(format_table(["KIND", "IMPORTED"], rows, "lr"))
    read = sum(len(origins) for origins in source_map.origins.values())
    message = _("{read} records read from {files} file(s); imported at {time}")
    out.line(message.format(read=read, files=len(args.files), time=show_time(result.imported_at)))
    return 0


KIND_NAMES = {
    "departments": "departments",
    "objects": "objects",
    "inspectors": "inspectors",
    "complaints": "complaints",
    "campaigns": "campaigns",
    "risk_assessments": "risk assessments",
    "statutory_designations": "statutory designations",
}
"""What each kind of record is called in the import summary (looked up in the reader's language)."""


def _locate_violations(error: DualdrawError, source_map: SourceMap) -> None:
    """Rewrites ``objects[3].credit_code`` violations to ``objects.csv:5: credit_code`` when known."""
    for index, violation in enumerate(error.field_violations):
        found = source_map.locate(violation.field)
        if found is not None:
            origin, rest = found
            where = f"{origin}: {rest}" if rest else str(origin)
            error.field_violations[index] = type(violation)(
                f"{where} ({violation.field})", violation.description
            )


def _object_pairs(obj: directory_pb2.InspectionObject) -> list[tuple[str, str]]:
    return [
        ("credit code", obj.credit_code),
        ("name", obj.display_name),
        ("region", obj.region_code),
        ("department", obj.registering_department_id),
        ("office", obj.office),
        ("industry", obj.industry),
        ("business lines", ", ".join(obj.business_lines)),
        ("risk class", enum_name(directory_pb2.RiskClass.Name(obj.risk_class), "RISK_CLASS_")),
        ("status", enum_name(directory_pb2.ObjectStatus.Name(obj.status), "OBJECT_STATUS_")),
    ]


def _cmd_objects_list(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    out.table(
        limited(client.iter_objects(department_id=args.department or ""), args),
        ["CREDIT CODE", "NAME", "REGION", "DEPARTMENT", "INDUSTRY", "RISK", "STATUS", "BUSINESS LINES"],
        lambda o: [
            o.credit_code,
            o.display_name,
            o.region_code,
            o.registering_department_id,
            o.industry,
            enum_name(directory_pb2.RiskClass.Name(o.risk_class), "RISK_CLASS_"),
            enum_name(directory_pb2.ObjectStatus.Name(o.status), "OBJECT_STATUS_"),
            ",".join(o.business_lines),
        ],
    )
    return 0


def _cmd_objects_get(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    obj = client.get_object(args.credit_code)
    if out.json:
        out.document(obj)
    else:
        out.lines(aligned_pairs(_object_pairs(obj)))
    return 0


def _specialities(inspector: directory_pb2.Inspector) -> str:
    return ", ".join(
        _("{code} (to {expires})").format(code=s.code, expires=date_text(s.certificate_expires_on))
        if s.HasField("certificate_expires_on")
        else s.code
        for s in inspector.specialities
    )


def _cmd_inspectors_list(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    out.table(
        limited(client.iter_inspectors(department_id=args.department or ""), args),
        ["BADGE", "NAME", "DEPARTMENT", "OFFICE", "AVAILABLE", "SPECIALITIES", "CONFLICTS"],
        lambda i: [
            i.badge_number,
            i.display_name,
            i.department_id,
            i.office,
            _("yes") if i.available else _("no"),
            _specialities(i),
            str(len(i.conflicts)),
        ],
        "llllllr",
    )
    return 0


def _cmd_departments_list(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    out.table(
        limited(client.iter_departments(root_id=args.root or ""), args),
        ["ID", "NAME", "PARENT", "LEVEL", "REGION"],
        lambda d: [d.id, d.display_name, d.parent_id, str(d.level), d.region_code],
        "lllr",
    )
    return 0


def _cmd_transfer(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    moved = client.transfer_record(args.kind, args.key, args.to, args.reason)
    if out.json:
        out.document(moved)
    elif moved.moved:
        message = _("{kind} {key}: {source} -> {target}")
        out.line(
            message.format(
                kind=args.kind, key=moved.key, source=moved.from_department_id, target=moved.to_department_id
            )
        )
    else:
        message = _("{kind} {key} is in {target} already: nothing changed")
        out.line(message.format(kind=args.kind, key=moved.key, target=moved.to_department_id))
    return 0


def add_import_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: list[argparse.ArgumentParser]
) -> None:
    """Adds ``import``."""
    p = add_command(
        subparsers,
        "import",
        _cmd_import,
        "import directory files (CSV or JSON Lines) in one transaction",
        common,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="CSV (one kind per file) or .jsonl files")
    p.add_argument("--kind", choices=KINDS, help="kind of the CSV files (default: from the file name)")
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p.add_argument("--chunk-records", type=positive_int, default=2000, metavar="N", help=argparse.SUPPRESS)


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: list[argparse.ArgumentParser]
) -> None:
    """Adds ``objects``, ``inspectors``, ``departments`` and ``transfer``."""
    objects = add_group(subparsers, "objects", "inspection objects")
    p = add_command(objects, "list", _cmd_objects_list, "list inspection objects", common, listing=True)
    p.add_argument("--department", help="only objects registered by this department or its subtree")
    p = add_command(objects, "get", _cmd_objects_get, "show one inspection object", common)
    p.add_argument("credit_code", metavar="CREDIT_CODE")

    inspectors = add_group(subparsers, "inspectors", "enforcement inspectors")
    p = add_command(inspectors, "list", _cmd_inspectors_list, "list inspectors", common, listing=True)
    p.add_argument("--department", help="only this department's inspectors")

    departments = add_group(subparsers, "departments", "enforcement departments")
    p = add_command(departments, "list", _cmd_departments_list, "list departments", common, listing=True)
    p.add_argument("--root", help="only this department's subtree")

    help_text = "move an object, inspector or department to another department (an import never does)"
    p = add_command(subparsers, "transfer", _cmd_transfer, help_text, common)
    p.add_argument("kind", choices=["object", "inspector", "department"], help="what moves")
    p.add_argument("key", metavar="KEY", help="credit code, badge number or department id")
    p.add_argument(
        "--to", required=True, metavar="DEPARTMENT", help="the new (registering/parent) department"
    )
    p.add_argument("--reason", required=True, help="why the record moves (kept in the audit log)")
