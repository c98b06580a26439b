"""Remote commands after the draw: ``follow-ups`` (a result followed to closure, Art. 13) and ``objections``
(an enterprise's objection to a published result)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Final

from dualdraw.v1 import follow_ups_pb2 as pb
from dualdraw_client.dates import date_text

from ..client import DualdrawClient
from ..i18n import _
from .options import add_command, add_group, idempotency_key, iso_date, limited, positive_int
from .output import Output, aligned_pairs, show_time

COMMANDS: Final = frozenset({"follow-ups", "objections"})

KINDS: Final = {
    "rectification": pb.FOLLOW_UP_KIND_RECTIFICATION,
    "case_filing": pb.FOLLOW_UP_KIND_CASE_FILING,
    "judicial_transfer": pb.FOLLOW_UP_KIND_JUDICIAL_TRANSFER,
    "abnormal_listing": pb.FOLLOW_UP_KIND_ABNORMAL_LISTING,
    "lead_transfer": pb.FOLLOW_UP_KIND_LEAD_TRANSFER,
}
_KIND_NAMES: Final = {v: k for k, v in KINDS.items()}
OUTCOMES: Final = {
    "rectified": pb.FOLLOW_UP_OUTCOME_RECTIFIED,
    "not_rectified": pb.FOLLOW_UP_OUTCOME_NOT_RECTIFIED,
    "penalty_decided": pb.FOLLOW_UP_OUTCOME_PENALTY_DECIDED,
    "no_penalty": pb.FOLLOW_UP_OUTCOME_NO_PENALTY,
    "transfer_accepted": pb.FOLLOW_UP_OUTCOME_TRANSFER_ACCEPTED,
    "transfer_returned": pb.FOLLOW_UP_OUTCOME_TRANSFER_RETURNED,
    "listed": pb.FOLLOW_UP_OUTCOME_LISTED,
    "lead_handled": pb.FOLLOW_UP_OUTCOME_LEAD_HANDLED,
    "withdrawn": pb.FOLLOW_UP_OUTCOME_WITHDRAWN,
}
_OUTCOME_NAMES: Final = {v: k for k, v in OUTCOMES.items()}
_STATE_NAMES: Final = {
    pb.FOLLOW_UP_STATE_OPEN: "open",
    pb.FOLLOW_UP_STATE_AWAITING_REINSPECTION: "awaiting_reinspection",
    pb.FOLLOW_UP_STATE_CLOSED: "closed",
}
_OBJECTION_STATES: Final = {
    pb.OBJECTION_STATE_PENDING: "pending",
    pb.OBJECTION_STATE_UPHELD: "upheld",
    pb.OBJECTION_STATE_REJECTED: "rejected",
}


def evidence_pair(text: str) -> tuple[str, int]:
    """Argument type: ``SHA256:SIZE`` (a file already in the evidence store)."""
    sha, colon, size = text.partition(":")
    if not colon or len(sha) != 64 or not size.isdigit():
        raise argparse.ArgumentTypeError(f"expected SHA256:SIZE (64 hex digits, bytes), got {text!r}")
    return sha.lower(), int(size)


def _evidence(client: DualdrawClient, args: argparse.Namespace) -> list[tuple[str, int]]:
    """The files to cite: each ``--evidence FILE`` uploaded first (the server takes only uploaded evidence),
    then each ``--evidence-sha256``."""
    files = [(e.sha256, e.size_bytes) for e in (client.upload_evidence(p) for p in args.evidence or [])]
    return files + list(args.evidence_sha256 or [])


def _follow_up_pairs(f: pb.FollowUp) -> list[tuple[str, str]]:
    pairs = [
        ("follow-up", f.name),
        ("result", f"{f.result} v{f.result_version}"),
        ("object", f.credit_code),
        ("kind", _KIND_NAMES.get(f.kind, "")),
        ("state", _STATE_NAMES.get(f.state, "")),
        ("department", f.department),
        ("opened on", date_text(f.open_date)),
        ("due on", date_text(f.due_date)),
        ("note", f.note),
        ("evidence", ", ".join(f"{e.sha256}:{e.size_bytes}" for e in f.evidence)),
        ("opened by", f.opened_by),
        ("revision", str(f.revision)),
    ]
    if f.HasField("reinspection"):
        r = f.reinspection
        done = _("rectified") if r.rectified else _("not rectified")
        pairs.append(("re-inspection", f"{date_text(r.inspect_date)} {', '.join(r.badge_numbers)}: {done}"))
    if f.HasField("closing"):
        c = f.closing
        pairs.append(
            ("closed", f"{date_text(c.close_date)} {_OUTCOME_NAMES.get(c.outcome, '')} {c.decision_number}")
        )
        pairs.append(("closing text", c.text))
    return pairs


def _show_follow_up(out: Output, f: pb.FollowUp) -> int:
    if out.json:
        out.document(f)
    else:
        out.lines(aligned_pairs(_follow_up_pairs(f)))
    return 0


def _follow_up_rows(out: Output, items: Iterator[pb.FollowUp]) -> None:
    out.table(
        items,
        ["FOLLOW-UP", "RESULT", "KIND", "STATE", "DEPARTMENT", "DUE", "OUTCOME"],
        lambda f: [
            f.name,
            f.result,
            _KIND_NAMES.get(f.kind, ""),
            _STATE_NAMES.get(f.state, ""),
            f.department,
            date_text(f.due_date),
            _OUTCOME_NAMES.get(f.closing.outcome, "") if f.HasField("closing") else "",
        ],
        "lllllll",
    )


def _cmd_open(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    opened = client.open_follow_up(
        args.draw_id,
        args.position,
        KINDS[args.kind],
        department=args.department or "",
        note=args.note or "",
        evidence_files=_evidence(client, args),
        due_in_working_days=args.due_in_working_days or 0,
        request_id=idempotency_key(args),
    )
    return _show_follow_up(out, opened)


def _cmd_show(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    return _show_follow_up(out, client.get_follow_up(args.follow_up))


def _cmd_list(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    found = client.iter_follow_ups(
        department=args.department or "", draw=args.draw or "", open_only=args.open
    )
    _follow_up_rows(out, limited(found, args))
    return 0


def _cmd_overdue(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    departments = client.overdue_follow_ups(department=args.department or "", as_of=args.as_of)
    if out.json:
        out.document({"departments": [out.to_dict(d) for d in departments]})
        return 0
    for d in departments:
        out.line(
            _("department {department}: {n} overdue").format(department=d.department, n=len(d.follow_ups))
        )
        _follow_up_rows(out, iter(d.follow_ups))
    if not departments:
        out.line(_("no follow-up is overdue"))
    return 0


def _cmd_evidence(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    changed = client.add_follow_up_evidence(
        args.follow_up, _evidence(client, args), note=args.note or "", request_id=idempotency_key(args)
    )
    return _show_follow_up(out, changed)


def _cmd_rectified(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    return _show_follow_up(out, client.report_rectification(args.follow_up, request_id=idempotency_key(args)))


def _cmd_reinspect(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    changed = client.record_reinspection(
        args.follow_up,
        args.inspected_on,
        args.by,
        rectified=args.rectified == "yes",
        note=args.note or "",
        request_id=idempotency_key(args),
    )
    return _show_follow_up(out, changed)


def _cmd_close(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    closed = client.close_follow_up(
        args.follow_up,
        OUTCOMES[args.outcome],
        args.text,
        decision_number=args.decision_number or "",
        closed_on=args.closed_on,
        request_id=idempotency_key(args),
    )
    return _show_follow_up(out, closed)


# -- objections ---------------------------------------------------------------------------------------------


def _objection_pairs(o: pb.Objection) -> list[tuple[str, str]]:
    return [
        ("objection", o.name),
        ("result", f"{o.result} v{o.result_version}"),
        ("object", o.credit_code),
        ("department", o.department),
        ("received on", date_text(o.receive_date)),
        ("grounds", o.grounds),
        ("published on", date_text(o.publish_date)),
        ("period ends", date_text(o.period_end_date)),
        ("filed by", o.filed_by),
        ("filed at", show_time(o.create_time)),
        ("state", _OBJECTION_STATES.get(o.state, "")),
        ("decided on", date_text(o.decide_date)),
        ("decided by", o.decided_by),
        ("decision reason", o.decision_reason),
        ("corrected version", str(o.corrected_version) if o.corrected_version else ""),
    ]


def _show_objection(out: Output, o: pb.Objection) -> int:
    if out.json:
        out.document(o)
    else:
        out.lines(aligned_pairs(_objection_pairs(o)))
    return 0


def _cmd_file(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    filed = client.file_objection(
        args.draw_id,
        args.position,
        args.received_on,
        args.grounds,
        evidence_files=_evidence(client, args),
        request_id=idempotency_key(args),
    )
    return _show_objection(out, filed)


def _cmd_decide(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    decided = client.decide_objection(
        args.objection,
        upheld=args.decision == "upheld",
        reason=args.reason,
        corrected_version=args.corrected_version or 0,
        request_id=idempotency_key(args),
    )
    return _show_objection(out, decided)


def _cmd_objection_show(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    return _show_objection(out, client.get_objection(args.objection))


def _cmd_objection_list(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    found = client.iter_objections(department=args.department or "", draw=args.draw or "")
    out.table(
        limited(found, args),
        ["OBJECTION", "RESULT", "VER", "RECEIVED", "STATE", "CORRECTED"],
        lambda o: [
            o.name,
            o.result,
            str(o.result_version),
            date_text(o.receive_date),
            _OBJECTION_STATES.get(o.state, ""),
            str(o.corrected_version) if o.corrected_version else "",
        ],
        "llrlll",
    )
    return 0


def _evidence_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--evidence", action="append", metavar="FILE", help="upload this file and cite it as evidence"
    )
    p.add_argument(
        "--evidence-sha256",
        action="append",
        type=evidence_pair,
        metavar="SHA256:SIZE",
        help="cite a stored evidence file by hash and size",
    )


def _request_id(p: argparse.ArgumentParser) -> None:
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: list[argparse.ArgumentParser],
) -> None:
    """Adds :data:`COMMANDS` to the remote command line."""
    group = add_group(subparsers, "follow-ups", "follow a result to closure (Art. 13)")
    p = add_command(group, "open", _cmd_open, "open a follow-up of a recorded result", common)
    p.add_argument("draw_id", metavar="DRAW_ID")
    p.add_argument("position", type=positive_int, metavar="POSITION")
    p.add_argument("--kind", required=True, choices=sorted(KINDS))
    p.add_argument("--department", metavar="DEPARTMENT_ID", help="lead_transfer: the receiving department")
    p.add_argument("--note", help="internal note (never published)")
    p.add_argument(
        "--due-in-working-days", type=positive_int, metavar="N", help="working days to the due date"
    )
    _evidence_options(p)
    _request_id(p)
    p = add_command(group, "show", _cmd_show, "show one follow-up", common)
    p.add_argument("follow_up", metavar="FOLLOW_UP")
    p = add_command(group, "list", _cmd_list, "follow-ups of a department's subtree", common, listing=True)
    p.add_argument("--department", metavar="DEPARTMENT_ID", help="default: your own")
    p.add_argument("--draw", metavar="DRAW_ID", help="only this draw's")
    p.add_argument("--open", action="store_true", help="only those not closed")
    p = add_command(group, "overdue", _cmd_overdue, "overdue follow-ups per department", common)
    p.add_argument("--department", metavar="DEPARTMENT_ID", help="default: your own")
    p.add_argument("--as-of", type=iso_date, metavar="DATE", help="judge at this day (default: today)")
    p = add_command(group, "evidence", _cmd_evidence, "add evidence or a note to a follow-up", common)
    p.add_argument("follow_up", metavar="FOLLOW_UP")
    p.add_argument("--note", help="replaces the note")
    _evidence_options(p)
    _request_id(p)
    p = add_command(
        group, "rectified", _cmd_rectified, "the enterprise reports the rectification done", common
    )
    p.add_argument("follow_up", metavar="FOLLOW_UP")
    _request_id(p)
    p = add_command(
        group, "reinspect", _cmd_reinspect, "record the re-inspection by members of the same team", common
    )
    p.add_argument("follow_up", metavar="FOLLOW_UP")
    p.add_argument(
        "--inspected-on", required=True, type=iso_date, metavar="DATE", help="day of the re-inspection"
    )
    p.add_argument("--by", required=True, action="append", metavar="BADGE", help="a re-inspecting inspector")
    p.add_argument("--rectified", required=True, choices=["yes", "no"], help="whether it was rectified")
    p.add_argument("--note", help="what the re-inspection found")
    _request_id(p)
    p = add_command(group, "close", _cmd_close, "close a follow-up with its outcome", common)
    p.add_argument("follow_up", metavar="FOLLOW_UP")
    p.add_argument("--outcome", required=True, choices=sorted(OUTCOMES))
    p.add_argument("--text", required=True, help="what was decided (the reason, for withdrawn)")
    p.add_argument("--decision-number", metavar="NUMBER", help="decision number (required for a case)")
    p.add_argument("--closed-on", type=iso_date, metavar="DATE", help="default: today")
    _request_id(p)

    group = add_group(subparsers, "objections", "enterprises' objections to published results")
    p = add_command(group, "file", _cmd_file, "file an objection received from the enterprise", common)
    p.add_argument("draw_id", metavar="DRAW_ID")
    p.add_argument("position", type=positive_int, metavar="POSITION")
    p.add_argument("--received-on", required=True, type=iso_date, metavar="DATE", help="day it was received")
    p.add_argument("--grounds", required=True, help="what the enterprise objects to (published)")
    _evidence_options(p)
    _request_id(p)
    p = add_command(group, "decide", _cmd_decide, "decide a pending objection", common)
    p.add_argument("objection", metavar="OBJECTION")
    p.add_argument("--decision", required=True, choices=["upheld", "rejected"])
    p.add_argument("--reason", required=True, help="why (published)")
    p.add_argument(
        "--corrected-version", type=positive_int, metavar="N", help="upheld: the corrected result version"
    )
    _request_id(p)
    p = add_command(group, "show", _cmd_objection_show, "show one objection", common)
    p.add_argument("objection", metavar="OBJECTION")
    p = add_command(
        group,
        "list",
        _cmd_objection_list,
        "objections to results of a department's subtree",
        common,
        listing=True,
    )
    p.add_argument("--department", metavar="DEPARTMENT_ID", help="default: your own")
    p.add_argument("--draw", metavar="DRAW_ID", help="only this draw's")
