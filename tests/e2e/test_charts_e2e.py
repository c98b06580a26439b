"""Charts end to end, over the demo and its published plan: a planned draw abandoned, drawn again, its
results recorded and published; ``dualdraw report`` writes one self-contained HTML file and ``dualdraw
publish site`` pages carry inline SVG charts. Every SVG parses as XML and its bars carry the API's numbers."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from dualdraw.entrypoints.cli import main as dualdraw_cli
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import HIGH_TECH_ZONE
from dualdraw.v1 import results_pb2, tasks_pb2
from dualdraw_client import DualdrawClient
from dualdraw_client.dates import date_pb
from tests.e2e.conftest import Served, publishable_draw

from .test_annual_plan_e2e import client, planned  # noqa: F401 - fixtures

SVG = re.compile(r"<svg\b.*?</svg>", re.S)
Bars = dict[str, dict[str, dict[str, int]]]


def bars(html: str) -> Bars:
    """``{chart: {label: {series: value}}}`` from every SVG in ``html``, each parsed as XML."""
    found: Bars = {}
    for text in SVG.findall(html):
        root = ET.fromstring(text)
        assert root.get("role") == "img"
        assert root.find("{http://www.w3.org/2000/svg}title") is not None
        chart = found.setdefault(root.get("data-chart", ""), {})
        for rect in root.iter("{http://www.w3.org/2000/svg}rect"):
            if rect.get("class") == "bar":
                label, series = rect.get("data-label", ""), rect.get("data-series", "")
                chart.setdefault(label, {})[series] = int(rect.get("data-value", "-1"))
    return found


@pytest.fixture
def published(planned: tuple[Served, str], client: DualdrawClient) -> tuple[Served, str, str]:  # noqa: F811
    """(served, plan id, the published draw's id) after one abandoned and one published draw."""
    served, plan_id = planned
    task = client.create_task(
        tasks_pb2.Task(department_id=HIGH_TECH_ZONE, team_size=2, plan_id=plan_id, plan_entry_id="e1")
    )
    first = client.draw(task.id)
    client.abandon_draw(first.id, "DATA_ERROR", "目录导入不完整")
    second = publishable_draw(client, task.id)
    today = Caller("x").today().isoformat()
    for a in client.iter_assignments(second.id):
        client.record_result(
            results_pb2.InspectionResult(
                draw_id=second.id,
                position=a.position,
                outcome=results_pb2.OUTCOME_NO_PROBLEM,
                inspected_on=date_pb(today),
            )
        )
    client.publish_results(second.id)
    return served, plan_id, second.id


def test_report_writes_one_html_file_whose_charts_carry_the_api_numbers(
    published: tuple[Served, str, str],
    client: DualdrawClient,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    served, plan_id, draw_id = published
    out = tmp_path / "report.html"
    assert dualdraw_cli.main(["report", str(out), "--server", served.target, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html
    assert 'src="http' not in html
    assert 'href="http' not in html
    shown = bars(html)
    assert {k: v["rows"] for k, v in printed["charts"].items()} == shown

    draw = client.get_draw(draw_id)
    department = client.get_department(HIGH_TECH_ZONE).display_name
    assert shown["draws-by-department"] == {department: {"draws": 1}}
    assert shown["objects-by-department"] == {
        department: {
            "in scope": draw.in_scope_count,
            "excluded": draw.excluded_count,
            "selected": draw.selected_count,
        }
    }
    by_rule = Counter(e.rule_id for e in client.iter_exclusions(draw_id))
    assert sum(by_rule.values()) == draw.excluded_count > 0
    assert shown["exclusions-by-rule"] == {rule: {"excluded": n} for rule, n in by_rule.items()}
    workload: Counter[str] = Counter()
    leaders: Counter[str] = Counter()
    for a in client.iter_assignments(draw_id):
        for m in a.team:
            workload[f"{m.name} ({m.badge_number})"] += 1
            leaders[f"{m.name} ({m.badge_number})"] += m.leader
    assert shown["workload-by-inspector"] == {
        k: {"assignments": n, "as leader": leaders[k]} for k, n in workload.items()
    }
    [redraws] = [s for s in client.redraw_statistics().departments if s.department_id == HIGH_TECH_ZONE]
    assert shown["redraws-by-department"][department] == {"draws": 2, "abandoned": 1, "tasks re-drawn": 1}
    assert (redraws.draws, redraws.abandoned) == (2, 1)
    progress = {(e.entry_id, e.period): e for e in client.plan_progress(plan_id).entries}
    e1 = progress[("e1", 1)]
    [counts] = [v for k, v in shown["plan-progress"].items() if "TS-SE-01, period 1" in k]
    assert counts == {"drawn": e1.drawn, "inspected": e1.inspected, "published": e1.published}
    assert e1.drawn == e1.inspected == e1.published == draw.selected_count
    assert len(shown["plan-progress"]) == len(progress)


def test_report_in_chinese(
    published: tuple[Served, str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    served, _plan_id, _draw_id = published
    out = tmp_path / "报告.html"
    assert dualdraw_cli.main(["--lang", "zh", "report", str(out), "--server", served.target]) == 0
    assert "已将 6 张图表写入" in capsys.readouterr().out
    html = out.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html
    for words in (
        "各部门抽取次数",
        "各排除规则排除的对象数",
        "执法检查人员工作量",
        "年度计划进度",
        "第 1 期",
    ):
        assert words in html
    assert bars(html)["objects-by-department"]


def test_the_public_site_shows_charts_with_the_published_numbers(
    published: tuple[Served, str, str],
    client: DualdrawClient,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    served, _plan_id, draw_id = published
    draw = client.get_draw(draw_id)
    site = tmp_path / "site"
    assert dualdraw_cli.main(["publish", "site", str(site), "--server", served.target, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["path"], summary["draws"], summary["results"]) == (str(site), 1, draw.selected_count)
    public = client.published_draw(draw_id)
    draws = bars((site / "draws.html").read_text(encoding="utf-8"))
    assert draws["draws-chart"] == {public.department_name: {"抽取次数": 1}}
    assert draws["objects-chart"] == {
        public.department_name: {
            "范围内": public.in_scope_count,
            "已排除": public.excluded_count,
            "抽中": public.selected_count,
        }
    }
    results_page = (site / "results.html").read_text(encoding="utf-8")
    workload = bars(results_page)["workload-chart"]
    expected: Counter[str] = Counter()
    for r in client.iter_published_results(draw_id=draw_id):
        for m in r.team:
            expected[f"{m.name}（{m.badge_number}）"] += 1
    assert {k: v["参加检查"] for k, v in workload.items()} == dict(expected)
    assert 'class="chart-data"' in results_page  # the numbers as a table too
    abandoned = bars((site / "abandoned.html").read_text(encoding="utf-8"))
    assert abandoned["redraws-chart"][public.department_name] == {
        "抽取次数": 2,
        "作废次数": 1,
        "有作废的任务": 1,
    }
    assert abandoned["abandon-reasons-chart"] == {"数据错误": {"作废次数": 1}}
