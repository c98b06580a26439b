"""Plan progress on the public site, end to end: after one abandoned and one published draw of the demo
plan's entry e1 with every result published, ``dualdraw publish site`` writes the plan page with progress
charts (inline SVG, numbers in a table) and a table whose numbers are the public API's; the index links it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dualdraw.entrypoints.cli import main as dualdraw_cli
from dualdraw.v1 import public_pb2
from dualdraw_client import DualdrawClient
from tests.e2e.conftest import Served

from .test_annual_plan_e2e import client, planned  # noqa: F401 - fixtures
from .test_charts_e2e import bars, published  # noqa: F401 - fixtures


def test_the_plan_page_charts_the_published_progress_of_each_entry(
    published: tuple[Served, str, str],  # noqa: F811 - the fixture imported above
    client: DualdrawClient,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    served, plan_id, draw_id = published
    draw = client.get_draw(draw_id)
    with DualdrawClient(served.target, actor="", timeout=60) as anyone:
        progress = anyone.published_plan_progress(plan_id)
    rows = {(p.entry_id, p.period): p for p in progress.periods}
    e1 = rows[("e1", 1)]
    assert (e1.planned_draws, e1.published_draws, e1.abandoned_draws) == (1, 1, 1)
    assert e1.drawn_objects == e1.published_results == e1.on_time_results == draw.selected_count > 0
    assert e1.state == public_pb2.PUBLISHED_PERIOD_STATE_PUBLISHED
    assert all(p.published_draws == 0 for k, p in rows.items() if k != ("e1", 1))

    site = tmp_path / "site"
    assert dualdraw_cli.main(["publish", "site", str(site), "--server", served.target]) == 0, (
        capsys.readouterr()
    )
    page = (site / "plans" / f"{plan_id}-v1.html").read_text(encoding="utf-8")
    assert 'id="plan-progress"' in page
    shown = bars(page)
    [draws] = [v for k, v in shown["plan-draws-chart"].items() if k.startswith("e1 TS-SE-01")]
    assert draws == {"计划抽取": 1, "已公示抽取": 1, "逾期未抽取": 0}
    [results] = [v for k, v in shown["plan-results-chart"].items() if k.startswith("e1 TS-SE-01")]
    n = draw.selected_count
    assert results == {"抽中对象": n, "已公示结果": n, "按期公示": n}
    assert len(shown["plan-draws-chart"]) == len({p.entry_id for p in progress.periods})
    assert 'data-entry="e1" data-period="1"' in page
    assert "已公示" in page
    index = (site / "index.html").read_text(encoding="utf-8")
    assert f'href="plans/{plan_id}-v1.html#progress"' in index
