"""``dualdraw report OUT.html``: one self-contained HTML file of charts (SVG inline, no scripts, no
external files) read from the API -- draw statistics per department, exclusions per rule, abandoned
draws and re-draws per department, workload per inspector and plan progress."""

from __future__ import annotations

import argparse
import datetime
from collections import Counter, defaultdict
from html import escape
from pathlib import Path

from dualdraw.v1 import draws_pb2

from ..charts import Chart, chart, figure_html
from ..client import DualdrawClient
from ..i18n import _, language
from ..progress import Bar
from .options import add_command
from .output import Output

_CST = datetime.timezone(datetime.timedelta(hours=8), "CST")
_STYLE = (
    "body{font-family:system-ui,'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;"
    "margin:0 auto;max-width:60rem;padding:1rem;color:#1a1a1a}"
    "figure{margin:1.5rem 0}svg{max-width:100%;height:auto}"
    "table{border-collapse:collapse}th,td{border-bottom:1px solid #ddd;padding:2px 8px;text-align:left}"
    "td{text-align:right}caption{text-align:left;font-weight:bold}"
)


def _executed(client: DualdrawClient, task_id: str, bar: Bar) -> list[Chart]:
    """Draw statistics per department, exclusions per rule and assignments per inspector, over the
    executed draws (of ``task_id``, or all)."""
    departments = {d.id: d.display_name or d.id for d in client.iter_departments()}
    task_department = {t.id: t.department_id for t in client.iter_tasks()}
    per_department: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    by_rule: Counter[str] = Counter()
    workload: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    names: dict[str, str] = {}
    draws = [d for d in client.iter_draws(task_id=task_id) if d.state == draws_pb2.DRAW_STATE_EXECUTED]
    bar.to(0, len(draws))
    for draw in draws:
        department = task_department.get(draw.task_id, "")
        counts = per_department[departments.get(department, department) or "?"]
        counts[0] += 1
        counts[1] += draw.in_scope_count
        counts[2] += draw.excluded_count
        counts[3] += draw.selected_count
        by_rule.update(e.rule_id for e in client.iter_exclusions(draw.id))
        for assignment in client.iter_assignments(draw.id):
            for member in assignment.team:
                names[member.badge_number] = member.name
                workload[member.badge_number][0] += 1
                workload[member.badge_number][1] += int(member.leader)
        bar.advance()
    by_department = sorted(per_department.items())
    inspectors = sorted(workload.items(), key=lambda kv: (-kv[1][0], kv[0]))
    return [
        chart(
            "draws-by-department",
            _("draws per department"),
            _("department"),
            [_("draws")],
            [(name, counts[:1]) for name, counts in by_department],
            empty=_("no data"),
        ),
        chart(
            "objects-by-department",
            _("objects per department: in scope, excluded, drawn"),
            _("department"),
            [_("in scope"), _("excluded"), _("selected")],
            [(name, counts[1:]) for name, counts in by_department],
            empty=_("no data"),
        ),
        chart(
            "exclusions-by-rule",
            _("exclusions per rule"),
            _("rule"),
            [_("excluded")],
            [(rule, [n]) for rule, n in sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0]))],
            empty=_("no data"),
        ),
        chart(
            "workload-by-inspector",
            _("workload per inspector: assignments, as team leader"),
            _("inspector"),
            [_("assignments"), _("as leader")],
            [(f"{names[badge]} ({badge})", counts) for badge, counts in inspectors],
            empty=_("no data"),
        ),
    ]


def _redraws(client: DualdrawClient) -> Chart:
    statistics = client.redraw_statistics()
    return chart(
        "redraws-by-department",
        _("abandoned draws and re-draws per department"),
        _("department"),
        [_("draws"), _("abandoned"), _("tasks re-drawn")],
        [
            (s.department_name or s.department_id, [s.draws, s.abandoned, s.tasks_with_abandons])
            for s in sorted(statistics.departments, key=lambda s: s.department_id)
        ],
        empty=_("no data"),
    )


def _plan_progress(client: DualdrawClient) -> Chart:
    rows: list[tuple[str, list[int]]] = []
    for plan in sorted(client.iter_plans(), key=lambda p: (-p.year, p.id)):
        items = {e.id: e.item_code for e in plan.entries}
        for entry in client.plan_progress(plan.id).entries:
            label = _("{plan} {item}, period {period}").format(
                plan=plan.title or plan.id,
                item=items.get(entry.entry_id, entry.entry_id),
                period=entry.period,
            )
            rows.append((label, [entry.drawn, entry.inspected, entry.published]))
    return chart(
        "plan-progress",
        _("plan progress: objects drawn, inspected, published"),
        _("plan entry"),
        [_("drawn"), _("inspected"), _("published")],
        rows,
        empty=_("no data"),
    )


def gather(client: DualdrawClient, *, task_id: str = "") -> list[Chart]:
    """Every chart of the report, read from the API (a progress bar on a terminal while draws are read)."""
    with Bar(_("reading"), unit="draws") as bar:
        charts = _executed(client, task_id, bar)
    return [*charts, _redraws(client), _plan_progress(client)]


def report_html(charts: list[Chart], *, target: str, generated: str) -> str:
    """The report page: a heading, where and when it was read, and one figure per chart."""
    lang = "zh-CN" if language() == "zh" else "en"
    title = _("dualdraw report")
    source = _("read from {server} at {time}").format(server=target, time=generated)
    figures = "\n".join(figure_html(c, data_label=_("numbers")) for c in charts)
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n<p>{escape(source)}</p>\n{figures}\n</body>\n</html>\n"
    )


def _cmd_report(client: DualdrawClient, args: argparse.Namespace, out: Output) -> int:
    charts = gather(client, task_id=args.task or "")
    generated = datetime.datetime.now(_CST).strftime("%Y-%m-%d %H:%M %z")
    path: Path = args.out
    path.write_text(report_html(charts, target=client.target, generated=generated), encoding="utf-8")
    if out.json:
        out.document(
            {
                "path": str(path),
                "charts": {
                    c.key: {"title": c.title, "series": list(c.series), "rows": c.values()} for c in charts
                },
            }
        )
    else:
        out.line(_("wrote {charts} charts to {path}").format(charts=len(charts), path=path))
    return 0


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: list[argparse.ArgumentParser]
) -> None:
    """Adds ``report``."""
    help_text = "write an HTML file of charts: draws, exclusions, re-draws, workload, plan progress"
    p = add_command(subparsers, "report", _cmd_report, help_text, common)
    p.add_argument("out", type=Path, metavar="OUT.html", help=_("the HTML file to write"))
    p.add_argument("--task", help=_("only this task's draws"))
