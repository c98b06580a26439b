"""The public site writes only inside its output folder, whatever ids the server sends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dualdraw.entrypoints.site.render import render_site
from dualdraw.v1 import directory_pb2, plans_pb2, public_pb2, tasks_pb2
from dualdraw_client.dates import date_pb
from dualdraw_client.decimals import decimal_pb
from dualdraw_client.errors import NotFoundError

DAY = dt.date(2026, 12, 1)
CODE = "91130200MA0A1B2C3X"


class PublicApi:
    """What ``render_site`` reads from a server's public API, with the ids a server chose."""

    def __init__(self, draw_id: str, credit_code: str = CODE, plans: tuple[plans_pb2.Plan, ...] = ()) -> None:
        self.draw_id = draw_id
        self.credit_code = credit_code
        self.plans = plans  # every version served, any order

    def iter_published_plans(self) -> Iterator[plans_pb2.Plan]:
        latest: dict[str, plans_pb2.Plan] = {}
        for p in self.plans:
            if p.id not in latest or p.version > latest[p.id].version:
                latest[p.id] = p
        yield from latest.values()

    def get_published_plan(self, plan_id: str, *, version: int = 0) -> plans_pb2.Plan:
        for p in self.plans:
            if p.id == plan_id and p.version == version:
                return p
        raise NotFoundError(f"published plan {plan_id} v{version}")

    def published_plan_estimate(self, plan_id: str, *, version: int = 0) -> plans_pb2.PlanEstimate:
        raise NotFoundError(f"no estimate of published plan {plan_id} v{version}")

    def published_plan_progress(self, plan_id: str, *, version: int = 0) -> public_pb2.PublishedPlanProgress:
        raise NotFoundError(f"no progress of published plan {plan_id} v{version}")

    def published_items(self, as_of: Any) -> list[Any]:
        return []

    def item_versions(self, code: str) -> list[Any]:
        return []

    def iter_published_draws(self) -> Iterator[public_pb2.PublicDraw]:
        yield public_pb2.PublicDraw(draw_id=self.draw_id, deadline=date_pb("2026-12-31"))

    def iter_published_results(self) -> Iterator[public_pb2.PublicResult]:
        yield public_pb2.PublicResult(
            draw_id=self.draw_id, credit_code=self.credit_code, inspected_on=date_pb("2026-12-03"), version=1
        )

    def abandoned_draws(self) -> list[public_pb2.AbandonedDraw]:
        return []

    def redraw_statistics(self) -> public_pb2.GetRedrawStatisticsResponse:
        return public_pb2.GetRedrawStatisticsResponse(max_abandons_per_task=1)

    def public_follow_ups(self) -> list[Any]:
        return []

    def public_objections(self) -> list[Any]:
        return []


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_plain_ids_become_pages(tmp_path: Path) -> None:
    out = tmp_path / "site"
    render_site(PublicApi("d-1"), out, today=DAY)  # type: ignore[arg-type]  # the public API's shape
    assert {"draws/d-1.html", f"objects/{CODE}.html"} <= _files(out)


@pytest.mark.parametrize(
    "draw_id",
    ["../../x", "../x", "..", "a/../../x", "a/b", "a\\b", "/etc/x", "x\n", ".hidden", "a..b", ""],
)
def test_hostile_draw_ids_are_refused_and_nothing_is_written_outside(tmp_path: Path, draw_id: str) -> None:
    out = tmp_path / "one" / "two" / "site"
    with pytest.raises(ValueError, match="refusing"):
        render_site(PublicApi(draw_id), out, today=DAY)  # type: ignore[arg-type]  # the public API's shape
    assert _files(tmp_path) == set()


@pytest.mark.parametrize("credit_code", ["../../x", "../objects2/x", "x/y", "..", "x\n"])
def test_hostile_credit_codes_are_refused(tmp_path: Path, credit_code: str) -> None:
    out = tmp_path / "site"
    with pytest.raises(ValueError, match="refusing"):
        render_site(PublicApi("d-1", credit_code), out, today=DAY)  # type: ignore[arg-type]  # the public API's shape
    assert _files(tmp_path) == set()


def test_a_page_folder_linked_outside_the_site_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "site"
    elsewhere = tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "draws").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ValueError, match="outside"):
        render_site(PublicApi("d-1"), out, today=DAY)  # type: ignore[arg-type]  # the public API's shape
    assert _files(elsewhere) == set()


def _plan(plan_id: str, version: int, reason: str = "", *entries: plans_pb2.PlanEntry) -> plans_pb2.Plan:
    return plans_pb2.Plan(
        id=plan_id,
        version=version,
        department_id="130273",
        year=2026,
        title="高新区2026年度双随机抽查工作计划",
        state=plans_pb2.PLAN_STATE_PUBLISHED,
        amendment_reason=reason,
        entries=list(entries),
    )


def test_each_published_plan_version_gets_a_page_listing_its_entries(tmp_path: Path) -> None:
    flat = plans_pb2.PlanEntry(
        id="e1",
        item_code="TS-SE-01",
        item_version=1,
        ratio=decimal_pb("0.1"),
        window_start=date_pb("2026-01-01"),
        window_end=date_pb("2026-12-31"),
        frequency=1,
    )
    by_class = plans_pb2.PlanEntry(
        id="e2", item_code="TS-PQ-01", item_version=1, ratio=decimal_pb("0.02"),
        window_start=date_pb("2026-03-01"), window_end=date_pb("2026-11-30"), frequency=4, central=True,
        cooperating_department_ids=["130200-SJ"],
        cooperating_lines={"130200-SJ": "product_quality"},
        class_ratios=[tasks_pb2.ClassRatio(risk_class=directory_pb2.RISK_CLASS_D, ratio=decimal_pb("0.3"))],
    )  # fmt: skip
    api = PublicApi(
        "d-1",
        # version 2 is absent: never published; the site skips it
        plans=(_plan("p-1", 1, "", flat), _plan("p-1", 3, "增加产品质量抽查", flat, by_class)),
    )
    out = tmp_path / "site"
    summary = render_site(api, out, today=DAY)  # type: ignore[arg-type]  # the public API's shape
    assert summary.plan_versions == 2
    assert {"plans.html", "plans/p-1-v1.html", "plans/p-1-v3.html"} <= _files(out)
    assert "plans/p-1-v2.html" not in _files(out)
    index = (out / "plans.html").read_text(encoding="utf-8")
    for text in ('href="plans/p-1-v1.html"', 'href="plans/p-1-v3.html"', "增加产品质量抽查"):
        assert text in index
    first = (out / "plans" / "p-1-v1.html").read_text(encoding="utf-8")
    assert "TS-PQ-01" not in first
    for text in ("TS-SE-01", "已被第 3 版修订", "增加产品质量抽查", 'href="../plans/p-1-v3.html"'):
        assert text in first  # the entries of version 1 and the later amendment's reason
    assert 'href="../static/site.css"' in first
    current = (out / "plans" / "p-1-v3.html").read_text(encoding="utf-8")
    for text in (
        "现行版本",
        "统一 0.1",
        "D 类（高风险）：0.3",
        "其余类别：0.02",
        "2026-03-01 至 2026-11-30",
        "4 次",
        "130200-SJ（执法类别：product_quality）",
        "上级集中抽取",
        "本级抽取",
    ):
        assert text in current
    assert 'href="plans.html"' in (out / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("plan_id", ["../../x", "../x", "..", "a/b", "x\n", ".hidden", ""])
def test_hostile_plan_ids_are_refused(tmp_path: Path, plan_id: str) -> None:
    out = tmp_path / "site"
    with pytest.raises(ValueError, match="refusing"):
        render_site(PublicApi("d-1", plans=(_plan(plan_id, 1),)), out, today=DAY)  # type: ignore[arg-type]  # the public API's shape
    assert _files(tmp_path) == set()
