"""Remote commands on the annual plan: ``plans create/add-entry/update-entry/approve/publish/amend/
show/list/estimate/progress`` and ``plans draw PLAN ENTRY`` (the entry's task for a period, drawn)."""

from __future__ import annotations

import argparse

from dualdraw.v1 import plans_pb2, tasks_pb2

from ..client import DualdrawClient
from ..dates import date_pb, date_text
from ..decimals import decimal_pb, decimal_text
from ..i18n import _
from .draws import add_beacon_round, show_draw
from .options import (
    add_command,
    add_group,
    cooperating_arg,
    idempotency_key,
    iso_date,
    limited,
    non_negative_int,
    positive_int,
)
from .output import (
    Output,
    aligned_pairs,
    enum_name,
    format_table,
    other_level_value,
    other_level_word,
    risk_class_letter,
    risk_class_value,
    show_time,
)


def state_name(state: plans_pb2.PlanState.ValueType) -> str:
    return enum_name(plans_pb2.PlanState.Name(state), "PLAN_STATE_")


def _plan_pairs(plan: plans_pb2.Plan) -> list[tuple[str, str]]:
    pairs = [
        ("plan", plan.id),
        ("version", str(plan.version)),
        ("state", state_name(plan.state)),
        ("department", plan.department_id),
        ("year", str(plan.year)),
        ("title", plan.title),
        ("inspector days/month", str(plan.inspector_days_per_month)),
        ("content hash", plan.content_hash),
        ("created", _("{time} by {actor}").format(time=show_time(plan.create_time), actor=plan.created_by)),
    ]
    if plan.HasField("publish_time"):
        pairs.append(("published", show_time(plan.publish_time)))
    if plan.amendment_reason:
        pairs.append(("amendment", plan.amendment_reason))
    return pairs


ENTRY_HEADERS = (
    "ENTRY", "ITEM", "VERSION", "RATIO", "WINDOW", "FREQUENCY", "TEAM", "DAYS/INSPECTION", "COST",
    "COOPERATING", "RULES",
)  # fmt: skip


def _entry_rows(plan: plans_pb2.Plan) -> list[str]:
    return format_table(
        [
            "ENTRY",
            "ITEM",
            "VERSION",
            "RATIO",
            "WINDOW",
            "FREQUENCY",
            "TEAM",
            "DAYS/INSPECTION",
            "COST",
            "COOPERATING",
            "RULES",
        ],
        [
            [
                e.id,
                e.item_code,
                str(e.item_version),
                decimal_text(e.ratio)
                + "".join(
                    f" {risk_class_letter(c.risk_class)}={decimal_text(c.ratio)}" for c in e.class_ratios
                ),
                f"{date_text(e.window_start)}..{date_text(e.window_end)}",
                str(e.frequency),
                str(e.team_size or _(ITEM_S)),
                decimal_text(e.days_per_inspection) or _(ITEM_S),
                decimal_text(e.cost_per_inspection) or _(ITEM_S),
                _cooperating_text(e),
                _rules_text(e.rules if e.HasField("rules") else DEFAULT_RULES),
            ]
            for e in plan.entries
        ],
        "lllrlrrrrll",
    )


def _cooperating_text(e: plans_pb2.PlanEntry) -> str:
    """Each cooperating department with the line its members hold (``DEPT=LINE``); ``-`` for none."""
    parts = [
        f"{d}={e.cooperating_lines[d]}" if d in e.cooperating_lines else d
        for d in e.cooperating_department_ids
    ]
    return ", ".join(parts) or "-"


ITEM_S = "(item's)"
WHOLE_PLAN = (
    "whole plan: {inspections} inspections, {days} inspector-days, cost {cost} yuan (testing fees {fees})"
)
"""An entry figure left to its item version."""
DEFAULT_RULES = plans_pb2.PlanRules(
    frequency_cap=1,
    complaint_threshold=3,
    raise_window_days=365,
    raise_on_serious_violation=True,
    other_level=tasks_pb2.OTHER_LEVEL_HANDLING_EXCLUDE,
)
"""What an entry without rules applies (the server's defaults, docs/DRAW-ALGORITHM.md §14.6)."""


def _rules_text(r: plans_pb2.PlanRules) -> str:
    return rules_summary(
        r.frequency_cap, r.complaint_threshold, r.raise_window_days, r.raise_on_serious_violation,
        risk_class_letter(r.raise_to),
        other_level_word(r.other_level),
    )  # fmt: skip


def rules_summary(
    frequency_cap: int,
    complaint_threshold: int,
    raise_window_days: int,
    raise_on_serious_violation: bool,
    raise_to: str,
    other_level: str,
) -> str:
    """The caps and raises a draw applies, in one line (an entry's rules, or a task's policy)."""
    cap = _("cap {n}/year").format(n=frequency_cap) if frequency_cap else _("no cap")
    complaints = (
        _("raise at {n} complaints/{days}d").format(n=complaint_threshold, days=raise_window_days or 365)
        if complaint_threshold
        else _("no complaint raise")
    )
    serious = (
        _("raise on serious violation") if raise_on_serious_violation else _("no serious-violation raise")
    )
    to = _(" to {risk_class}").format(risk_class=raise_to) if raise_to else ""
    other = _("other level: {handling}").format(handling=_(other_level or "exclude"))
    return f"{cap}; {complaints}; {serious}{to}; {other}"


def _rules(args: argparse.Namespace) -> plans_pb2.PlanRules | None:
    """The entry's rules the flags ask for, the defaults for the rest; ``None`` without any rule flag."""
    flags = ("frequency_cap", "complaint_threshold", "raise_window_days", "raise_to", "other_level")
    if not args.no_serious_violation_raise and all(getattr(args, f) is None for f in flags):
        return None
    rules = plans_pb2.PlanRules()
    rules.CopyFrom(DEFAULT_RULES)
    for name in flags:
        if name not in ("raise_to", "other_level") and getattr(args, name) is not None:
            setattr(rules, name, getattr(args, name))
    if args.raise_to is not None:
        rules.raise_to = risk_class_value(args.raise_to)
    if args.other_level is not None:
        rules.other_level = other_level_value(args.other_level)
    rules.raise_on_serious_violation = not args.no_serious_violation_raise
    return rules


ESTIMATE_HEADERS = (
    "ENTRY", "ITEM", "PERIOD", "DAYS", "IN SCOPE", "EXCLUDED", "DRAWS", "INSPECTIONS", "INSPECTOR-DAYS",
    "AVAILABLE", "COST",
)  # fmt: skip


def show_plan(plan: plans_pb2.Plan, out: Output) -> int:
    if out.json:
        out.document(plan)
        return 0
    out.lines(aligned_pairs(_plan_pairs(plan)))
    if plan.entries:
        out.line()
        out.lines(_entry_rows(plan))
    return 0


def _entry(args: argparse.Namespace, entry_id: str = "") -> plans_pb2.PlanEntry:
    return plans_pb2.PlanEntry(
        id=entry_id,
        item_code=args.item or "",
        item_version=args.item_version or 0,
        ratio=decimal_pb(args.ratio),
        class_ratios=[
            tasks_pb2.ClassRatio(risk_class=risk_class_value(c), ratio=decimal_pb(r))
            for c, r in args.class_ratio or []
        ],
        window_start=date_pb(args.window_start),
        window_end=date_pb(args.window_end),
        frequency=args.frequency or 0,
        cooperating_department_ids=[dept for dept, _ in args.cooperating or []],
        cooperating_lines={dept: line for dept, line in args.cooperating or [] if line},
        central=args.central,
        team_size=args.team_size or 0,
        days_per_inspection=decimal_pb(args.days_per_inspection),
        cost_per_inspection=decimal_pb(args.cost_per_inspection),
        rules=_rules(args),
    )


def _cmd_create(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    plan = client.create_plan(
        args.department,
        args.year,
        title=args.title or "",
        inspector_days_per_month=args.inspector_days_per_month or 0,
        request_id=idempotency_key(args),
    )
    return show_plan(plan, out)


def _cmd_add_entry(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    return show_plan(client.add_plan_entry(args.plan, _entry(args), request_id=idempotency_key(args)), out)


def _cmd_update_entry(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    entry = _entry(args, args.entry)
    return show_plan(client.update_plan_entry(args.plan, entry, request_id=idempotency_key(args)), out)


def _cmd_approve(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    return show_plan(client.approve_plan(args.plan, request_id=idempotency_key(args)), out)


def _cmd_publish(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    return show_plan(client.publish_plan(args.plan, request_id=idempotency_key(args)), out)


def _cmd_amend(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    entries = [_entry(args, args.entry or "")] if args.item or args.entry else []
    plan = client.amend_plan(
        args.plan,
        args.reason,
        entries=entries,
        removed_entry_ids=args.remove or [],
        request_id=idempotency_key(args),
    )
    return show_plan(plan, out)


def _cmd_show(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    return show_plan(client.get_plan(args.plan, version=args.version or 0), out)


def _cmd_list(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    out.table(
        limited(client.iter_plans(department_id=args.department or ""), args),
        ["PLAN", "VERSION", "STATE", "DEPARTMENT", "YEAR", "ENTRIES", "TITLE"],
        lambda p: [
            p.id,
            str(p.version),
            state_name(p.state),
            p.department_id,
            str(p.year),
            str(len(p.entries)),
            p.title,
        ],
        "lrlllr",
    )
    return 0


def _cmd_estimate(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    estimate = client.estimate_plan(args.plan, version=args.version or 0, as_of=args.as_of)
    if out.json:
        out.document(estimate)
        return 0
    message = _("plan {plan} version {version}, directory and rules as of {as_of}")
    out.line(message.format(plan=estimate.plan_id, version=estimate.version, as_of=date_text(estimate.as_of)))
    rows = []
    for e in estimate.entries:
        for p in e.periods:
            rows.append(
                [
                    e.entry_id,
                    e.item_code,
                    str(p.period),
                    f"{date_text(p.start)}..{date_text(p.end)}",
                    str(e.in_scope),
                    str(e.excluded),
                    " ".join(f"{risk_class_letter(c.risk_class)}={c.count}" for c in p.draws),
                    str(p.inspections),
                    decimal_text(p.inspector_days),
                    decimal_text(p.available_inspector_days),
                    decimal_text(p.cost),
                ]
            )
    out.lines(
        format_table(
            ESTIMATE_HEADERS,
            rows,
            "llrlrrlrrrr",
        )
    )
    out.line(
        _(WHOLE_PLAN).format(
            inspections=estimate.inspections,
            days=decimal_text(estimate.inspector_days),
            cost=decimal_text(estimate.cost),
            fees=decimal_text(estimate.testing_fees),
        )
    )
    out.line()
    if estimate.shortfalls:
        out.lines(_("shortfall: {shortfall}").format(shortfall=s) for s in estimate.shortfalls)
    else:
        out.line(_("no shortfall: the qualified inspectors cover every period"))
    return 0


def _cmd_progress(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    progress = client.plan_progress(args.plan)
    if out.json:
        out.document(progress)
        return 0
    message = _("plan {plan} version {version} as of {as_of}")
    out.line(message.format(plan=progress.plan_id, version=progress.version, as_of=date_text(progress.as_of)))
    out.lines(
        format_table(
            ["ENTRY", "PERIOD", "DRAWN", "RECORDED", "PUBLISHED", "OVERDUE"],
            [
                [
                    r.entry_id,
                    str(r.period),
                    str(r.drawn),
                    str(r.inspected),
                    str(r.published),
                    _("overdue") if r.overdue else "",
                ]
                for r in progress.entries
            ],
            "lrrrrl",
        )
    )
    return 0


def _cmd_draw(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    plan = client.get_plan(args.plan)
    task = tasks_pb2.Task(
        department_id=plan.department_id,
        team_size=args.team_size or 0,  # 0: the entry's, else its item version's
        title=args.title or "",
        plan_id=args.plan,
        plan_entry_id=args.entry,
        plan_period=args.period or 0,
        rehearsal=args.rehearsal,
    )
    created = client.create_task(task, request_id=idempotency_key(args))
    draw = client.draw(created.id, as_of=args.as_of, beacon_round=args.beacon_round or 0)
    return show_draw(client, draw, out)


def _class_ratio_arg(text: str) -> tuple[str, str]:
    cls, sep, ratio = text.partition("=")
    if not sep or not cls.strip() or not ratio.strip():
        raise argparse.ArgumentTypeError(f"expected CLASS=RATIO, e.g. D=0.3, got {text!r}")
    return cls.strip().upper(), ratio.strip()


def _add_entry_flags(p: argparse.ArgumentParser, *, required: bool) -> None:
    g = p.add_argument_group("the entry")
    g.add_argument("--item", required=required, help="inspection item code on the published list")
    g.add_argument("--item-version", type=positive_int, required=required, help="published item version")
    g.add_argument("--ratio", required=required, help='decimal in (0, 1], e.g. "0.1"')
    g.add_argument("--window-start", type=iso_date, required=required, metavar="DATE")
    g.add_argument("--window-end", type=iso_date, required=required, metavar="DATE")
    g.add_argument("--frequency", type=positive_int, metavar="N", help="draws (periods) in the window; 1")
    g.add_argument(
        "--team-size", type=positive_int, metavar="N", help="inspectors per team (default: item's)"
    )
    g.add_argument(
        "--days-per-inspection",
        metavar="DAYS",
        help='working days per inspector, e.g. "1.5" (default: item\'s)',
    )
    g.add_argument("--cost-per-inspection", metavar="YUAN", help="cost of one inspection (default: item's)")
    g.add_argument(
        "--class-ratio", action="append", type=_class_ratio_arg, metavar="CLASS=RATIO", help="repeatable"
    )
    g.add_argument("--central", action="store_true", help="a central draw handing objects to their branch")
    g.add_argument(
        "--cooperating",
        action="append",
        type=cooperating_arg,
        metavar="DEPT=LINE",
        help="cooperating department of a joint entry and the line its members hold (repeatable)",
    )
    r = p.add_argument_group("the entry's caps and raises (unset: the defaults)")
    r.add_argument(
        "--frequency-cap", type=non_negative_int, metavar="N", help="per object per year; 0: none; 1"
    )
    r.add_argument(
        "--complaint-threshold", type=non_negative_int, metavar="N", help="complaints that raise; 0: off; 3"
    )
    r.add_argument("--raise-window-days", type=positive_int, metavar="DAYS", help="complaint window; 365")
    r.add_argument(
        "--no-serious-violation-raise", action="store_true", help="do not raise on serious violations"
    )
    r.add_argument("--raise-to", choices=("A", "B", "C", "D"), help="class raised objects go to; one higher")
    r.add_argument(
        "--other-level",
        choices=("exclude", "join"),
        help="objects another level drew this year for the item: leave them to it (default) or join",
    )


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: list[argparse.ArgumentParser]
) -> None:
    """Adds ``plans``."""
    plans = add_group(subparsers, "plans", "the annual plan: every task draws for a published entry")
    p = add_command(plans, "create", _cmd_create, "create a draft plan (version 1, no entries)", common)
    p.add_argument("--department", required=True, help="the department whose plan it is")
    p.add_argument("--year", required=True, type=positive_int)
    p.add_argument("--title")
    p.add_argument("--inspector-days-per-month", type=positive_int, metavar="DAYS", help="default 2")
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p = add_command(plans, "add-entry", _cmd_add_entry, "add an entry to a draft plan", common)
    p.add_argument("plan", metavar="PLAN_ID")
    _add_entry_flags(p, required=True)
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p = add_command(plans, "update-entry", _cmd_update_entry, "replace an entry of a draft plan", common)
    p.add_argument("plan", metavar="PLAN_ID")
    p.add_argument("entry", metavar="ENTRY_ID")
    _add_entry_flags(p, required=True)
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    for name, handler, text in (
        ("approve", _cmd_approve, "approve a draft plan"),
        ("publish", _cmd_publish, "publish an approved plan: in force from now"),
    ):
        p = add_command(plans, name, handler, text, common)
        p.add_argument("plan", metavar="PLAN_ID")
        p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p = add_command(plans, "amend", _cmd_amend, "publish an amendment of a published plan", common)
    p.add_argument("plan", metavar="PLAN_ID")
    p.add_argument("--reason", required=True, help="why the published plan changes")
    p.add_argument("--remove", action="append", metavar="ENTRY_ID", help="remove this entry (repeatable)")
    p.add_argument("--entry", metavar="ENTRY_ID", help="with the entry flags: replace this entry")
    _add_entry_flags(p, required=False)
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    p = add_command(plans, "show", _cmd_show, "show a plan and its entries", common)
    p.add_argument("plan", metavar="PLAN_ID")
    p.add_argument("--version", type=positive_int, help="this version (default: the latest)")
    p = add_command(plans, "list", _cmd_list, "list plans (their latest versions)", common, listing=True)
    p.add_argument("--department", help="this department's subtree (default: the caller's)")
    p = add_command(plans, "estimate", _cmd_estimate, "draws, inspector-days, cost and shortfalls", common)
    p.add_argument("plan", metavar="PLAN_ID")
    p.add_argument("--version", type=positive_int, help="this version (default: the latest)")
    p.add_argument(
        "--as-of", type=iso_date, metavar="DATE", help="directory and rules as of (default: today)"
    )
    p = add_command(plans, "progress", _cmd_progress, "drawn, inspected, published per period", common)
    p.add_argument("plan", metavar="PLAN_ID")
    p = add_command(plans, "draw", _cmd_draw, "create the entry's task for a period and draw it", common)
    p.add_argument("plan", metavar="PLAN_ID")
    p.add_argument("entry", metavar="ENTRY_ID")
    p.add_argument("--period", type=positive_int, help="the entry's period (default: the one of today)")
    p.add_argument("--team-size", type=positive_int, help="inspectors per team (default: the entry's)")
    p.add_argument("--title")
    p.add_argument(
        "--rehearsal", action="store_true", help="a rehearsal: any date, holds no period, never published"
    )
    p.add_argument("--as-of", type=iso_date, metavar="DATE", help="draw date; only a rehearsal may give one")
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    add_beacon_round(p)
