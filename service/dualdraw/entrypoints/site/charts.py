"""The public site's charts, from the rows the pages already show (so a chart never says more than its
page): draws and objects per department, abandoned draws and re-draws per department, inspections per
inspector. Each is an inline SVG with its numbers in a table beside it (``dualdraw_client.charts``)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup

from dualdraw_client.charts import Chart, chart, figure_html

EMPTY = "暂无数据"
DATA_LABEL = "查看数据表"


def html(c: Chart) -> Markup:
    """The chart as a ``<figure>`` a template can insert (every string in it is escaped)."""
    return Markup(figure_html(c, data_label=DATA_LABEL))  # noqa: S704 - figure_html escapes every string


def _department(row: Mapping[str, Any]) -> str:
    return str(row["department_name"] or row["department_id"] or "—")


def draws_by_department(draws: Iterable[Mapping[str, Any]]) -> list[Chart]:
    """Published draws per department, and their objects in scope, excluded and drawn."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for d in draws:
        c = counts[_department(d)]
        c[0] += 1
        c[1] += int(d["in_scope_count"])
        c[2] += int(d["excluded_count"])
        c[3] += int(d["selected_count"])
    rows = sorted(counts.items())
    return [
        chart(
            "draws-chart",
            "各部门已公示抽取次数",
            "部门",
            ["抽取次数"],
            [(k, v[:1]) for k, v in rows],
            empty=EMPTY,
        ),
        chart(
            "objects-chart",
            "各部门检查对象：范围内、已排除、抽中",
            "部门",
            ["范围内", "已排除", "抽中"],
            [(k, v[1:]) for k, v in rows],
            empty=EMPTY,
        ),
    ]


def redraws_by_department(statistics: Iterable[Mapping[str, Any]]) -> list[Chart]:
    """Draws, abandoned draws and tasks re-drawn per department; abandoned draws per reason."""
    statistics = list(statistics)
    reasons: Counter[str] = Counter()
    for s in statistics:
        for label, n in s["reasons"]:
            reasons[label] += n
    return [
        chart(
            "redraws-chart",
            "各部门抽取、作废与重抽",
            "部门",
            ["抽取次数", "作废次数", "有作废的任务"],
            [(_department(s), [s["draws"], s["abandoned"], s["tasks_with_abandons"]]) for s in statistics],
            empty=EMPTY,
        ),
        chart(
            "abandon-reasons-chart",
            "作废原因",
            "原因",
            ["作废次数"],
            [(label, [n]) for label, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))],
            empty=EMPTY,
        ),
    ]


def plan_progress(rows: Iterable[Mapping[str, Any]]) -> list[Chart]:
    """Per entry of a plan version: draws planned, published and overdue; objects drawn, results published
    and published on time (the rows of the plan page's progress table)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    for r in rows:
        c = counts[f"{r['entry_id']} {r['item']}"]
        c[0] += int(r["planned"])
        c[1] += int(r["draws"])
        c[2] += int(r["overdue"])
        c[3] += int(r["objects"])
        c[4] += int(r["results"])
        c[5] += int(r["on_time"])
    entries = list(counts.items())
    return [
        chart(
            "plan-draws-chart",
            "计划执行：各抽查安排的抽取次数",
            "抽查安排",
            ["计划抽取", "已公示抽取", "逾期未抽取"],
            [(k, v[:3]) for k, v in entries],
            empty=EMPTY,
        ),
        chart(
            "plan-results-chart",
            "计划执行：抽中对象与检查结果公示",
            "抽查安排",
            ["抽中对象", "已公示结果", "按期公示"],
            [(k, v[3:]) for k, v in entries],
            empty=EMPTY,
        ),
    ]


def workload_by_inspector(results: Iterable[Mapping[str, Any]]) -> Chart:
    """Published inspections per inspector (the latest version of each result), and how many as leader."""
    latest: dict[tuple[str, int], Mapping[str, Any]] = {}
    for r in results:
        key = (str(r["draw_id"]), int(r["position"]))
        if key not in latest or r["version"] > latest[key]["version"]:
            latest[key] = r
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in latest.values():
        for m in r["team"]:
            c = counts[f"{m['name']}（{m['badge_number']}）"]
            c[0] += 1
            c[1] += int(m["leader"])
    return chart(
        "workload-chart",
        "执法检查人员工作量（已公示的检查）",
        "执法检查人员",
        ["参加检查", "任组长"],
        sorted(counts.items(), key=lambda kv: (-kv[1][0], kv[0])),
        empty=EMPTY,
    )
