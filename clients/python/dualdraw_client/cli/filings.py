"""Remote commands on directory filing with the level above (Art. 7): ``filings submit/list/status/
acknowledge/return/diff``."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from dualdraw.v1 import filings_pb2

from ..client import DualdrawClient
from ..i18n import _
from .options import add_command, add_group, idempotency_key, limited
from .output import Output, aligned_pairs, show_time

RETURN_REASONS = {
    "level-jurisdiction": filings_pb2.FILING_RETURN_REASON_LEVEL_JURISDICTION,
    "territorial-jurisdiction": filings_pb2.FILING_RETURN_REASON_TERRITORIAL_JURISDICTION,
    "professional-requirements": filings_pb2.FILING_RETURN_REASON_PROFESSIONAL_REQUIREMENTS,
    "inspector-numbers": filings_pb2.FILING_RETURN_REASON_INSPECTOR_NUMBERS,
    "incomplete": filings_pb2.FILING_RETURN_REASON_INCOMPLETE,
    "inaccurate": filings_pb2.FILING_RETURN_REASON_INACCURATE,
    "other": filings_pb2.FILING_RETURN_REASON_OTHER,
}


STATES = {
    filings_pb2.DIRECTORY_FILING_STATE_SUBMITTED: "submitted",
    filings_pb2.DIRECTORY_FILING_STATE_ACKNOWLEDGED: "acknowledged",
    filings_pb2.DIRECTORY_FILING_STATE_RETURNED: "returned",
}
CHILD_STATES = {
    filings_pb2.CHILD_FILING_STATE_NEVER_FILED: "never filed",
    filings_pb2.CHILD_FILING_STATE_SUBMITTED: "submitted",
    filings_pb2.CHILD_FILING_STATE_ACKNOWLEDGED: "acknowledged",
    filings_pb2.CHILD_FILING_STATE_RETURNED: "returned",
    filings_pb2.CHILD_FILING_STATE_STALE: "stale",
}
KINDS = {
    filings_pb2.DIRECTORY_KIND_OBJECTS: "objects",
    filings_pb2.DIRECTORY_KIND_INSPECTORS: "inspectors",
    filings_pb2.DIRECTORY_KIND_EXPERTS: "experts",
    filings_pb2.DIRECTORY_KIND_TESTING_INSTITUTIONS: "testing institutions",
}
CHANGES = {
    filings_pb2.RECORD_CHANGE_ADDED: "added",
    filings_pb2.RECORD_CHANGE_REMOVED: "removed record",
    filings_pb2.RECORD_CHANGE_CHANGED: "changed",
}
"""What the tables print for each enum value (in the reader's language); ``--json`` prints the enum names."""


def _word(words: Mapping[Any, str], value: int) -> str:
    return _(words[value]) if value in words else ""


def _short(name: str, prefix: str) -> str:
    """A resource id without its collection (``departments/X`` → ``X``)."""
    return name.removeprefix(prefix)


def _state(state: filings_pb2.DirectoryFilingState.ValueType) -> str:
    return _word(STATES, state)


def _counts(f: filings_pb2.DirectoryFiling) -> dict[int, int]:
    return {d.kind: d.count for d in f.directories}


def show_filing(f: filings_pb2.DirectoryFiling, out: Output) -> int:
    if out.json:
        out.document(f)
        return 0
    counts = _counts(f)
    pairs = [
        ("filing", _short(f.name, "directoryFilings/")),
        ("state", _state(f.state)),
        ("department", _short(f.department, "departments/")),
        ("filed with", _short(f.parent_department, "departments/")),
        *((word, str(counts.get(kind, 0))) for kind, word in KINDS.items()),
        ("digest", f.digest),
        ("submitted", _("{time} by {actor}").format(time=show_time(f.submit_time), actor=f.submitter)),
    ]
    if f.note:
        pairs.append(("note", f.note))
    if f.HasField("decide_time"):
        pairs.append(
            ("decided", _("{time} by {actor}").format(time=show_time(f.decide_time), actor=f.decider))
        )
    if f.return_reason:
        words = {number: word for word, number in RETURN_REASONS.items()}
        pairs.append(("return reason", _word(words, f.return_reason)))
        pairs.append(("return note", f.return_note))
    if f.superseded_by:
        pairs.append(("superseded by", _short(f.superseded_by, "directoryFilings/")))
    out.lines(aligned_pairs(pairs))
    return 0


def _cmd_submit(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    filing = client.submit_directory_filing(
        args.department, note=args.note or "", request_id=idempotency_key(args)
    )
    return show_filing(filing, out)


def _cmd_acknowledge(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    return show_filing(
        client.acknowledge_directory_filing(args.filing, request_id=idempotency_key(args)), out
    )


def _cmd_return(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    filing = client.return_directory_filing(
        args.filing, RETURN_REASONS[args.reason], note=args.note or "", request_id=idempotency_key(args)
    )
    return show_filing(filing, out)


def _cmd_list(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    filings = client.iter_directory_filings(parent=args.parent or "", department=args.department or "")

    def row(f: filings_pb2.DirectoryFiling) -> list[str]:
        counts = _counts(f)
        return [
            _short(f.name, "directoryFilings/"),
            _short(f.department, "departments/"),
            _state(f.state),
            *(str(counts.get(kind, 0)) for kind in KINDS),
            f.digest[:16],
            show_time(f.submit_time),
        ]

    out.table(
        limited(filings, args),
        [
            "FILING",
            "DEPARTMENT",
            "STATE",
            "OBJECTS",
            "INSPECTORS",
            "EXPERTS",
            "INSTITUTIONS",
            "DIGEST",
            "SUBMITTED",
        ],
        row,
        "lllrrrrll",
    )
    return 0


def _cmd_status(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    out.table(
        limited(client.iter_child_filing_statuses(args.parent or ""), args),
        ["DEPARTMENT", "NAME", "STATUS", "LATEST", "ACKNOWLEDGED"],
        lambda c: [
            _short(c.department, "departments/"),
            c.display_name,
            _word(CHILD_STATES, c.state),
            _short(c.latest_filing.name, "directoryFilings/"),
            _short(c.last_acknowledged_filing, "directoryFilings/"),
        ],
        "lllll",
    )
    return 0


def _cmd_diff(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    differences = client.iter_directory_filing_differences(
        filing=args.filing or "", department=args.department or ""
    )
    out.table(
        limited(differences, args),
        ["DIRECTORY", "KEY", "CHANGE"],
        lambda d: [
            _word(KINDS, d.kind),
            d.key,
            _word(CHANGES, d.change),
        ],
        "lll",
    )
    return 0


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: list[argparse.ArgumentParser]
) -> None:
    """Adds ``filings``."""
    group = add_group(subparsers, "filings", "directory filing with the level above (Art. 7)")
    p = add_command(
        group,
        "submit",
        _cmd_submit,
        "file a department's directories (objects, inspectors, experts, institutions) with its parent",
        common,
    )
    p.add_argument("department", metavar="DEPARTMENT_ID")
    p.add_argument("--note", help="a note for the parent department")
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p = add_command(group, "acknowledge", _cmd_acknowledge, "acknowledge a child's submitted filing", common)
    p.add_argument("filing", metavar="FILING_ID")
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p = add_command(group, "return", _cmd_return, "return a child's submitted filing with a reason", common)
    p.add_argument("filing", metavar="FILING_ID")
    p.add_argument("--reason", required=True, choices=sorted(RETURN_REASONS), help="why it is returned")
    p.add_argument("--note", help="what to correct (required with --reason other)")
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p = add_command(
        group, "list", _cmd_list, "list filings of a department or filed with a parent", common, listing=True
    )
    p.add_argument("--parent", help="filings filed with this department")
    p.add_argument("--department", help="filings of this department")
    p = add_command(
        group, "status", _cmd_status, "each child department's filing status", common, listing=True
    )
    p.add_argument("--parent", help="the parent department (default: the caller's)")
    p = add_command(
        group,
        "diff",
        _cmd_diff,
        "records added, removed and changed since the last acknowledged filing",
        common,
        listing=True,
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--filing", help="in this filing")
    which.add_argument("--department", help="in this department's directory as it is now")
