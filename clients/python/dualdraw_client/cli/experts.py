"""The remote ``experts`` command: the expert and testing-institution directories, items' requirements of
them, and expert draws (docs/DRAW-ALGORITHM.md §8.2)."""

from __future__ import annotations

import argparse
import datetime
import json
from typing import Any

from google.type import date_pb2

from dualdraw.v1 import experts_pb2
from dualdraw_client.dates import date_text

from ..client import DualdrawClient
from ..client.experts import KINDS
from ..i18n import _
from ..records import RecordError
from .draws import add_beacon_round
from .options import add_command, add_group, idempotency_key, limited, non_negative_int
from .output import Output, aligned_pairs, enum_name, format_table, show_time

BEACON_ROUND_HELP = (
    "the beacon round the expert draw commits to (default: the first a minute after the commit); "
    "execute it later with: dualdraw experts execute EXPERT_DRAW_ID --beacon-value SIGNATURE"
)


def _date(text: Any, path: str, line: int) -> date_pb2.Date | None:
    if not text:
        return None
    try:
        day = datetime.date.fromisoformat(str(text))
    except ValueError:
        raise RecordError(path, line, "expires_on", f"expected a date YYYY-MM-DD, got {text!r}") from None
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def _qualifications(rows: Any, path: str, line: int) -> list[experts_pb2.Qualification]:
    return [
        experts_pb2.Qualification(
            code=str(q.get("code", "")), expires_on=_date(q.get("expires_on"), path, line)
        )
        for q in rows or []
    ]


def read_records(
    path: str, department_id: str
) -> tuple[list[experts_pb2.Expert], list[experts_pb2.TestingInstitution]]:
    """Experts and institutions of a JSON Lines file: one object a line, ``kind`` = ``expert`` (default) or
    ``institution``; ``id``, ``display_name``, ``qualifications`` = ``[{code, expires_on}]``, ``conflicts``,
    and ``employer_credit_code`` (expert) or ``credit_code`` (institution)."""
    experts: list[experts_pb2.Expert] = []
    institutions: list[experts_pb2.TestingInstitution] = []
    department = f"departments/{department_id}"
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RecordError(path, number, None, f"not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise RecordError(path, number, None, "expected a JSON object")
            kind = row.get("kind", "expert")
            conflicts = [str(c) for c in row.get("conflicts", [])]
            if kind == "institution":
                institutions.append(
                    experts_pb2.TestingInstitution(
                        name=f"testingInstitutions/{row.get('id', '')}",
                        display_name=str(row.get("display_name", "")),
                        department=department,
                        scopes=_qualifications(row.get("qualifications"), path, number),
                        credit_code=str(row.get("credit_code", "")),
                        conflict_credit_codes=conflicts,
                    )
                )
            elif kind == "expert":
                experts.append(
                    experts_pb2.Expert(
                        name=f"experts/{row.get('id', '')}",
                        display_name=str(row.get("display_name", "")),
                        department=department,
                        specialities=_qualifications(row.get("qualifications"), path, number),
                        employer_credit_code=str(row.get("employer_credit_code", "")),
                        conflict_credit_codes=conflicts,
                    )
                )
            else:
                raise RecordError(path, number, "kind", f"must be expert or institution, got {kind!r}")
    return experts, institutions


def _cmd_import(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    experts, institutions = read_records(args.file, args.department)
    done = client.import_experts(args.department, experts, institutions, request_id=idempotency_key(args))
    out.outcome(
        out.to_dict(done),
        _("imported {experts} experts and {institutions} testing institutions").format(
            experts=done.expert_count, institutions=done.testing_institution_count
        ),
    )
    return 0


def _held(rows: Any) -> str:
    return ", ".join(
        f"{q.code}≤{date_text(q.expires_on)}" if q.HasField("expires_on") else q.code for q in rows
    )


def _cmd_list(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    out.table(
        limited(client.iter_experts(department_id=args.department or ""), args),
        ["ID", "NAME", "SPECIALITIES", "EMPLOYER", "CONFLICTS"],
        lambda e: [
            e.name.removeprefix("experts/"),
            e.display_name,
            _held(e.specialities),
            e.employer_credit_code,
            str(len(e.conflict_credit_codes)),
        ],
    )
    return 0


def _cmd_institutions(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    out.table(
        limited(client.iter_institutions(department_id=args.department or ""), args),
        ["ID", "NAME", "SCOPES", "CREDIT CODE", "CONFLICTS"],
        lambda i: [
            i.name.removeprefix("testingInstitutions/"),
            i.display_name,
            _held(i.scopes),
            i.credit_code,
            str(len(i.conflict_credit_codes)),
        ],
    )
    return 0


def _kind_name(kind: int) -> str:
    if kind == experts_pb2.EXPERT_KIND_EXPERT:
        return _("expert")
    if kind == experts_pb2.EXPERT_KIND_INSTITUTION:
        return _("institution")
    return ""


def _cmd_require(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    done = client.set_expert_requirement(
        args.item_code, args.kind, args.qualification, args.count, request_id=idempotency_key(args)
    )
    out.outcome(
        out.to_dict(done),
        _("item {item} needs {count} {kind} holding {qualification} per object").format(
            item=args.item_code,
            count=done.count,
            kind=_kind_name(done.kind),
            qualification=done.qualification,
        ),
    )
    return 0


def _cmd_requirements(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    out.table(
        client.list_expert_requirements(args.item_code).expert_requirements,
        ["KIND", "QUALIFICATION", "COUNT"],
        lambda r: [_kind_name(r.kind), r.qualification, str(r.count)],
        "llr",
    )
    return 0


def _show(xd: experts_pb2.ExpertDraw, out: Output) -> int:
    if out.json:
        out.document(xd)
        return 0
    state = enum_name(experts_pb2.ExpertDrawState.Name(xd.state), "EXPERT_DRAW_STATE_")
    pairs = [
        ("expert draw", xd.name.removeprefix("expertDraws/")),
        ("draw", xd.draw.removeprefix("draws/")),
        ("kind", _kind_name(xd.kind)),
        ("state", _(state.lower()) if state else ""),
        ("inputs hash", xd.inputs_hash),
        ("seed", xd.seed),
        ("created", show_time(xd.create_time)),
    ]
    if xd.entropy_note:
        pairs.append(("entropy", _(xd.entropy_note)))
    out.lines(aligned_pairs(pairs))
    if xd.selections:
        out.line()
        rows = [[str(s.position), s.credit_code, ", ".join(s.member_ids)] for s in xd.selections]
        out.lines(format_table(["POS", "CREDIT CODE", "SELECTED"], rows, "rll"))
    if xd.state == experts_pb2.EXPERT_DRAW_STATE_COMMITTED:
        out.line(
            _(
                "once the beacon round is produced: dualdraw experts execute {id} --beacon-value SIGNATURE"
            ).format(id=xd.name.removeprefix("expertDraws/"))
        )
    return 0


def _cmd_draw(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    xd = client.create_expert_draw(
        args.draw_id,
        args.kind,
        beacon=args.beacon or "",
        beacon_round=args.beacon_round or 0,
        request_id=idempotency_key(args),
    )
    return _show(xd, out)


def _cmd_execute(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    return _show(
        client.execute_expert_draw(args.expert_draw_id, args.beacon_value, request_id=idempotency_key(args)),
        out,
    )


def _cmd_show(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    return _show(client.get_expert_draw(args.expert_draw_id), out)


def _cmd_draws(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    out.table(
        limited(client.iter_expert_draws(args.draw_id), args),
        ["ID", "KIND", "STATE", "CREATED"],
        lambda x: [
            x.name.removeprefix("expertDraws/"),
            _kind_name(x.kind),
            _(enum_name(experts_pb2.ExpertDrawState.Name(x.state), "EXPERT_DRAW_STATE_").lower() or "")
            if x.state
            else "",
            show_time(x.create_time),
        ],
    )
    return 0


def _cmd_verify(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    answer = client.verify_expert_draw(args.expert_draw_id)
    human = _("MATCH") if answer.match else _("MISMATCH: {problem}").format(problem=answer.problem)
    out.outcome(out.to_dict(answer), human)
    return 0 if answer.match else 1


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: list[argparse.ArgumentParser]
) -> None:
    """Adds ``experts import/list/institutions/require/requirements/draw/execute/show/draws/verify``."""
    experts = add_group(subparsers, "experts", "experts and testing institutions, drawn for a draw's objects")
    p = add_command(
        experts, "import", _cmd_import, "import experts and testing institutions (JSON Lines)", common
    )
    p.add_argument("file", metavar="FILE", help="JSON Lines: one expert or institution a line")
    p.add_argument("--department", required=True, metavar="DEPT", help="the importing department")
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    for name, handler, text in (
        ("list", _cmd_list, "list a department's experts"),
        ("institutions", _cmd_institutions, "list a department's testing institutions"),
    ):
        p = add_command(experts, name, handler, text, common, listing=True)
        p.add_argument("--department", metavar="DEPT", help="the department (default: your own)")
    p = add_command(experts, "require", _cmd_require, "set what an inspection item needs per object", common)
    p.add_argument("item_code", metavar="ITEM_CODE", help="the inspection item")
    p.add_argument("--kind", choices=sorted(KINDS), default="expert", help="experts or a testing institution")
    p.add_argument(
        "--qualification",
        required=True,
        help="the speciality (experts) or accreditation scope (institutions)",
    )
    p.add_argument("--count", type=non_negative_int, default=1, help="how many per object; 0 clears it")
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p = add_command(
        experts, "requirements", _cmd_requirements, "show an inspection item's requirements", common
    )
    p.add_argument("item_code", metavar="ITEM_CODE", help="the inspection item")
    p = add_command(
        experts,
        "draw",
        _cmd_draw,
        "draw experts or an institution for every object of an executed draw",
        common,
    )
    p.add_argument("draw_id", metavar="DRAW_ID", help="the executed draw")
    p.add_argument("--kind", choices=sorted(KINDS), default="expert", help="experts or a testing institution")
    p.add_argument("--beacon", help="a pinned beacon (default: the server's)")
    add_beacon_round(p, BEACON_ROUND_HELP)
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p = add_command(experts, "execute", _cmd_execute, "execute a committed expert draw", common)
    p.add_argument("expert_draw_id", metavar="EXPERT_DRAW_ID", help="the committed expert draw")
    p.add_argument("--beacon-value", required=True, metavar="HEX", help="the beacon round's signature")
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p = add_command(experts, "show", _cmd_show, "show one expert draw", common)
    p.add_argument("expert_draw_id", metavar="EXPERT_DRAW_ID", help="the expert draw")
    p = add_command(experts, "draws", _cmd_draws, "list the expert draws of a draw", common, listing=True)
    p.add_argument("draw_id", metavar="DRAW_ID", help="the draw")
    p = add_command(
        experts, "verify", _cmd_verify, "have the server re-derive an expert draw (MATCH or MISMATCH)", common
    )
    p.add_argument("expert_draw_id", metavar="EXPERT_DRAW_ID", help="the expert draw")
