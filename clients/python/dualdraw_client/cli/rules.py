"""Remote commands on the server's exclusion rules: ``rule-set show/reload/preview/explain/reevaluate``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..client import DualdrawClient
from .options import add_command, add_group, iso_date
from .output import Output, format_table


def _cmd_rule_set_show(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
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


def _cmd_rule_set_reload(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
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


def _cmd_rule_set_preview(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
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


def _cmd_rule_set_explain(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
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


def _cmd_rule_set_reevaluate(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
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


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: list[argparse.ArgumentParser]
) -> None:
    """Adds ``rule-set``."""
    group = add_group(
        subparsers, "rule-set", "the server's exclusion rules (local file commands: dualdraw rules)"
    )
    p = add_command(
        group, "show", _cmd_rule_set_show, "the rule set in force (or a stored one by hash)", common
    )
    p.add_argument("--hash", help="hash of a stored rule set")
    add_command(
        group, "reload", _cmd_rule_set_reload, "reload the server's rule files (refused if they fail)", common
    )
    p = add_command(
        group, "preview", _cmd_rule_set_preview, "what changed rule files would exclude or include", common
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="changed rule files (*.yaml)")
    p.add_argument("--as-of", type=iso_date, metavar="DATE")
    p.add_argument("--department")
    p.add_argument("--business-line")
    p.add_argument("--max-share", type=float, metavar="P", help="fail above this share (0-1) per department")
    p = add_command(group, "explain", _cmd_rule_set_explain, "why one object is or is not excluded", common)
    p.add_argument("credit_code", metavar="CREDIT_CODE")
    p.add_argument("--as-of", type=iso_date, metavar="DATE")
    p.add_argument("--task")
    p.add_argument("--item")
    p.add_argument("--department")
    p = add_command(
        group,
        "reevaluate",
        _cmd_rule_set_reevaluate,
        "re-run an old draw's exclusions with its rule set",
        common,
    )
    p.add_argument("draw_id", metavar="DRAW_ID")
