"""The remote commands of the ``dualdraw`` command line: they talk to a running server over gRPC.

The ``dualdraw`` entry point (``dualdraw.entrypoints.cli.main:main``) calls :func:`add_remote_commands` on
its argparse
sub-parsers and hands the parsed namespace to :func:`run_remote` when :func:`is_remote` says so;
:func:`main` is a standalone equivalent (used by the tests).

Every remote command takes ``--server`` (default ``$DUALDRAW_SERVER`` or 127.0.0.1:50051), ``--actor``
(default ``$DUALDRAW_ACTOR`` or the login name), ``--timeout`` seconds and ``--json``. Human output is
aligned plain-text tables (wide CJK characters count as two columns); ``--json`` prints one JSON document
for a single result and one JSON object per line for lists, using the proto field names (int64 values
are strings, as in the proto3 JSON mapping). Times are shown in China Standard Time (UTC+8).

Exit codes: 0 success; 2 INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, ALREADY_EXISTS, a bad input
file or a usage error; 3 UNAVAILABLE or DEADLINE_EXCEEDED; 1 anything else.
"""

from __future__ import annotations

import argparse
import datetime
import getpass
import itertools
import json
import os
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, TextIO, TypeVar

import grpc
from google.protobuf import json_format, timestamp_pb2
from google.protobuf.message import Message

from dualdraw.v1 import directory_pb2, draws_pb2, items_pb2, tasks_pb2, verification_pb2

from .client import DEFAULT_TARGET, DualdrawClient, new_request_id
from .errors import DualdrawError
from .records import KINDS, RecordError, SourceMap, chunk_records, read_files

__all__ = [
    "REMOTE_COMMANDS",
    "add_remote_commands",
    "display_width",
    "exit_code",
    "format_table",
    "is_remote",
    "main",
    "run_remote",
]

REMOTE_COMMANDS: Final = frozenset(
    {
        "import",
        "items",
        "tasks",
        "draw",
        "draws",
        "assignments",
        "exclusions",
        "objects",
        "inspectors",
        "departments",
        "transfer",
        "audit",
        # results and publication: dualdraw_client.results_cli
        "results",
        "itemlist",
        "export",
        "credit-export",
        "rule-set",  # the rule set on the server
        "log",
    }
)
"""The top-level command names that :func:`add_remote_commands` adds."""

_HANDLER: Final = "dualdraw_remote_handler"
_CST: Final = datetime.timezone(datetime.timedelta(hours=8), "CST")
_DEFAULT_TIMEOUT: Final = 30.0
_EXPORT_TIMEOUT: Final = 600.0  # dualdraw draw export: one deadline for the whole streamed bundle

_USAGE_CODES: Final = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ALREADY_EXISTS,
    }
)
_TRANSIENT_CODES: Final = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})

_T = TypeVar("_T")
_Handler = Callable[[DualdrawClient, argparse.Namespace, "_Output"], int]


def exit_code(code: grpc.StatusCode) -> int:
    """The process exit code for a failed call: 2 for the caller's mistakes, 3 for transient, 1 otherwise."""
    if code in _USAGE_CODES:
        return 2
    if code in _TRANSIENT_CODES:
        return 3
    return 1


# -- text tables ---------------------------------------------------------------------------------------


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: East Asian wide/fullwidth characters 2, combining/format marks 0."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _clean(text: str) -> str:
    """One line: control characters (newlines, tabs) become spaces."""
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)


def format_table(headers: Sequence[str], rows: Iterable[Sequence[str]], align: str = "") -> list[str]:
    """Lines of an aligned plain-text table; ``align`` has one ``l``/``r`` per column (default ``l``).

    Columns are separated by two spaces; lines carry no trailing spaces.
    """
    body = [[_clean(str(cell)) for cell in row] for row in rows]
    table = [[_clean(h) for h in headers], *body]
    count = max(len(row) for row in table)
    widths = [max((display_width(row[i]) for row in table if i < len(row)), default=0) for i in range(count)]
    lines = []
    for row in table:
        cells = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - display_width(cell))
            cells.append(pad + cell if align[i : i + 1] == "r" else cell + pad)
        lines.append("  ".join(cells).rstrip())
    return lines


def _pairs(items: Sequence[tuple[str, str]]) -> list[str]:
    """``key  value`` lines with the values aligned."""
    width = max((display_width(k) for k, _ in items), default=0)
    return [f"{k}{' ' * (width - display_width(k))}  {_clean(v)}".rstrip() for k, v in items]


def _time(ts: timestamp_pb2.Timestamp) -> str:
    if ts.seconds == 0 and ts.nanos == 0:
        return ""
    moment = ts.ToDatetime(tzinfo=datetime.UTC).astimezone(_CST)
    return moment.strftime("%Y-%m-%d %H:%M:%S%z")


def _enum(name: str, prefix: str) -> str:
    """Enum value name without its type prefix; "" for UNSPECIFIED."""
    short = name.removeprefix(prefix)
    return "" if short == "UNSPECIFIED" else short


# -- output --------------------------------------------------------------------------------------------


class _Output:
    """Writes human tables or JSON to stdout (looked up on every write, so redirection and capsys work)."""

    def __init__(self, json_output: bool) -> None:
        self.json = json_output

    @staticmethod
    def line(text: str = "") -> None:
        sys.stdout.write(text + "\n")

    def lines(self, lines: Iterable[str]) -> None:
        for text in lines:
            self.line(text)

    @staticmethod
    def to_dict(message: Message) -> dict[str, Any]:
        return json_format.MessageToDict(
            message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )

    def document(self, value: Message | dict[str, Any]) -> None:
        data = self.to_dict(value) if isinstance(value, Message) else value
        self.line(json.dumps(data, ensure_ascii=False, indent=2))

    def records(self, messages: Iterable[Message]) -> None:
        for message in messages:
            self.line(json.dumps(self.to_dict(message), ensure_ascii=False))

    def table(
        self,
        messages: Iterable[_T],
        headers: Sequence[str],
        row: Callable[[_T], Sequence[str]],
        align: str = "",
    ) -> None:
        """JSON Lines of the messages with --json, else a table with one ``row(message)`` per message."""
        if self.json:
            self.records(m for m in messages if isinstance(m, Message))
            return
        self.lines(format_table(headers, [row(m) for m in messages], align))


# -- resource renderers --------------------------------------------------------------------------------


def _item_kind(kind: items_pb2.ItemKind.ValueType) -> str:
    return _enum(items_pb2.ItemKind.Name(kind), "ITEM_KIND_")


def _task_pairs(task: tasks_pb2.Task) -> list[tuple[str, str]]:
    return [
        ("task", task.id),
        ("title", task.title),
        ("item", task.item_code),
        ("department", task.department_id),
        ("ratio", task.ratio),
        ("team size", str(task.team_size)),
        ("region", task.scope.region_code or "(whole territory)"),
        ("industries", ", ".join(task.scope.industries) or "(all)"),
        ("created", _time(task.create_time)),
        ("draw", task.draw_id or "(not drawn)"),
    ]


def _item_pairs(item: items_pb2.InspectionItem) -> list[tuple[str, str]]:
    return [
        ("item", item.code),
        ("name", item.name),
        ("kind", _item_kind(item.kind)),
        ("default ratio", item.default_ratio),
        ("business line", item.business_line),
        ("speciality", item.required_speciality),
        ("department", item.department_id),
        ("target scope", item.target_scope),
        ("frequency cap", f"{item.frequency_cap} per year" if item.frequency_cap else "(default) 1 per year"),
        ("legal basis", item.legal_basis),
        ("created", _time(item.create_time)),
    ]


def _draw_pairs(draw: draws_pb2.Draw) -> list[tuple[str, str]]:
    rule_set = " ".join(part for part in (draw.rule_set_version, draw.rule_set_hash) if part)
    return [
        ("draw", draw.id),
        ("task", draw.task_id),
        ("as of", draw.as_of),
        ("created", " by ".join(p for p in (_time(draw.create_time), draw.actor) if p)),
        ("algorithm", draw.algorithm_version),
        ("seed", draw.seed),
        ("entropy", " from ".join(p for p in (draw.entropy, draw.entropy_source) if p)),
        ("manifest hash", draw.manifest_hash),
        ("rule set", rule_set),
        ("ratio", draw.ratio),
        ("team size", str(draw.team_size)),
        ("in scope", str(draw.in_scope_count)),
        ("excluded", str(draw.excluded_count)),
        ("eligible", str(draw.eligible_count)),
        ("selected", str(draw.selected_count)),
        ("eligible digest", draw.eligible_digest),
        ("inspector pool digest", draw.inspector_pool_digest),
    ]


def _team(assignment: draws_pb2.Assignment) -> str:
    return ", ".join(
        f"{'*' if member.leader else ''}{member.name} ({member.badge_number})" for member in assignment.team
    )


def _print_assignments(out: _Output, assignments: Iterable[draws_pb2.Assignment]) -> None:
    rows = list(assignments)
    out.table(
        rows,
        ["#", "CREDIT CODE", "OBJECT", "STRATUM", "TEAM"],
        lambda a: [str(a.position), a.credit_code, a.object_name, a.stratum, _team(a)],
        "r",
    )
    if not out.json and rows:
        out.line("(* team leader)")


# -- commands ------------------------------------------------------------------------------------------


def _request_id(args: argparse.Namespace) -> str:
    """The command's idempotency key: ``--request-id`` or a fresh one, kept in ``args`` for error hints."""
    if not args.request_id:
        args.request_id = new_request_id()
    return str(args.request_id)


def _limited(items: Iterator[_T], args: argparse.Namespace) -> Iterator[_T]:
    limit: int | None = getattr(args, "limit", None)
    return items if limit is None else itertools.islice(items, limit)


def _cmd_import(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    source_map = SourceMap()
    records = read_files(args.files, args.kind, source_map)
    chunks = chunk_records(records, max_records=args.chunk_records)
    try:
        result = client.import_directory(chunks, request_id=_request_id(args))
    except DualdrawError as exc:
        _locate_violations(exc, source_map)
        raise
    if out.json:
        out.document(result)
        return 0
    rows = [[kind, str(getattr(result, kind))] for kind in KINDS]
    out.lines(format_table(["KIND", "IMPORTED"], rows, "lr"))
    read = sum(len(origins) for origins in source_map.origins.values())
    out.line(f"{read} records read from {len(args.files)} file(s); imported at {_time(result.imported_at)}")
    return 0


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


def _cmd_items_create(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    item = items_pb2.InspectionItem(
        code=args.code,
        name=args.name,
        legal_basis=args.legal_basis,
        business_line=args.business_line,
        required_speciality=args.speciality,
        kind=args.kind,
        default_ratio=args.default_ratio,
        department_id=args.department,
        target_scope=args.target_scope or "",
        frequency_cap=args.frequency_cap or 0,
    )
    created = client.create_item(item, request_id=_request_id(args))
    if out.json:
        out.document(created)
    else:
        out.lines(_pairs(_item_pairs(created)))
    return 0


def _cmd_items_list(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    out.table(
        _limited(client.iter_items(), args),
        ["CODE", "NAME", "KIND", "RATIO", "BUSINESS LINE", "SPECIALITY", "DEPARTMENT"],
        lambda i: [
            i.code,
            i.name,
            _item_kind(i.kind),
            i.default_ratio,
            i.business_line,
            i.required_speciality,
            i.department_id,
        ],
    )
    return 0


def _cmd_items_show(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    item = client.get_item(args.code)
    if out.json:
        out.document(item)
    else:
        out.lines(_pairs(_item_pairs(item)))
    return 0


def _cmd_tasks_create(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    task = tasks_pb2.Task(
        item_code=args.item,
        department_id=args.department,
        ratio=args.ratio,
        team_size=args.team_size,
        title=args.title or "",
        scope=tasks_pb2.TaskScope(region_code=args.region or "", industries=args.industry or []),
    )
    policy = _task_policy(args)
    if policy is not None:
        task.policy.CopyFrom(policy)
    created = client.create_task(task, request_id=_request_id(args))
    if args.draw:
        draw = client.draw(created.id, as_of=args.as_of)
        return _show_draw(client, draw, out)
    if out.json:
        out.document(created)
    else:
        out.lines(_pairs(_task_pairs(created)))
    return 0


_POLICY_FLAGS = (
    "class_ratio",
    "complaint_threshold",
    "raise_window_days",
    "raise_on_serious_violation",
    "raise_to",
    "frequency_cap",
    "no_frequency_cap",
    "campaign",
    "central",
    "cross_office",
    "no_repeat_cycles",
    "workload_cap",
    "cooperating",
    "cooperating_team_size",
)


def _task_policy(args: argparse.Namespace) -> tasks_pb2.TaskPolicy | None:
    """The task policy the flags ask for; ``None`` without any policy flag (a ``dualdraw-draw/1`` task)."""
    if not args.policy and not any(getattr(args, name) for name in _POLICY_FLAGS):
        return None
    return tasks_pb2.TaskPolicy(
        class_ratios=[tasks_pb2.ClassRatio(risk_class=c, ratio=r) for c, r in args.class_ratio or []],
        complaint_threshold=args.complaint_threshold or 0,
        raise_window_days=args.raise_window_days or 0,
        raise_on_serious_violation=args.raise_on_serious_violation,
        raise_to=args.raise_to or "",
        frequency_cap=args.frequency_cap or 0,
        no_frequency_cap=args.no_frequency_cap,
        campaign=args.campaign,
        central=args.central,
        cross_office=args.cross_office,
        recent_cycles=args.no_repeat_cycles or 0,
        workload_cap=args.workload_cap or 0,
        cooperating_department_ids=args.cooperating or [],
        cooperating_team_size=args.cooperating_team_size or 0,
    )


def _class_ratio_arg(text: str) -> tuple[str, str]:
    cls, sep, ratio = text.partition("=")
    if not sep or not cls.strip() or not ratio.strip():
        raise argparse.ArgumentTypeError(f"expected CLASS=RATIO, e.g. D=0.3, got {text!r}")
    return cls.strip().upper(), ratio.strip()


def _cmd_tasks_list(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    out.table(
        _limited(client.iter_tasks(department_id=args.department or ""), args),
        ["ID", "ITEM", "DEPARTMENT", "RATIO", "TEAM", "REGION", "INDUSTRIES", "DRAW", "TITLE"],
        lambda t: [
            t.id,
            t.item_code,
            t.department_id,
            t.ratio,
            str(t.team_size),
            t.scope.region_code,
            ",".join(t.scope.industries),
            t.draw_id,
            t.title,
        ],
        "llllr",
    )
    return 0


def _cmd_tasks_show(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    task = client.get_task(args.id)
    if out.json:
        out.document(task)
    else:
        out.lines(_pairs(_task_pairs(task)))
    return 0


def _cmd_draw(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    draw = client.draw(args.task_id, as_of=args.as_of, request_id=_request_id(args))
    return _show_draw(client, draw, out)


def _show_draw(client: DualdrawClient, draw: draws_pb2.Draw, out: _Output) -> int:
    """Prints a draw's summary and its assignments (``--json``: one document with both)."""
    assignments = list(client.iter_assignments(draw.id))
    if out.json:
        out.document({"draw": out.to_dict(draw), "assignments": [out.to_dict(a) for a in assignments]})
        return 0
    out.lines(_pairs(_draw_pairs(draw)))
    out.line()
    _print_assignments(out, assignments)
    return 0


def _cmd_draws_show(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    draw = client.get_draw(args.id)
    if out.json:
        out.document(draw)
    else:
        out.lines(_pairs(_draw_pairs(draw)))
    return 0


def _cmd_draws_list(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    out.table(
        _limited(client.iter_draws(task_id=args.task or ""), args),
        ["ID", "TASK", "AS OF", "CREATED", "ACTOR", "IN SCOPE", "EXCLUDED", "ELIGIBLE", "SELECTED"],
        lambda d: [
            d.id,
            d.task_id,
            d.as_of,
            _time(d.create_time),
            d.actor,
            str(d.in_scope_count),
            str(d.excluded_count),
            str(d.eligible_count),
            str(d.selected_count),
        ],
        "lllllrrrr",
    )
    return 0


def _cmd_assignments(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    _print_assignments(out, _limited(client.iter_assignments(args.draw_id), args))
    return 0


def _cmd_raises(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    out.table(
        _limited(client.iter_raises(args.draw_id), args),
        ["CREDIT CODE", "FROM", "TO", "REASON", "EVIDENCE"],
        lambda r: [r.credit_code, r.from_class, r.to_class, r.reason, ", ".join(r.evidence)],
    )
    return 0


def _cmd_joint_inspections(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    response = client.list_joint_inspections(args.year, args.department or "")
    out.table(
        _limited(iter(response.joint_inspections), args),
        ["CREDIT CODE", "YEAR", "DEPARTMENTS", "DRAWS", "TEAM"],
        lambda j: [
            j.credit_code,
            str(j.year),
            ", ".join(j.department_ids),
            ", ".join(f"{d}#{p}" for d, p in zip(j.draw_ids, j.positions, strict=False)),
            ", ".join(f"{m.badge_number}*" if m.leader else m.badge_number for m in j.team),
        ],
    )
    return 0


def _cmd_exclusions(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    out.table(
        _limited(client.iter_exclusions(args.draw_id), args),
        ["CREDIT CODE", "NAME", "RULE", "CATEGORY", "REASON"],
        lambda e: [e.credit_code, e.object_name, e.rule_id, e.category, e.reason],
    )
    return 0


def _object_pairs(obj: directory_pb2.InspectionObject) -> list[tuple[str, str]]:
    return [
        ("credit code", obj.credit_code),
        ("name", obj.name),
        ("region", obj.region_code),
        ("department", obj.registering_department_id),
        ("office", obj.office),
        ("industry", obj.industry),
        ("business lines", ", ".join(obj.business_lines)),
        ("risk class", _enum(directory_pb2.RiskClass.Name(obj.risk_class), "RISK_CLASS_")),
        ("status", _enum(directory_pb2.ObjectStatus.Name(obj.status), "OBJECT_STATUS_")),
    ]


def _cmd_objects_list(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    out.table(
        _limited(client.iter_objects(department_id=args.department or ""), args),
        ["CREDIT CODE", "NAME", "REGION", "DEPARTMENT", "INDUSTRY", "RISK", "STATUS", "BUSINESS LINES"],
        lambda o: [
            o.credit_code,
            o.name,
            o.region_code,
            o.registering_department_id,
            o.industry,
            _enum(directory_pb2.RiskClass.Name(o.risk_class), "RISK_CLASS_"),
            _enum(directory_pb2.ObjectStatus.Name(o.status), "OBJECT_STATUS_"),
            ",".join(o.business_lines),
        ],
    )
    return 0


def _cmd_objects_get(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    obj = client.get_object(args.credit_code)
    if out.json:
        out.document(obj)
    else:
        out.lines(_pairs(_object_pairs(obj)))
    return 0


def _specialities(inspector: directory_pb2.Inspector) -> str:
    return ", ".join(
        f"{s.code} (to {s.certificate_expires_on})" if s.certificate_expires_on else s.code
        for s in inspector.specialities
    )


def _cmd_inspectors_list(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    out.table(
        _limited(client.iter_inspectors(department_id=args.department or ""), args),
        ["BADGE", "NAME", "DEPARTMENT", "OFFICE", "AVAILABLE", "SPECIALITIES", "CONFLICTS"],
        lambda i: [
            i.badge_number,
            i.name,
            i.department_id,
            i.office,
            "yes" if i.available else "no",
            _specialities(i),
            str(len(i.conflicts)),
        ],
        "llllllr",
    )
    return 0


def _cmd_departments_list(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    out.table(
        _limited(client.iter_departments(root_id=args.root or ""), args),
        ["ID", "NAME", "PARENT", "LEVEL", "REGION"],
        lambda d: [d.id, d.name, d.parent_id, str(d.level), d.region_code],
        "lllr",
    )
    return 0


def _cmd_transfer(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    moved = client.transfer_record(args.kind, args.key, args.to, args.reason)
    if out.json:
        out.document(moved)
    elif moved.moved:
        out.line(f"{args.kind} {moved.key}: {moved.from_department_id} -> {moved.to_department_id}")
    else:
        out.line(f"{args.kind} {moved.key} is in {moved.to_department_id} already: nothing changed")
    return 0


def _cmd_audit(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    out.table(
        _limited(client.iter_audit_events(resource=args.resource or ""), args),
        ["SEQ", "TIME", "ACTOR", "ACTION", "RESOURCE", "REQUEST ID"],
        lambda e: [str(e.sequence), _time(e.occur_time), e.actor, e.action, e.resource, e.request_id],
        "r",
    )
    return 0


# -- argument parsing ----------------------------------------------------------------------------------


def _iso_date(text: str) -> str:
    try:
        if len(text) != 10:
            raise ValueError(text)
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _add_policy_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("task policy (any of these makes a dualdraw-draw/2 task)")
    g.add_argument("--policy", action="store_true", help="create the task with the default policy")
    g.add_argument(
        "--class-ratio",
        action="append",
        type=_class_ratio_arg,
        metavar="CLASS=RATIO",
        help="ratio of one credit-risk class, e.g. D=0.3 (repeatable)",
    )
    g.add_argument("--complaint-threshold", type=_positive_int, metavar="N", help="raise at N complaints")
    g.add_argument("--raise-window-days", type=_positive_int, metavar="DAYS", help="default 365")
    g.add_argument(
        "--raise-on-serious-violation",
        action="store_true",
        help="raise objects with a case opened or a judicial referral in the window",
    )
    g.add_argument("--raise-to", choices=["A", "B", "C", "D"], help="class raised objects are drawn in")
    cap = g.add_mutually_exclusive_group()
    cap.add_argument(
        "--frequency-cap",
        type=_positive_int,
        metavar="N",
        help="planned inspections per object per year (default: the item's cap, else 1)",
    )
    cap.add_argument("--no-frequency-cap", action="store_true", help="switch the frequency cap off")
    g.add_argument("--campaign", action="store_true", help="a campaign ordered from above (counted apart)")
    g.add_argument("--central", action="store_true", help="hand each object to its registering branch")
    g.add_argument("--cross-office", action="store_true", help="no inspector on an object of their office")
    g.add_argument(
        "--no-repeat-cycles",
        type=_positive_int,
        metavar="K",
        help="no inspector on an object they inspected in its last K inspections",
    )
    g.add_argument("--workload-cap", type=_positive_int, metavar="N", help="assignments per inspector")
    g.add_argument(
        "--cooperating",
        action="append",
        metavar="DEPT",
        help="cooperating department of a joint draw (repeatable)",
    )
    g.add_argument("--cooperating-team-size", type=_positive_int, metavar="N", help="default 1")


def _item_kind_arg(text: str) -> items_pb2.ItemKind.ValueType:
    name = text.strip().upper()
    for candidate in (name, "ITEM_KIND_" + name):
        if candidate != "ITEM_KIND_UNSPECIFIED":
            try:
                return items_pb2.ItemKind.Value(candidate)
            except ValueError:
                continue
    raise argparse.ArgumentTypeError(f"expected general or key, got {text!r}")


def _common_options() -> argparse.ArgumentParser:
    """The options every remote command takes (defaults resolved in :func:`run_remote`)."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("server and output")
    group.add_argument(
        "--server",
        metavar="HOST:PORT",
        help=f"server address (default: $DUALDRAW_SERVER or {DEFAULT_TARGET})",
    )
    group.add_argument(
        "--actor", help="who is acting, sent to the server (default: $DUALDRAW_ACTOR or login name)"
    )
    group.add_argument("--token", help="bearer token (default: $DUALDRAW_TOKEN)")
    group.add_argument(
        "--tls-ca",
        metavar="PEM",
        help="use TLS, trusting this CA certificate (default: $DUALDRAW_TLS_CA; plaintext when unset)",
    )
    group.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="SECONDS",
        help=f"deadline of each call (default: {_DEFAULT_TIMEOUT:g})",
    )
    group.add_argument(
        "--json",
        dest="json_output",
        action="store_true",
        help="machine output: JSON (lists: one object a line)",
    )
    return parent


def _add(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: _Handler,
    help_text: str,
    parents: list[argparse.ArgumentParser],
    *,
    listing: bool = False,
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help_text, description=help_text, parents=parents)
    parser.set_defaults(**{_HANDLER: handler})
    if listing:
        parser.add_argument("--limit", type=_positive_int, metavar="N", help="show at most N rows")
    return parser


def _group(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    return parser.add_subparsers(dest=f"{name}_action", required=True, metavar="ACTION")


def add_remote_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the remote commands (:data:`REMOTE_COMMANDS`) to an argparse sub-parser collection.

    Each leaf command carries the common options and a handler that :func:`run_remote` dispatches to.
    """
    common = [_common_options()]

    p = _add(
        subparsers,
        "import",
        _cmd_import,
        "import directory files (CSV or JSON Lines) in one transaction",
        common,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="CSV (one kind per file) or .jsonl files")
    p.add_argument("--kind", choices=KINDS, help="kind of the CSV files (default: from the file name)")
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p.add_argument("--chunk-records", type=_positive_int, default=2000, metavar="N", help=argparse.SUPPRESS)

    items = _group(subparsers, "items", "the random-inspection item list")
    p = _add(items, "create", _cmd_items_create, "create an inspection item", common)
    p.add_argument("--code", required=True, help='stable code, e.g. "SE-001"')
    p.add_argument("--name", required=True)
    p.add_argument("--legal-basis", required=True, help="law or regulation that authorises the inspection")
    p.add_argument("--business-line", required=True, help='e.g. "special_equipment"')
    p.add_argument("--speciality", required=True, help="speciality every team member must hold")
    p.add_argument("--kind", required=True, type=_item_kind_arg, metavar="{general,key}")
    p.add_argument("--default-ratio", required=True, help='decimal in (0, 1], e.g. "0.05"')
    p.add_argument("--department", required=True, help="owning department id")
    p.add_argument("--target-scope", help="who may be inspected, in words")
    p.add_argument(
        "--frequency-cap",
        type=_positive_int,
        metavar="N",
        help="planned inspections per object per department per calendar year (default: 1)",
    )
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    _add(items, "list", _cmd_items_list, "list inspection items", common, listing=True)
    p = _add(items, "show", _cmd_items_show, "show one inspection item", common)
    p.add_argument("code")

    tasks = _group(subparsers, "tasks", "inspection tasks")
    p = _add(tasks, "create", _cmd_tasks_create, "create an inspection task", common)
    p.add_argument("--item", required=True, help="inspection item code")
    p.add_argument("--department", required=True, help="department that runs the task")
    p.add_argument("--ratio", required=True, help='share to draw, decimal in (0, 1], e.g. "0.05"')
    p.add_argument("--team-size", required=True, type=int, help="inspectors per team (at least 2)")
    p.add_argument("--region", help="region code inside the department's territory (default: all of it)")
    p.add_argument("--industry", action="extend", nargs="+", metavar="CODE", help="only these industries")
    p.add_argument("--title")
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p.add_argument("--draw", action="store_true", help="draw the new task at once and show its teams")
    p.add_argument(
        "--as-of", type=_iso_date, metavar="DATE", help="with --draw: date the rules are evaluated at"
    )
    _add_policy_flags(p)
    p = _add(tasks, "list", _cmd_tasks_list, "list tasks", common, listing=True)
    p.add_argument("--department", help="only this department's tasks")
    p = _add(tasks, "show", _cmd_tasks_show, "show one task", common)
    p.add_argument("id", metavar="TASK_ID")

    p = _add(subparsers, "draw", _cmd_draw, "run the draw of a task and show its teams", common)
    p.add_argument("task_id", metavar="TASK_ID")
    p.add_argument(
        "--as-of", type=_iso_date, metavar="DATE", help="date the rules are evaluated at (default: today)"
    )
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")

    draws = _group(subparsers, "draws", "completed draws")
    p = _add(draws, "show", _cmd_draws_show, "show one draw", common)
    p.add_argument("id", metavar="DRAW_ID")
    p = _add(draws, "list", _cmd_draws_list, "list draws", common, listing=True)
    p.add_argument("--task", help="only this task's draws")
    _add_verification_commands(subparsers, draws, common)

    help_text = "selected objects of a draw and their teams"
    p = _add(subparsers, "assignments", _cmd_assignments, help_text, common, listing=True)
    p.add_argument("draw_id", metavar="DRAW_ID")
    help_text = "objects a draw raised to a higher stratum, and why"
    p = _add(subparsers, "raises", _cmd_raises, help_text, common, listing=True)
    p.add_argument("draw_id", metavar="DRAW_ID")
    help_text = "objects several departments' draws selected in one year, merged (Art. 15)"
    p = _add(subparsers, "joint-inspections", _cmd_joint_inspections, help_text, common, listing=True)
    p.add_argument("--year", required=True, type=_positive_int, metavar="YEAR", help="calendar year")
    p.add_argument("--department", help="only inspections involving this department or one below it")
    p = _add(
        subparsers, "exclusions", _cmd_exclusions, "objects a rule removed from a draw", common, listing=True
    )
    p.add_argument("draw_id", metavar="DRAW_ID")

    objects = _group(subparsers, "objects", "inspection objects")
    p = _add(objects, "list", _cmd_objects_list, "list inspection objects", common, listing=True)
    p.add_argument("--department", help="only objects registered by this department or its subtree")
    p = _add(objects, "get", _cmd_objects_get, "show one inspection object", common)
    p.add_argument("credit_code", metavar="CREDIT_CODE")

    inspectors = _group(subparsers, "inspectors", "enforcement inspectors")
    p = _add(inspectors, "list", _cmd_inspectors_list, "list inspectors", common, listing=True)
    p.add_argument("--department", help="only this department's inspectors")

    departments = _group(subparsers, "departments", "enforcement departments")
    p = _add(departments, "list", _cmd_departments_list, "list departments", common, listing=True)
    p.add_argument("--root", help="only this department's subtree")

    help_text = "move an object, inspector or department to another department (an import never does)"
    p = _add(subparsers, "transfer", _cmd_transfer, help_text, common)
    p.add_argument("kind", choices=["object", "inspector", "department"], help="what moves")
    p.add_argument("key", metavar="KEY", help="credit code, badge number or department id")
    p.add_argument(
        "--to", required=True, metavar="DEPARTMENT", help="the new (registering/parent) department"
    )
    p.add_argument("--reason", required=True, help="why the record moves (kept in the audit log)")

    p = _add(subparsers, "audit", _cmd_audit, "the audit log", common, listing=True)
    p.add_argument("--resource", help='only events on this resource, e.g. "tasks/t-3f2a9c1b7d4e"')
    _add_rule_set_commands(subparsers, common)


# -- rules on the server -------------------------------------------------------------------------------------


def _cmd_rule_set_show(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    rule_set = client.get_rule_set(args.hash or "")
    if out.json:
        out.document(rule_set)
        return 0
    out.line(f"rule set {rule_set.version} ({rule_set.hash})")
    out.lines(
        format_table(
            ["id", "category", "in force", "jurisdictions", "source"],
            [
                [
                    r.id,
                    r.category,
                    f"{r.effective_from or '…'} – {r.effective_to or '…'}",
                    ",".join(r.jurisdictions) or "all",
                    r.source,
                ]
                for r in rule_set.rules
            ],
        )
    )
    return 0


def _cmd_rule_set_reload(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    response = client.reload_rules()
    if out.json:
        out.document(response)
        return 0
    state = "reloaded" if response.changed else "unchanged"
    out.line(
        f"{state}: version {response.rule_set.version}, {len(response.rule_set.rules)} rules, "
        f"{response.test_cases} test cases passed"
    )
    return 0


def _cmd_rule_set_preview(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    files = {Path(f).name: Path(f).read_text(encoding="utf-8") for f in args.files}
    response = client.preview_rule_change(
        files,
        as_of=args.as_of,
        department_id=args.department or "",
        business_line=args.business_line or "",
        max_share=args.max_share or 0.0,
    )
    if out.json:
        out.document(response)
    else:
        out.line(f"rules {response.base_version} → {response.head_version}")
        out.lines(
            format_table(
                ["change", "credit code", "department", "risk", "before", "after"],
                [
                    [
                        c.change,
                        c.credit_code,
                        c.department_id,
                        c.risk_class,
                        ",".join(c.base_rules) or "-",
                        ",".join(c.head_rules) or "-",
                    ]
                    for c in response.changes
                ],
            )
        )
    for department in response.over_max_share:
        sys.stderr.write(
            f"error: department {department} loses more than {args.max_share} of its eligible objects\n"
        )
    return 1 if response.over_max_share else 0


def _cmd_rule_set_explain(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    response = client.explain_exclusion(
        args.credit_code,
        as_of=args.as_of,
        task_id=args.task or "",
        item_code=args.item or "",
        department_id=args.department or "",
    )
    if out.json:
        out.document(response)
        return 0
    out.line(
        f"{response.credit_code} at {response.as_of}: {', '.join(response.excluded_by) or 'not excluded'}"
    )
    if response.eligible_again:
        out.line(f"eligible again from {response.eligible_again}")
    for verdict in response.rules:
        out.line(f"- {verdict.rule_id}: {verdict.status.replace('_', ' ')}")
        for fact in verdict.facts:
            out.line(
                f"    matched {fact.kind} {fact.ref}: "
                + ", ".join(f"{k}={v}" for k, v in sorted(fact.values.items()))
            )
        for failure in verdict.failures:
            out.line(f"    {failure}")
    return 0


def _cmd_rule_set_reevaluate(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    response = client.reevaluate_draw(args.draw_id)
    if out.json:
        out.document(response)
    else:
        out.line(
            f"draw {response.draw_id} with rule set {response.rule_set_hash[:12]}: "
            f"{'match' if response.matches else 'MISMATCH'}"
        )
        for pair in response.missing:
            out.line(f"  stored but not found now: {pair}")
        for pair in response.unexpected:
            out.line(f"  found now but not stored: {pair}")
    return 0 if response.matches else 1


def _add_rule_set_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: list[argparse.ArgumentParser]
) -> None:
    group = _group(
        subparsers, "rule-set", "the server's exclusion rules (local file commands: dualdraw rules)"
    )
    p = _add(group, "show", _cmd_rule_set_show, "the rule set in force (or a stored one by hash)", common)
    p.add_argument("--hash", help="hash of a stored rule set")
    _add(
        group, "reload", _cmd_rule_set_reload, "reload the server's rule files (refused if they fail)", common
    )
    p = _add(
        group, "preview", _cmd_rule_set_preview, "what changed rule files would exclude or include", common
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="changed rule files (*.yaml)")
    p.add_argument("--as-of", type=_iso_date, metavar="DATE")
    p.add_argument("--department")
    p.add_argument("--business-line")
    p.add_argument("--max-share", type=float, metavar="P", help="fail above this share (0-1) per department")
    p = _add(group, "explain", _cmd_rule_set_explain, "why one object is or is not excluded", common)
    p.add_argument("credit_code", metavar="CREDIT_CODE")
    p.add_argument("--as-of", type=_iso_date, metavar="DATE")
    p.add_argument("--task")
    p.add_argument("--item")
    p.add_argument("--department")
    p = _add(
        group,
        "reevaluate",
        _cmd_rule_set_reevaluate,
        "re-run an old draw's exclusions with its rule set",
        common,
    )
    p.add_argument("draw_id", metavar="DRAW_ID")

    from . import results_cli  # results and publication; imported late: it uses this module

    results_cli.add_commands(subparsers, common)


# -- verification --------------------------------------------------------------------------------------

DRAW_VERBS: Final = frozenset({"commit", "reveal", "execute", "abandon", "substitute", "export", "stats"})


def alias_argv(argv: Sequence[str]) -> list[str]:
    """``draw export …`` (and the other lifecycle verbs) means ``draws export …``; ``audit verify`` means
    ``log verify`` (``draw TASK_ID`` and ``audit`` keep their meaning)."""
    args = list(argv)
    if len(args) >= 2 and args[0] == "draw" and args[1] in DRAW_VERBS:
        args[0] = "draws"
    elif len(args) >= 2 and args[0] == "audit" and args[1] in ("verify", "checkpoint", "proof"):
        args[0] = "log"
    return args


def _cmd_draws_commit(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    source = verification_pb2.EntropySource(
        kind=args.source, beacon=args.beacon or "", beacon_round=args.round or 0
    )
    for party in args.party or []:
        name, _, commitment = party.partition("=")
        source.parties.append(verification_pb2.PartyCommitment(name=name, commitment=commitment))
    source.reveal_deadline = args.deadline or ""
    draw = client.commit_draw(args.task_id, source, as_of=args.as_of, request_id=_request_id(args))
    return _show_draw(client, draw, out)


def _cmd_draws_reveal(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    return _show_draw(client, client.reveal_entropy(args.draw_id, args.party, args.secret), out)


def _cmd_draws_execute(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    return _show_draw(client, client.execute_draw(args.draw_id, args.beacon_value or ""), out)


def _cmd_draws_abandon(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    draw = client.abandon_draw(args.draw_id, args.reason, args.note)
    if out.json:
        out.document(draw)
    else:
        out.lines(_pairs(_draw_pairs(draw)))
    return 0


def _cmd_draws_substitute(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    import hashlib

    evidence = args.evidence_hash or hashlib.sha256(open(args.evidence_file, "rb").read()).hexdigest()  # noqa: SIM115
    sub = client.request_substitution(
        args.draw_id,
        args.position,
        args.badge,
        args.reason,
        evidence,
        beacon=args.beacon or "",
        beacon_round=args.round or 0,
    )
    if not args.beacon:
        sub = client.execute_substitution(sub.id)
    if out.json:
        out.document(sub)
    else:
        pairs = [
            ("substitution", sub.id),
            ("position", str(sub.position)),
            ("removed", sub.removed_badge),
            ("replacement", sub.replacement_badge or "(awaiting the beacon)"),
            ("reason", sub.reason),
            ("state", sub.state),
        ]
        out.lines(_pairs(pairs))
    return 0


def _cmd_draws_export(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    """Streams the bundle into ``FILE.part`` and renames it to ``FILE`` once its length and SHA-256 check
    out: a cut or altered stream leaves no file that looks like a bundle. The deadline covers the whole
    stream: without ``--timeout`` it is ``_EXPORT_TIMEOUT`` (a 1M-object bundle is ~135 MB)."""
    partial = f"{args.output}.part"
    timeout = args.timeout if args.timeout is not None else _EXPORT_TIMEOUT
    try:
        with open(partial, "wb") as f:
            receipt = client.write_draw_bundle(args.draw_id, f.write, public=args.public, timeout=timeout)
        os.replace(partial, args.output)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    sys.stderr.write(
        f"wrote {receipt.size} bytes (SHA-256 {receipt.sha256}) to {args.output};"
        f" check: dualdraw verify {args.output}\n"
    )
    return 0


def _cmd_draws_stats(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    stats = client.draw_statistics()
    if out.json:
        out.document(stats)
        return 0
    out.line(f"abandoned draws: {stats.abandoned}")
    for reason, n in sorted(stats.abandoned_by_reason.items()):
        out.line(f"  {reason}: {n}")
    out.line("substitutions per department:")
    for key, n in sorted(stats.substitutions_by_department.items()):
        out.line(f"  {key}: {n}")
    out.line("substitutions per inspector (removed):")
    for key, n in sorted(stats.substitutions_by_inspector.items()):
        out.line(f"  {key}: {n}")
    return 0


def _cmd_log_verify(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    verdict = client.verify_log(args.known_size or 0, args.known_root or "")
    if out.json:
        out.document(verdict)
    elif verdict.ok:
        keys = list(verdict.key_ids)
        out.line(
            f"OK: {verdict.tree_size} entries, root {verdict.root_hash}, {verdict.checkpoints_checked} "
            f"signed checkpoints (key{'s' if len(keys) > 1 else ''} {', '.join(keys)})"
            + (" -- DEVELOPMENT KEY, not pinned" if verdict.development_key else "")
        )
        if len(keys) > 1:
            out.line(
                f"KEY CHANGED: checkpoints were signed by {len(keys)} keys, in this order:"
                f" {' -> '.join(keys)}; check that each is one of yours (a rotation), not a server"
                " restarted with another key"
            )
    else:
        out.line(f"TAMPERED: first bad entry {verdict.first_bad_sequence}: {verdict.problem}")
    return 0 if verdict.ok else 1


def _cmd_log_checkpoint(client: DualdrawClient, args: argparse.Namespace, out: _Output) -> int:
    cp = client.get_checkpoint(args.size or 0)
    if out.json:
        out.document(cp)
    else:
        out.lines(
            _pairs(
                [
                    ("tree size", str(cp.tree_size)),
                    ("root", cp.root_hash),
                    ("key id", cp.key_id),
                    ("public key", cp.public_key),
                    ("signature", cp.signature),
                ]
            )
        )
    return 0


def _add_verification_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    draws: argparse._SubParsersAction[argparse.ArgumentParser],
    common: list[argparse.ArgumentParser],
) -> None:
    p = _add(draws, "commit", _cmd_draws_commit, "freeze a draw's manifest before its entropy exists", common)
    p.add_argument("task_id", metavar="TASK_ID")
    p.add_argument("--source", choices=["local-secret", "beacon", "commit-reveal"], default="local-secret")
    p.add_argument("--beacon", help="beacon name (beacon source, or the commit-reveal fallback)")
    p.add_argument("--round", type=_positive_int, help="beacon round fixed in the manifest")
    p.add_argument("--party", action="append", metavar="NAME=COMMITMENT", help="commit-reveal party")
    p.add_argument("--deadline", help="commit-reveal reveal deadline (RFC 3339 with zone)")
    p.add_argument("--as-of", type=_iso_date, metavar="DATE")
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p = _add(draws, "reveal", _cmd_draws_reveal, "reveal a party's secret", common)
    p.add_argument("draw_id", metavar="DRAW_ID")
    p.add_argument("party")
    p.add_argument("secret", help="hex")
    p = _add(draws, "execute", _cmd_draws_execute, "execute a committed draw", common)
    p.add_argument("draw_id", metavar="DRAW_ID")
    p.add_argument("--beacon-value", help="hex value of the beacon round")
    p = _add(draws, "abandon", _cmd_draws_abandon, "abandon a live draw with a reason code", common)
    p.add_argument("draw_id", metavar="DRAW_ID")
    abandon_reasons = [
        "DATA_ERROR",
        "RULES_ERROR",
        "ENTROPY_FAILED",
        "TASK_CHANGED",
        "ORDERED_BY_SUPERVISOR",
        "OTHER",
    ]
    p.add_argument("--reason", required=True, choices=abandon_reasons)
    p.add_argument("--note", required=True)
    p = _add(draws, "substitute", _cmd_draws_substitute, "replace an inspector (补抽), logged first", common)
    p.add_argument("draw_id", metavar="DRAW_ID")
    p.add_argument("--position", type=_positive_int, required=True)
    p.add_argument("--badge", required=True, help="the inspector to replace")
    substitution_reasons = ["AVOIDANCE", "LEAVE", "CERTIFICATE_LAPSED", "ILLNESS", "OTHER"]
    p.add_argument("--reason", required=True, choices=substitution_reasons)
    evidence = p.add_mutually_exclusive_group(required=True)
    evidence.add_argument("--evidence-hash", help="hex SHA-256 of the evidence")
    evidence.add_argument("--evidence-file", help="the evidence file (its SHA-256 is recorded)")
    p.add_argument("--beacon", help="entropy from this beacon (execute later); default: local secret")
    p.add_argument("--round", type=_positive_int)
    p = _add(draws, "export", _cmd_draws_export, "write a draw's verification bundle (streamed)", common)
    p.add_argument("draw_id", metavar="DRAW_ID")
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.add_argument("--public", action="store_true", help="hide unselected objects behind salted commitments")
    _add(draws, "stats", _cmd_draws_stats, "abandoned draws and substitution counts", common)

    log = _group(subparsers, "log", "the tamper-evident audit log (also: audit verify)")
    help_text = "recompute the Merkle log and check its signed checkpoints"
    p = _add(log, "verify", _cmd_log_verify, help_text, common)
    p.add_argument("--known-size", type=_positive_int, help="a checkpoint size held outside")
    p.add_argument("--known-root", help="its root hash")
    p = _add(log, "checkpoint", _cmd_log_checkpoint, "show a signed checkpoint", common)
    p.add_argument("--size", type=_positive_int, help="default: the newest")


def is_remote(args: argparse.Namespace) -> bool:
    """True when ``args`` came from a command added by :func:`add_remote_commands`."""
    return callable(getattr(args, _HANDLER, None))


def _default_actor() -> str | None:
    actor = os.environ.get("DUALDRAW_ACTOR")
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment (e.g. a container without a passwd entry)
        return None


def _report(error: DualdrawError, stream: TextIO) -> None:
    """``error: CODE: message [REASON]`` and then one indented line per field violation."""
    stream.write(f"error: {error.code.name}: {error}\n")


def run_remote(args: argparse.Namespace) -> int:
    """Runs a parsed remote command; returns the exit code. Errors are reported on stderr, not raised."""
    handler: _Handler = getattr(args, _HANDLER)
    out = _Output(bool(getattr(args, "json_output", False)))
    target = args.server or os.environ.get("DUALDRAW_SERVER") or DEFAULT_TARGET
    timeout = args.timeout if args.timeout is not None else _DEFAULT_TIMEOUT
    try:
        token = getattr(args, "token", None) or os.environ.get("DUALDRAW_TOKEN") or None
        tls_ca = getattr(args, "tls_ca", None) or os.environ.get("DUALDRAW_TLS_CA") or None
        credentials = None
        if tls_ca:
            with open(tls_ca, "rb") as pem:
                credentials = grpc.ssl_channel_credentials(root_certificates=pem.read())
        client = DualdrawClient(
            target,
            actor=args.actor or _default_actor(),
            timeout=timeout,
            token=token,
            credentials=credentials,
        )
    except (ValueError, OSError) as exc:  # an actor that cannot travel as metadata; an unreadable CA file
        sys.stderr.write(f"error: {exc}\n")
        return 2
    try:
        with client:
            return handler(client, args, out)
    except DualdrawError as exc:
        _report(exc, sys.stderr)
        request_id = getattr(args, "request_id", None)
        if request_id and exc.code in _TRANSIENT_CODES:
            sys.stderr.write(
                "note: the request may or may not have been applied; to retry safely, repeat the command"
                f" with --request-id {request_id}\n"
            )
        return exit_code(exc.code)
    except RecordError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except BrokenPipeError:  # stdout closed early (e.g. piped into head): stop quietly
        _silence_stdout()
        return 1
    except OSError as exc:  # an input file that cannot be read
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush does not fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (e.g. under a test harness)
        pass


def build_parser(prog: str = "dualdraw") -> argparse.ArgumentParser:
    """A parser with only the remote commands (the real entry point adds ``serve`` and ``db`` too)."""
    parser = argparse.ArgumentParser(prog=prog, description="dualdraw: talk to a dualdraw server")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_remote_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point: parses ``argv`` (default ``sys.argv[1:]``) and runs the remote command."""
    args = build_parser().parse_args(alias_argv(sys.argv[1:] if argv is None else argv))
    return run_remote(args)


if __name__ == "__main__":
    sys.exit(main())
