"""Remote commands on draws and what they produced: ``draw``, ``draws show/list``, ``assignments``,
``raises``, ``joint-inspections`` and ``exclusions``."""

from __future__ import annotations

import argparse
from collections.abc import Iterable

from dualdraw.v1 import draws_pb2

from ..client import DualdrawClient
from ..dates import date_text
from ..decimals import decimal_text
from ..i18n import _
from ..progress import spinner
from .options import add_command, add_group, idempotency_key, iso_date, limited, positive_int
from .output import (
    Output,
    aligned_pairs,
    draw_state_name,
    exclusion_category_name,
    risk_class_letter,
    show_time,
)


def draw_pairs(draw: draws_pb2.Draw) -> list[tuple[str, str]]:
    rule_set = " ".join(part for part in (draw.rule_set_version, draw.rule_set_hash) if part)
    rehearsal = [("rehearsal", "yes: never published, never counted")] if draw.rehearsal else []
    return [
        ("draw", draw.id),
        *rehearsal,
        ("task", draw.task_id),
        ("as of", date_text(draw.as_of)),
        ("created", " by ".join(p for p in (show_time(draw.create_time), draw.actor) if p)),
        ("algorithm", draw.algorithm_version),
        ("seed", draw.seed),
        ("entropy", " from ".join(p for p in (draw.entropy, draw.entropy_source) if p)),
        *([("entropy note", draw.entropy_note)] if draw.entropy_note else []),
        ("state", draw_state_name(draw.state)),
        ("manifest hash", draw.manifest_hash),
        ("rule set", rule_set),
        ("ratio", decimal_text(draw.ratio)),
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


def _print_assignments(out: Output, assignments: Iterable[draws_pb2.Assignment]) -> None:
    rows = list(assignments)
    out.table(
        rows,
        ["#", "CREDIT CODE", "OBJECT", "STRATUM", "TEAM"],
        lambda a: [str(a.position), a.credit_code, a.object_name, a.stratum, _team(a)],
        "r",
    )
    if not out.json and rows:
        out.line(_("(* team leader)"))


def _cmd_draw(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    with spinner(_("drawing")):  # the server reports a draw only when it ends
        draw = client.draw(
            args.task_id,
            as_of=args.as_of,
            request_id=idempotency_key(args),
            beacon_round=args.beacon_round or 0,
        )
    return show_draw(client, draw, out)


BEACON_ROUND_HELP = (
    "the beacon round the draw commits to (default: the first a minute after the commit); "
    "execute it later with: dualdraw draw execute DRAW_ID --beacon-value SIGNATURE"
)
BEACON_ROUND_WITH_DRAW_HELP = (
    "with --draw: the beacon round the draw commits to (default: the first a minute after the commit); "
    "execute it later with: dualdraw draw execute DRAW_ID --beacon-value SIGNATURE"
)


def add_beacon_round(p: argparse.ArgumentParser, help_text: str = BEACON_ROUND_HELP) -> None:
    """``--beacon-round N``: the beacon round the one-step draw commits to (default: the server's first
    round a minute after the commit); the draw is then executed with that round's signature."""
    p.add_argument("--beacon-round", type=positive_int, metavar="N", help=help_text)


def show_draw(client: DualdrawClient, draw: draws_pb2.Draw, out: Output) -> int:
    """Prints a draw's summary and its assignments (``--json``: one document with both); for a draw
    committed to a beacon round, how to execute it."""
    assignments = list(client.iter_assignments(draw.id))
    if out.json:
        out.document({"draw": out.to_dict(draw), "assignments": [out.to_dict(a) for a in assignments]})
        return 0
    out.lines(aligned_pairs(draw_pairs(draw)))
    out.line()
    if draw.state == draws_pb2.DRAW_STATE_COMMITTED:
        out.line(
            _(
                "committed: its selection is unknown until the entropy exists; once the beacon round is "
                "produced: dualdraw draw execute {draw_id} --beacon-value SIGNATURE"
            ).format(draw_id=draw.id)
        )
        return 0
    _print_assignments(out, assignments)
    return 0


def _cmd_draws_show(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    draw = client.get_draw(args.id)
    if out.json:
        out.document(draw)
    else:
        out.lines(aligned_pairs(draw_pairs(draw)))
    return 0


def _cmd_draws_list(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    out.table(
        limited(client.iter_draws(task_id=args.task or ""), args),
        [
            *("ID", "TASK", "AS OF", "CREATED", "ACTOR"),
            *("IN SCOPE", "EXCLUDED", "ELIGIBLE", "SELECTED", "ENTROPY"),
        ],
        lambda d: [
            d.id,
            d.task_id,
            date_text(d.as_of),
            show_time(d.create_time),
            d.actor,
            str(d.in_scope_count),
            str(d.excluded_count),
            str(d.eligible_count),
            str(d.selected_count),
            d.entropy_note or d.entropy_source,  # a local secret is marked: development only
        ],
        "lllllrrrrl",
    )
    return 0


def _cmd_assignments(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    _print_assignments(out, limited(client.iter_assignments(args.draw_id), args))
    return 0


def _cmd_raises(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    out.table(
        limited(client.iter_raises(args.draw_id), args),
        ["CREDIT CODE", "FROM", "TO", "REASON", "EVIDENCE"],
        lambda r: [
            r.credit_code,
            risk_class_letter(r.from_class),
            risk_class_letter(r.to_class),
            r.reason,
            ", ".join(r.evidence),
        ],
    )
    return 0


def _cmd_joint_inspections(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    response = client.list_joint_inspections(args.year, args.department or "")
    out.table(
        limited(iter(response.joint_inspections), args),
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


def _cmd_exclusions(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    out.table(
        limited(client.iter_exclusions(args.draw_id), args),
        ["CREDIT CODE", "NAME", "RULE", "CATEGORY", "REASON"],
        lambda e: [e.credit_code, e.object_name, e.rule_id, exclusion_category_name(e.category), e.reason],
    )
    return 0


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: list[argparse.ArgumentParser]
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """Adds ``draw`` and ``draws show/list``; returns the ``draws`` group for the lifecycle verbs."""
    p = add_command(subparsers, "draw", _cmd_draw, "run the draw of a task and show its teams", common)
    p.add_argument("task_id", metavar="TASK_ID")
    p.add_argument(
        "--as-of", type=iso_date, metavar="DATE", help="date the rules are evaluated at (default: today)"
    )
    p.add_argument("--request-id", help="idempotency key (default: a fresh uuid4)")
    add_beacon_round(p)

    draws = add_group(subparsers, "draws", "completed draws")
    p = add_command(draws, "show", _cmd_draws_show, "show one draw", common)
    p.add_argument("id", metavar="DRAW_ID")
    p = add_command(draws, "list", _cmd_draws_list, "list draws", common, listing=True)
    p.add_argument("--task", help="only this task's draws")
    return draws


def add_result_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: list[argparse.ArgumentParser]
) -> None:
    """Adds ``assignments``, ``raises``, ``joint-inspections`` and ``exclusions``."""
    help_text = "selected objects of a draw and their teams"
    p = add_command(subparsers, "assignments", _cmd_assignments, help_text, common, listing=True)
    p.add_argument("draw_id", metavar="DRAW_ID")
    help_text = "objects a draw raised to a higher stratum, and why"
    p = add_command(subparsers, "raises", _cmd_raises, help_text, common, listing=True)
    p.add_argument("draw_id", metavar="DRAW_ID")
    help_text = "objects several departments' draws selected in one year, merged (Art. 15)"
    p = add_command(subparsers, "joint-inspections", _cmd_joint_inspections, help_text, common, listing=True)
    p.add_argument("--year", required=True, type=positive_int, metavar="YEAR", help="calendar year")
    p.add_argument("--department", help="only inspections involving this department or one below it")
    p = add_command(
        subparsers, "exclusions", _cmd_exclusions, "objects a rule removed from a draw", common, listing=True
    )
    p.add_argument("draw_id", metavar="DRAW_ID")
