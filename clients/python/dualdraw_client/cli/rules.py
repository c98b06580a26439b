"""Remote commands on the server's exclusion rules: ``rule-set show/reload/preview/explain/reevaluate``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dualdraw.v1 import rules_pb2

from ..client import DualdrawClient
from ..dates import date_text
from ..i18n import _
from .options import add_command, add_group, iso_date
from .output import Output, enum_name, exclusion_category_name, format_table, risk_class_letter


def _cmd_rule_set_show(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    rule_set = client.get_rule_set(args.hash or "")
    if out.json:
        out.document(rule_set)
        return 0
    out.line(_("rule set {version} ({hash})").format(version=rule_set.version, hash=rule_set.hash))
    out.lines(
        format_table(
            ["id", "category", "in force", "jurisdictions", "source"],
            [
                [
                    r.id,
                    exclusion_category_name(r.category),
                    f"{date_text(r.effective_from) or '…'} – {date_text(r.effective_to) or '…'}",
                    ",".join(r.jurisdictions) or _("all"),
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
    message = (
        _("reloaded: version {version}, {rules} rules, {cases} test cases passed")
        if response.changed
        else _("unchanged: version {version}, {rules} rules, {cases} test cases passed")
    )
    rules = len(response.rule_set.rules)
    out.line(message.format(version=response.rule_set.version, rules=rules, cases=response.test_cases))
    return 0


def _cmd_rule_set_preview(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    files = {Path(f).name: Path(f).read_text(encoding="utf-8") for f in args.files}
    response = client.preview_rule_change(
        files,
        as_of=args.as_of,
        department_id=args.department or "",
        business_line=args.business_line or "",
        max_share=args.max_share,
    )
    if out.json:
        out.document(response)
    else:
        out.line(_("rules {base} → {head}").format(base=response.base_version, head=response.head_version))
        out.lines(
            format_table(
                ["change", "credit code", "department", "risk", "before", "after"],
                [
                    [
                        enum_name(rules_pb2.ObjectChangeKind.Name(c.change), "OBJECT_CHANGE_KIND_").lower(),
                        c.credit_code,
                        c.department_id,
                        risk_class_letter(c.risk_class),
                        ",".join(c.base_rules) or "-",
                        ",".join(c.head_rules) or "-",
                    ]
                    for c in response.changes
                ],
            )
        )
    for department in response.over_max_share:
        message = _("error: department {department} loses more than {share} of its eligible objects")
        sys.stderr.write(message.format(department=department, share=args.max_share) + "\n")
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
    verdict_text = ", ".join(response.excluded_by) or _("not excluded")
    out.line(
        _("{code} at {as_of}: {verdict}").format(
            code=response.credit_code, as_of=date_text(response.as_of), verdict=verdict_text
        )
    )
    if response.HasField("eligible_again"):
        out.line(_("eligible again from {day}").format(day=date_text(response.eligible_again)))
    for verdict in response.rules:
        status = enum_name(rules_pb2.RuleVerdictStatus.Name(verdict.status), "RULE_VERDICT_STATUS_").lower()
        out.line(f"- {verdict.rule_id}: {status.replace('_', ' ')}")
        for fact in verdict.facts:
            values = ", ".join(f"{k}={v}" for k, v in sorted(fact.values.items()))
            out.line(
                "    "
                + _("matched {kind} {ref}: {values}").format(
                    kind=enum_name(rules_pb2.FactKind.Name(fact.kind), "FACT_KIND_").lower(),
                    ref=fact.ref,
                    values=values,
                )
            )
        for failure in verdict.failures:
            out.line(f"    {failure}")
    return 0


def _cmd_rule_set_reevaluate(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    response = client.reevaluate_draw(args.draw_id)
    if out.json:
        out.document(response)
    else:
        message = (
            _("draw {draw} with rule set {hash}: match")
            if response.matches
            else _("draw {draw} with rule set {hash}: MISMATCH")
        )
        out.line(message.format(draw=response.draw_id, hash=response.rule_set_hash[:12]))
        for pair in response.missing:
            out.line("  " + _("stored but not found now: {pair}").format(pair=pair))
        for pair in response.unexpected:
            out.line("  " + _("found now but not stored: {pair}").format(pair=pair))
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
