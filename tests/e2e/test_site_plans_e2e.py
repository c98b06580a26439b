"""The annual plan on the public site, end to end: the demo plan published and amended over gRPC, the site
built by ``dualdraw publish site`` from the public API, a page per version listing its entries and its
workload and cost estimate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dualdraw.entrypoints.cli import main as dualdraw_cli
from dualdraw.service_layer.context import CHINA_STANDARD_TIME
from dualdraw.v1 import directory_pb2, plans_pb2, tasks_pb2
from dualdraw_client import DualdrawClient
from dualdraw_client.dates import date_text
from dualdraw_client.decimals import decimal_pb
from tests.e2e.conftest import Served

from .test_annual_plan_e2e import client, planned  # noqa: F401 - fixtures


def test_the_site_shows_each_version_of_the_published_plan_with_its_entries(
    planned: tuple[Served, str],  # noqa: F811 - the fixture imported above
    client: DualdrawClient,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    served, plan_id = planned
    first = client.get_published_plan(plan_id)
    raised = plans_pb2.PlanEntry()
    raised.CopyFrom(first.entries[0])
    raised.class_ratios.append(
        tasks_pb2.ClassRatio(risk_class=directory_pb2.RISK_CLASS_D, ratio=decimal_pb("0.2"))
    )
    reason = "高风险企业抽查比例提高至 0.2"
    amended = client.amend_plan(plan_id, reason, entries=[raised])
    assert amended.version == 2

    site = tmp_path / "site"
    code = dualdraw_cli.main(["publish", "site", str(site), "--server", served.target])
    assert code == 0, capsys.readouterr()
    assert "2 plan versions" in capsys.readouterr().out

    index = (site / "plans.html").read_text(encoding="utf-8")
    assert first.title in index
    assert f'href="plans/{plan_id}-v1.html"' in index
    assert f'href="plans/{plan_id}-v2.html"' in index
    assert reason in index
    assert 'href="plans.html"' in (site / "index.html").read_text(encoding="utf-8")

    v1 = (site / "plans" / f"{plan_id}-v1.html").read_text(encoding="utf-8")
    v2 = (site / "plans" / f"{plan_id}-v2.html").read_text(encoding="utf-8")
    for page, plan in ((v1, first), (v2, amended)):
        for e in plan.entries:
            assert f'id="entry-{e.id}"' in page
            assert e.item_code in page
            assert f"{date_text(e.window_start)} 至 {date_text(e.window_end)}" in page
            assert f"{e.frequency or 1} 次" in page
    assert [e.item_code for e in first.entries] == ["TS-SE-01", "TS-PQ-01"]
    assert "统一 0.1" in v1
    assert "同一对象每年至多 1 次" in v1  # the default caps and raises every draw of the entry applies
    assert "365 日内被投诉举报 3 次以上的提高一档" in v1
    assert "上下级已抽中的对象：不再抽取" in v1
    assert "已被第 2 版修订" in v1
    assert reason in v1  # the later version's amendment reason, seen from the version it amends
    assert "D 类（高风险）：0.2" in v2
    assert "现行版本" in v2


def test_each_plan_page_shows_the_published_estimate_with_cost_and_the_named_shortfall(
    planned: tuple[Served, str],  # noqa: F811 - the fixture imported above
    client: DualdrawClient,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    served, plan_id = planned
    with DualdrawClient(served.target, actor="", timeout=60) as anyone:
        estimate = anyone.published_plan_estimate(plan_id)  # public: as of the publication day
    published = client.get_published_plan(plan_id).publish_time.ToDatetime(tzinfo=dt.UTC)
    assert date_text(estimate.as_of) == published.astimezone(CHINA_STANDARD_TIME).date().isoformat()
    assert estimate.shortfalls
    assert estimate.testing_fees.value != "0"
    site = tmp_path / "site"
    assert dualdraw_cli.main(["publish", "site", str(site), "--server", served.target]) == 0, (
        capsys.readouterr()
    )
    page = (site / "plans" / f"{plan_id}-v1.html").read_text(encoding="utf-8")
    assert 'id="plan-estimate"' in page
    assert f"经费 {estimate.cost.value} 元（其中检验检测费 {estimate.testing_fees.value} 元）" in page
    assert "2 人 × 3 天" in page  # TS-PQ-01's workload, from its published item version
    assert all(s in page for s in estimate.shortfalls)
