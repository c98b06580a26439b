"""Remote commands on inspection results and their publication: ``results``, ``itemlist`` (the item list's
published versions), ``export`` and ``credit-export`` (the credit feed)."""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Final

from dualdraw.v1 import publication_pb2, results_pb2

from ..client import DualdrawClient
from ..dates import date_pb, date_text
from ..i18n import _
from .options import add_command, add_group, idempotency_key, iso_date, limited, positive_int
from .output import Output, aligned_pairs, show_time

COMMANDS: Final = frozenset({"results", "itemlist", "export", "credit-export"})

OUTCOMES: Final = {
    "no_problem": results_pb2.OUTCOME_NO_PROBLEM,
    "problem_corrected": results_pb2.OUTCOME_PROBLEM_CORRECTED,
    "case_opened": results_pb2.OUTCOME_CASE_OPENED,
    "not_found_at_address": results_pb2.OUTCOME_NOT_FOUND_AT_ADDRESS,
    "no_relevant_activity": results_pb2.OUTCOME_NO_RELEVANT_ACTIVITY,
}
_OUTCOME_NAMES: Final = {v: k for k, v in OUTCOMES.items()}
KINDS: Final = {
    "results": publication_pb2.EXPORT_KIND_RESULTS,
    "assignments": publication_pb2.EXPORT_KIND_ASSIGNMENTS,
    "exclusions": publication_pb2.EXPORT_KIND_EXCLUSIONS,
    "items": publication_pb2.EXPORT_KIND_ITEMS,
}
FORMATS: Final = {"csv": publication_pb2.EXPORT_FORMAT_CSV, "jsonl": publication_pb2.EXPORT_FORMAT_JSONL}
_CHUNK: Final = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _result_from_args(args: argparse.Namespace) -> results_pb2.InspectionResult:
    hashes = [h.lower() for h in args.attachment_sha256 or []]
    hashes += [sha256_of(Path(p)) for p in args.attachment or []]
    return results_pb2.InspectionResult(
        draw_id=args.draw_id,
        position=args.position,
        outcome=OUTCOMES[args.outcome],
        inspected_on=date_pb(args.inspected_on),
        findings=args.findings or "",
        attachment_sha256=hashes,
        penalty_decision_number=args.penalty_decision or "",
        referred_to_judicial=bool(args.referred),
        referral_note=args.referral_note or "",
    )


def _result_pairs(r: results_pb2.InspectionResult) -> list[tuple[str, str]]:
    return [
        ("record", r.record_id),
        ("object", r.credit_code),
        ("outcome", _OUTCOME_NAMES.get(r.outcome, "")),
        ("inspected on", date_text(r.inspected_on)),
        ("findings", r.findings),
        ("attachments", ", ".join(r.attachment_sha256)),
        ("penalty decision", r.penalty_decision_number),
        ("referred to judicial organs", _("yes") if r.referred_to_judicial else _("no")),
        ("recorded by", r.recorded_by),
        ("recorded at", show_time(r.record_time)),
        ("correction reason", r.correction_reason),
    ]


def _show_result(out: Output, r: results_pb2.InspectionResult) -> int:
    if out.json:
        out.document(r)
    else:
        out.lines(aligned_pairs(_result_pairs(r)))
    return 0


def _cmd_record(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    return _show_result(out, client.record_result(_result_from_args(args), request_id=idempotency_key(args)))


def _cmd_correct(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    stored = client.correct_result(_result_from_args(args), args.reason, request_id=idempotency_key(args))
    return _show_result(out, stored)


def _result_rows(out: Output, results: Iterator[results_pb2.InspectionResult]) -> None:
    out.table(
        results,
        ["DRAW", "POS", "VER", "CREDIT CODE", "OUTCOME", "INSPECTED", "BY", "REASON"],
        lambda r: [
            r.draw_id,
            str(r.position),
            str(r.version),
            r.credit_code,
            _OUTCOME_NAMES.get(r.outcome, ""),
            date_text(r.inspected_on),
            r.recorded_by,
            r.correction_reason,
        ],
        "lrr",
    )


def _cmd_list(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    _result_rows(out, limited(client.iter_results(draw_id=args.draw_id or ""), args))
    return 0


def _cmd_history(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    _result_rows(out, iter(client.result_versions(args.draw_id, args.position)))
    return 0


def _cmd_publish(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    p = client.publish_results(args.draw_id, request_id=idempotency_key(args))
    if out.json:
        out.document(p)
        return 0
    out.lines(
        aligned_pairs(
            [
                ("draw", p.draw_id),
                ("revision", str(p.revision)),
                ("results published", str(p.result_count)),
                ("published at", show_time(p.publish_time)),
                ("inspection ended", date_text(p.inspection_end_date)),
                ("deadline", date_text(p.deadline) + ("" if p.on_time else "  " + _("(LATE)"))),
                ("verification", p.verification),
                ("checkpoint", str(p.sequence)),
            ]
        )
    )
    return 0


def _cmd_pending(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    rows = client.pending_publications(as_of=args.as_of, overdue_only=not args.all)
    out.table(
        iter(rows),
        [
            "DRAW",
            "TASK",
            "INSPECTION ENDED",
            "DEADLINE",
            "OVERDUE (WORKING DAYS)",
            "UNPUBLISHED",
            "UNRECORDED",
        ],
        lambda d: [
            d.draw_id,
            d.task_id,
            date_text(d.inspection_end_date) or "-",
            date_text(d.deadline),
            str(d.overdue_working_days),
            str(d.unpublished_results),
            str(d.unrecorded_results),
        ],
        "llllrrr",
    )
    return 0


def _version_rows(out: Output, versions: list[publication_pb2.ItemVersion]) -> None:
    out.table(
        iter(versions),
        ["CODE", "VER", "EFFECTIVE", "NAME", "CHANGED", "SUMMARY", "LEGAL BASIS OF CHANGE"],
        lambda v: [
            v.code,
            str(v.version),
            date_text(v.effective_from),
            v.item.display_name,
            ",".join(v.changed_fields),
            v.change_summary,
            v.change_legal_basis,
        ],
        "lr",
    )


def _cmd_itemlist_publish(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    made = client.publish_item_list(args.effective_from, args.summary, args.legal_basis)
    if not made and not out.json:
        out.line(_("nothing changed since the last publication"))
    _version_rows(out, made)
    return 0


def _cmd_itemlist_show(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    _version_rows(out, client.published_items(args.as_of))
    return 0


def _cmd_itemlist_history(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    _version_rows(out, client.item_versions(args.code))
    return 0


@contextmanager
def _target(path: str | None) -> Iterator[BinaryIO]:
    if path in (None, "-"):
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with open(path, "wb") as f:
        yield f


def _to_file(path: str | None) -> bool:
    return path not in (None, "-")


def _cmd_export(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    """The records to the file or standard output. ``--json``: on standard output the records come as JSON
    Lines whatever ``--format`` says; written to a file, a summary document is printed."""
    fmt = "jsonl" if out.json and not _to_file(args.output) else args.format
    size = 0
    with _target(args.output) as sink:
        for data in client.export(KINDS[args.kind], FORMATS[fmt], draw_id=args.draw or ""):
            sink.write(data)
            size += len(data)
    if out.json and _to_file(args.output):
        out.document({"kind": args.kind, "format": fmt, "path": args.output, "size": size})
    return 0


def _cmd_credit_export(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    """The feed to the file or standard output, the checkpoint to pass next time on stderr (``--json`` with
    a file: a summary document on standard output instead)."""
    checkpoint, records = args.since, 0
    with _target(args.output) as sink:
        for chunk in client.export_credit_records(args.since):
            sink.write(chunk.data)
            checkpoint, records = chunk.checkpoint, records + chunk.records
    if out.json and _to_file(args.output):
        out.document({"path": args.output, "records": records, "checkpoint": checkpoint})
        return 0
    message = _("{records} record(s); checkpoint {checkpoint} (pass --since {checkpoint} next time)")
    sys.stderr.write(message.format(records=records, checkpoint=checkpoint) + "\n")
    return 0


def _result_fields(p: argparse.ArgumentParser) -> None:
    p.add_argument("draw_id", metavar="DRAW_ID")
    p.add_argument("position", type=positive_int, metavar="POSITION")
    p.add_argument("--outcome", required=True, choices=sorted(OUTCOMES))
    p.add_argument("--inspected-on", required=True, type=iso_date, metavar="DATE", help="last day")
    p.add_argument("--findings", help="what was found (required when a problem was found)")
    p.add_argument(
        "--attachment", action="append", metavar="FILE", help="hash this file (SHA-256) and cite it"
    )
    p.add_argument("--attachment-sha256", action="append", metavar="HEX", help="cite an attachment by hash")
    p.add_argument("--penalty-decision", metavar="NUMBER", help="penalty decision number (case_opened)")
    p.add_argument("--referred", action="store_true", help="transferred to the judicial organs (Art. 13)")
    p.add_argument("--referral-note")
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: list[argparse.ArgumentParser],
) -> None:
    """Adds :data:`COMMANDS` to the remote command line."""
    results = add_group(subparsers, "results", "inspection results and their publication (Art. 12-14)")
    _result_fields(add_command(results, "record", _cmd_record, "record the result of an assignment", common))
    p = add_command(results, "correct", _cmd_correct, "correct a result: a new version with a reason", common)
    _result_fields(p)
    p.add_argument("--reason", required=True, help="why the recorded result is corrected")
    p = add_command(results, "list", _cmd_list, "current results", common, listing=True)
    p.add_argument("draw_id", nargs="?", metavar="DRAW_ID")
    p = add_command(results, "history", _cmd_history, "every version of one result", common)
    p.add_argument("draw_id", metavar="DRAW_ID")
    p.add_argument("position", type=positive_int, metavar="POSITION")
    help_text = "publish the results of a draw recorded so far (as they come)"
    p = add_command(results, "publish", _cmd_publish, help_text, common)
    p.add_argument("draw_id", metavar="DRAW_ID")
    p.add_argument("--request-id", help="kept in the audit log")
    p = add_command(
        results,
        "overdue",
        _cmd_pending,
        "draws past the 20-working-day publication deadline (counted from the draw)",
        common,
    )
    p.add_argument("--as-of", type=iso_date, metavar="DATE", help="judge at this day (default: today)")
    p.add_argument("--all", action="store_true", help="every draw due for publication, not only overdue ones")

    itemlist = add_group(subparsers, "itemlist", "the published item list and its versions (Art. 5)")
    p = add_command(
        itemlist, "publish", _cmd_itemlist_publish, "publish new and changed items as versions", common
    )
    p.add_argument("--effective-from", required=True, type=iso_date, metavar="DATE")
    p.add_argument("--summary", required=True, help="what changed")
    p.add_argument("--legal-basis", required=True, help="legal basis of the change")
    p = add_command(itemlist, "show", _cmd_itemlist_show, "the published list as of a day", common)
    p.add_argument("--as-of", type=iso_date, metavar="DATE")
    p = add_command(itemlist, "history", _cmd_itemlist_history, "every published version of an item", common)
    p.add_argument("code")

    p = add_command(
        subparsers, "export", _cmd_export, "export results, assignments, exclusions or items", common
    )
    p.add_argument("kind", choices=sorted(KINDS))
    p.add_argument("--format", choices=sorted(FORMATS), default="csv")
    p.add_argument("--draw", metavar="DRAW_ID", help="the draw (required for assignments and exclusions)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: standard output)")
    p = add_command(
        subparsers, "credit-export", _cmd_credit_export, "credit-record feed (docs/CREDIT-EXPORT.md)", common
    )
    p.add_argument(
        "--since", type=int, default=0, metavar="CHECKPOINT", help="checkpoint of the last delivery"
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: standard output)")
