"""Remote commands on the item list and tasks: ``items`` and ``tasks`` (with the task-policy flags)."""

from __future__ import annotations

import argparse

from dualdraw.v1 import items_pb2, tasks_pb2

from ..client import DualdrawClient
from ..decimals import decimal_pb, decimal_text
from ..i18n import _
from ..progress import spinner
from .draws import BEACON_ROUND_WITH_DRAW_HELP, add_beacon_round, show_draw
from .options import (
    add_command,
    add_group,
    cooperating_arg,
    idempotency_key,
    iso_date,
    limited,
    positive_int,
)
from .output import (
    Output,
    aligned_pairs,
    enum_name,
    other_level_value,
    other_level_word,
    risk_class_letter,
    risk_class_value,
    show_time,
)
from .plans import rules_summary


def item_kind_name(kind: items_pb2.ItemKind.ValueType) -> str:
    return enum_name(items_pb2.ItemKind.Name(kind), "ITEM_KIND_")


def _plan_text(task: tasks_pb2.Task) -> str:
    if not task.plan_id:
        return _("(none)")
    text = _("{plan} version {version}, entry {entry}, period {period}").format(
        plan=task.plan_id, version=task.plan_version, entry=task.plan_entry_id, period=task.plan_period
    )
    return text + (_(" (rehearsal)") if task.rehearsal else "")


def _frequency_cap(cap: int) -> str:
    return _("{n} per year").format(n=cap) if cap else _("(default) 1 per year")


def _task_pairs(task: tasks_pb2.Task) -> list[tuple[str, str]]:
    return [
        ("task", task.id),
        ("title", task.title),
        ("item", task.item_code),
        ("department", task.department_id),
        ("ratio", decimal_text(task.ratio)),
        ("team size", str(task.team_size)),
        ("region", task.scope.region_code or _("(whole territory)")),
        ("industries", ", ".join(task.scope.industries) or _("(all)")),
        ("created", show_time(task.create_time)),
        ("draw", task.draw_id or _("(not drawn)")),
        ("plan", _plan_text(task)),
        ("rules", _rules_text(task.policy)),
    ]


def _rules_text(p: tasks_pb2.TaskPolicy) -> str:
    """The caps and raises the task is drawn with (a planned task: its entry's in force at the draw)."""
    cap = 0 if p.no_frequency_cap else p.frequency_cap or 1
    return rules_summary(
        cap,
        p.complaint_threshold,
        p.raise_window_days,
        p.raise_on_serious_violation,
        risk_class_letter(p.raise_to),
        other_level_word(p.other_level),
    )


def _item_pairs(item: items_pb2.InspectionItem) -> list[tuple[str, str]]:
    return [
        ("item", item.code),
        ("name", item.display_name),
        ("kind", item_kind_name(item.kind)),
        ("default ratio", decimal_text(item.default_ratio)),
        ("business line", item.business_line),
        ("speciality", item.required_speciality),
        ("department", item.department_id),
        ("target scope", item.target_scope),
        ("frequency cap", _frequency_cap(item.frequency_cap)),
        (
            "assistant",
            _("one unqualified assistant per team allowed") if item.unqualified_assistant else _("no"),
        ),
        ("per inspection", _workload_text(item)),
        ("legal basis", item.legal_basis),
        ("created", show_time(item.create_time)),
    ]


def _workload_text(item: items_pb2.InspectionItem) -> str:
    """What one inspection takes, as the plan's estimate counts it."""
    text = _("{n} inspectors × {days} days, {cost} yuan").format(
        n=item.team_size or 2,
        days=decimal_text(item.days_per_inspection, "1"),
        cost=decimal_text(item.cost_per_inspection, "0"),
    )
    fee = decimal_text(item.testing_fee, "0")
    return text + (_(" + {fee} yuan testing fees").format(fee=fee) if fee != "0" else "")


def _cmd_items_create(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    item = items_pb2.InspectionItem(
        code=args.code,
        display_name=args.name,
        legal_basis=args.legal_basis,
        business_line=args.business_line,
        required_speciality=args.speciality,
        kind=args.kind,
        default_ratio=decimal_pb(args.default_ratio),
        department_id=args.department,
        target_scope=args.target_scope or "",
        frequency_cap=args.frequency_cap or 0,
        unqualified_assistant=args.unqualified_assistant,
        team_size=args.team_size or 0,
        days_per_inspection=decimal_pb(args.days_per_inspection),
        cost_per_inspection=decimal_pb(args.cost_per_inspection),
        testing_fee=decimal_pb(args.testing_fee),
    )
    created = client.create_item(item, request_id=idempotency_key(args))
    if out.json:
        out.document(created)
    else:
        out.lines(aligned_pairs(_item_pairs(created)))
    return 0


def _cmd_items_list(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    out.table(
        limited(client.iter_items(), args),
        ["CODE", "NAME", "KIND", "RATIO", "BUSINESS LINE", "SPECIALITY", "DEPARTMENT"],
        lambda i: [
            i.code,
            i.display_name,
            item_kind_name(i.kind),
            decimal_text(i.default_ratio),
            i.business_line,
            i.required_speciality,
            i.department_id,
        ],
    )
    return 0


def _cmd_items_show(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    item = client.get_item(args.code)
    if out.json:
        out.document(item)
    else:
        out.lines(aligned_pairs(_item_pairs(item)))
    return 0


def _cmd_tasks_create(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    department = args.department
    if args.plan and not department:  # a planned task belongs to its plan's department
        department = client.get_plan(args.plan).department_id
    task = tasks_pb2.Task(
        item_code=args.item or "",
        department_id=department or "",
        ratio=decimal_pb(args.ratio),
        team_size=args.team_size,
        plan_id=args.plan or "",
        plan_entry_id=args.entry or "",
        plan_period=args.period or 0,
        rehearsal=args.rehearsal,
        title=args.title or "",
        scope=tasks_pb2.TaskScope(region_code=args.region or "", industries=args.industry or []),
    )
    policy = _task_policy(args)
    if policy is not None:
        task.policy.CopyFrom(policy)
    created = client.create_task(task, request_id=idempotency_key(args))
    if args.draw:
        with spinner(_("drawing")):
            draw = client.draw(created.id, as_of=args.as_of, beacon_round=args.beacon_round or 0)
        return show_draw(client, draw, out)
    if out.json:
        out.document(created)
    else:
        out.lines(aligned_pairs(_task_pairs(created)))
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
    "other_level",
)


def _task_policy(args: argparse.Namespace) -> tasks_pb2.TaskPolicy | None:
    """The task policy the flags ask for; ``None`` without any policy flag (the server then fills in the
    plan entry's caps and raises, or outside a plan the bureau defaults)."""
    if not args.policy and not any(getattr(args, name) for name in _POLICY_FLAGS):
        return None
    return tasks_pb2.TaskPolicy(
        class_ratios=[
            tasks_pb2.ClassRatio(risk_class=risk_class_value(c), ratio=decimal_pb(r))
            for c, r in args.class_ratio or []
        ],
        complaint_threshold=args.complaint_threshold or 0,
        raise_window_days=args.raise_window_days or 0,
        raise_on_serious_violation=args.raise_on_serious_violation,
        raise_to=risk_class_value(args.raise_to or ""),
        frequency_cap=args.frequency_cap or 0,
        no_frequency_cap=args.no_frequency_cap,
        campaign=args.campaign,
        central=args.central,
        cross_office=args.cross_office,
        recent_cycles=args.no_repeat_cycles or 0,
        workload_cap=args.workload_cap or 0,
        cooperating_department_ids=[dept for dept, _ in args.cooperating or []],
        cooperating_lines={dept: line for dept, line in args.cooperating or [] if line},
        cooperating_team_size=args.cooperating_team_size or 0,
        other_level=other_level_value(args.other_level or ""),
    )


def _class_ratio_arg(text: str) -> tuple[str, str]:
    cls, sep, ratio = text.partition("=")
    if not sep or not cls.strip() or not ratio.strip():
        raise argparse.ArgumentTypeError(f"expected CLASS=RATIO, e.g. D=0.3, got {text!r}")
    return cls.strip().upper(), ratio.strip()


def _cmd_tasks_list(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    out.table(
        limited(client.iter_tasks(department_id=args.department or ""), args),
        ["ID", "ITEM", "DEPARTMENT", "RATIO", "TEAM", "REGION", "INDUSTRIES", "DRAW", "TITLE"],
        lambda t: [
            t.id,
            t.item_code,
            t.department_id,
            decimal_text(t.ratio),
            str(t.team_size),
            t.scope.region_code,
            ",".join(t.scope.industries),
            t.draw_id,
            t.title,
        ],
        "llllr",
    )
    return 0


def _cmd_tasks_show(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    task = client.get_task(args.id)
    if out.json:
        out.document(task)
    else:
        out.lines(aligned_pairs(_task_pairs(task)))
    return 0


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
    g.add_argument("--complaint-threshold", type=positive_int, metavar="N", help="raise at N complaints")
    g.add_argument("--raise-window-days", type=positive_int, metavar="DAYS", help="default 365")
    g.add_argument(
        "--raise-on-serious-violation",
        action="store_true",
        help="raise objects with a case opened or a judicial referral in the window",
    )
    g.add_argument("--raise-to", choices=["A", "B", "C", "D"], help="class raised objects are drawn in")
    cap = g.add_mutually_exclusive_group()
    cap.add_argument(
        "--frequency-cap",
        type=positive_int,
        metavar="N",
        help="planned inspections per object per year (default: the item's cap, else 1)",
    )
    cap.add_argument("--no-frequency-cap", action="store_true", help="switch the frequency cap off")
    g.add_argument("--campaign", action="store_true", help="a campaign ordered from above (counted apart)")
    g.add_argument("--central", action="store_true", help="hand each object to its registering branch")
    g.add_argument(
        "--other-level",
        choices=("exclude", "join"),
        help="objects another level drew this year for the item: leave them to it or join its inspection",
    )
    g.add_argument("--cross-office", action="store_true", help="no inspector on an object of their office")
    g.add_argument(
        "--no-repeat-cycles",
        type=positive_int,
        metavar="K",
        help="no inspector on an object they inspected in its last K inspections",
    )
    g.add_argument("--workload-cap", type=positive_int, metavar="N", help="assignments per inspector")
    g.add_argument(
        "--cooperating",
        action="append",
        type=cooperating_arg,
        metavar="DEPT=LINE",
        help="cooperating department of a joint draw and the line its members hold (repeatable)",
    )
    g.add_argument("--cooperating-team-size", type=positive_int, metavar="N", help="default 1")


def _item_kind_arg(text: str) -> items_pb2.ItemKind.ValueType:
    name = text.strip().upper()
    for candidate in (name, "ITEM_KIND_" + name):
        if candidate != "ITEM_KIND_UNSPECIFIED":
            try:
                return items_pb2.ItemKind.Value(candidate)
            except ValueError:
                continue
    raise argparse.ArgumentTypeError(f"expected general or key, got {text!r}")


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: list[argparse.ArgumentParser]
) -> None:
    """Adds ``items`` and ``tasks``."""
    items = add_group(subparsers, "items", "the random-inspection item list")
    p = add_command(items, "create", _cmd_items_create, "create an inspection item", common)
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
        type=positive_int,
        metavar="N",
        help="planned inspections per object per department per calendar year (default: 1)",
    )
    p.add_argument(
        "--unqualified-assistant",
        action="store_true",
        help="a team may include one member without the speciality (never the leader)",
    )
    g = p.add_argument_group("what one inspection takes (the annual plan's estimate)")
    g.add_argument("--team-size", type=positive_int, metavar="N", help="inspectors per team (default: 2)")
    g.add_argument("--days-per-inspection", metavar="DAYS", help='working days per inspector, e.g. "1.5"; 1')
    g.add_argument("--cost-per-inspection", metavar="YUAN", help="cost of one inspection (default: 0)")
    g.add_argument("--testing-fee", metavar="YUAN", help="testing fees per inspection of a sampling item; 0")
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    add_command(items, "list", _cmd_items_list, "list inspection items", common, listing=True)
    p = add_command(items, "show", _cmd_items_show, "show one inspection item", common)
    p.add_argument("code")

    tasks = add_group(subparsers, "tasks", "inspection tasks")
    p = add_command(tasks, "create", _cmd_tasks_create, "create an inspection task", common)
    p.add_argument("--plan", metavar="PLAN_ID", help="the published plan the task draws for")
    p.add_argument("--entry", metavar="ENTRY_ID", help="with --plan: the plan entry")
    p.add_argument("--period", type=positive_int, help="with --plan: the entry's period (default: today's)")
    p.add_argument(
        "--rehearsal", action="store_true", help="with --plan: a rehearsal (any date, never published)"
    )
    p.add_argument("--item", help="inspection item code (with --plan: the entry's)")
    p.add_argument("--department", help="department that runs the task (with --plan: the plan's)")
    p.add_argument(
        "--ratio", help='share to draw, decimal in (0, 1], e.g. "0.05" (with --plan: the entry\'s)'
    )
    p.add_argument("--team-size", required=True, type=int, help="inspectors per team (at least 2)")
    p.add_argument("--region", help="region code inside the department's territory (default: all of it)")
    p.add_argument("--industry", action="extend", nargs="+", metavar="CODE", help="only these industries")
    p.add_argument("--title")
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p.add_argument("--draw", action="store_true", help="draw the new task at once and show its teams")
    p.add_argument(
        "--as-of", type=iso_date, metavar="DATE", help="with --draw: date the rules are evaluated at"
    )
    add_beacon_round(p, BEACON_ROUND_WITH_DRAW_HELP)
    _add_policy_flags(p)
    p = add_command(tasks, "list", _cmd_tasks_list, "list tasks", common, listing=True)
    p.add_argument("--department", help="only this department's tasks")
    p = add_command(tasks, "show", _cmd_tasks_show, "show one task", common)
    p.add_argument("id", metavar="TASK_ID")
