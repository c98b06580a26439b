"""The annual plans (年度抽查计划) of the public site: every published version in force, as rows for the
plan templates. Read from the public API only, like the rest of the site."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dualdraw.v1 import directory_pb2, plans_pb2, public_pb2, tasks_pb2
from dualdraw_client import DualdrawClient
from dualdraw_client.dates import date_text
from dualdraw_client.decimals import decimal_text
from dualdraw_client.errors import NotFoundError

RISK_CLASS_LABELS: dict[int, str] = {
    directory_pb2.RISK_CLASS_A: "A 类（低风险）",
    directory_pb2.RISK_CLASS_B: "B 类（一般风险）",
    directory_pb2.RISK_CLASS_C: "C 类（较高风险）",
    directory_pb2.RISK_CLASS_D: "D 类（高风险）",
}


def published_versions(client: DualdrawClient) -> list[list[plans_pb2.Plan]]:
    """Each published plan's versions in force, oldest first; plans ordered by year (newest first), then id.

    A version the public API does not serve (never published, or not yet in force) is skipped."""
    plans = []
    for latest in client.iter_published_plans():
        versions = []
        for number in range(1, latest.version):
            try:
                versions.append(client.get_published_plan(latest.id, version=number))
            except NotFoundError:
                continue
        plans.append([*versions, latest])
    return sorted(plans, key=lambda vs: (-vs[-1].year, vs[-1].id))


def plan_page(plan_id: str, version: int, safe: Callable[[str], str]) -> str:
    """The page of one plan version, relative to the site root."""
    return f"plans/{safe(plan_id)}-v{int(version)}.html"


def _entry_row(
    e: plans_pb2.PlanEntry, item_names: Mapping[str, str], department_names: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "id": e.id,
        "item_code": e.item_code,
        "item_name": item_names.get(e.item_code, ""),
        "item_version": e.item_version,
        "ratio": decimal_text(e.ratio),
        "class_ratios": [
            (RISK_CLASS_LABELS.get(c.risk_class, str(c.risk_class)), decimal_text(c.ratio))
            for c in e.class_ratios
        ],
        "window": f"{date_text(e.window_start)} 至 {date_text(e.window_end)}",
        "frequency": e.frequency or 1,
        "cooperating": [_cooperating(d, e, department_names) for d in e.cooperating_department_ids],
        "level": "上级集中抽取，交登记机关检查" if e.central else "本级抽取",
        "rules": _rules_text(e),
    }


def _cooperating(department_id: str, e: plans_pb2.PlanEntry, department_names: Mapping[str, str]) -> str:
    """A cooperating department and the line its inspectors hold (entries before lines: the name only)."""
    name = department_names.get(department_id, department_id)
    line = e.cooperating_lines.get(department_id, "")
    return f"{name}（执法类别：{line}）" if line else name


def estimate_of(client: DualdrawClient, p: plans_pb2.Plan) -> plans_pb2.PlanEstimate | None:
    """The version's public estimate (as of its publication day); ``None`` when the API serves none."""
    try:
        return client.published_plan_estimate(p.id, version=p.version)
    except NotFoundError:
        return None


def progress_of(client: DualdrawClient, p: plans_pb2.Plan) -> public_pb2.PublishedPlanProgress | None:
    """The version's public progress (published data only); ``None`` when the API serves none."""
    try:
        return client.published_plan_progress(p.id, version=p.version)
    except NotFoundError:
        return None


PERIOD_STATE_LABELS: dict[int, str] = {
    public_pb2.PUBLISHED_PERIOD_STATE_UPCOMING: "未开始",
    public_pb2.PUBLISHED_PERIOD_STATE_OPEN: "进行中",
    public_pb2.PUBLISHED_PERIOD_STATE_PUBLISHED: "已公示",
    public_pb2.PUBLISHED_PERIOD_STATE_OVERDUE: "逾期未抽取",
}


def _progress_rows(
    progress: public_pb2.PublishedPlanProgress, item_names: Mapping[str, str]
) -> dict[str, Any]:
    """Per entry and period: planned and published draws, objects drawn, results published (on time), the
    abandoned draws and the period's state."""

    rows = [
        {
            "entry_id": r.entry_id,
            "item": f"{r.item_code} {item_names.get(r.item_code, '')}".strip(),
            "period": r.period,
            "dates": f"{date_text(r.start_date)} 至 {date_text(r.end_date)}",
            "planned": r.planned_draws,
            "draws": r.published_draws,
            "objects": r.drawn_objects,
            "results": r.published_results,
            "on_time": r.on_time_results,
            "abandoned": r.abandoned_draws,
            "overdue": r.state == public_pb2.PUBLISHED_PERIOD_STATE_OVERDUE,
            "state": PERIOD_STATE_LABELS.get(r.state, ""),
        }
        for r in progress.periods
    ]
    return {"as_of": date_text(progress.as_of_date), "rows": rows}


def _estimate_rows(estimate: plans_pb2.PlanEstimate, item_names: Mapping[str, str]) -> dict[str, Any]:
    """Per entry and period: inspections, inspector-days needed and available, cost; the plan's totals."""
    rows = [
        {
            "entry_id": e.entry_id,
            "item": f"{e.item_code} {item_names.get(e.item_code, '')}".strip(),
            "period": f"{date_text(p.start)} 至 {date_text(p.end)}",
            "inspections": p.inspections,
            "team": f"{e.team_size} 人 × {decimal_text(e.days_per_inspection)} 天",
            "inspector_days": decimal_text(p.inspector_days),
            "qualified": p.qualified_inspectors,
            "available": decimal_text(p.available_inspector_days),
            "shortfall": "" if decimal_text(p.shortfall_days) == "0" else decimal_text(p.shortfall_days),
            "cost": decimal_text(p.cost),
            "testing_fees": decimal_text(p.testing_fees),
        }
        for e in estimate.entries
        for p in e.periods
    ]
    return {
        "as_of": date_text(estimate.as_of),
        "rows": rows,
        "inspections": estimate.inspections,
        "inspector_days": decimal_text(estimate.inspector_days),
        "cost": decimal_text(estimate.cost),
        "testing_fees": decimal_text(estimate.testing_fees),
        "shortfalls": list(estimate.shortfalls),
    }


def _rules_text(e: plans_pb2.PlanEntry) -> list[str]:
    """The entry's caps and raises in words (without rules: the defaults, DRAW-ALGORITHM §14.6)."""
    if not e.HasField("rules"):
        r = plans_pb2.PlanRules(
            frequency_cap=1, complaint_threshold=3, raise_window_days=365, raise_on_serious_violation=True
        )
    else:
        r = e.rules
    to = f"提高至 {RISK_CLASS_LABELS.get(r.raise_to, str(r.raise_to))}" if r.raise_to else "提高一档"
    return [
        f"同一对象每年至多 {r.frequency_cap} 次" if r.frequency_cap else "不限次数",
        f"{r.raise_window_days or 365} 日内被投诉举报 {r.complaint_threshold} 次以上的{to}"
        if r.complaint_threshold
        else "不按投诉举报提高",
        f"有严重违法记录的{to}" if r.raise_on_serious_violation else "不按严重违法记录提高",
        "上下级已抽中的对象：并入其检查"
        if r.other_level == tasks_pb2.OTHER_LEVEL_HANDLING_JOIN
        else "上下级已抽中的对象：不再抽取",
    ]


def version_row(
    p: plans_pb2.Plan,
    safe: Callable[[str], str],
    day: Callable[[Any], str],
    item_names: Mapping[str, str],
    department_names: Mapping[str, str],
    estimate: plans_pb2.PlanEstimate | None = None,
    progress: public_pb2.PublishedPlanProgress | None = None,
) -> dict[str, Any]:
    """One plan version as the templates show it, with its estimate and progress when there are."""
    return {
        "id": safe(p.id),
        "version": p.version,
        "page": plan_page(p.id, p.version, safe),
        "year": p.year,
        "title": p.title,
        "department_id": p.department_id,
        "department_name": department_names.get(p.department_id, p.department_id),
        "published_on": day(p.publish_time),
        "amendment_reason": p.amendment_reason,
        "content_hash": p.content_hash,
        "entries": [_entry_row(e, item_names, department_names) for e in p.entries],
        "estimate": _estimate_rows(estimate, item_names) if estimate is not None else None,
        "progress": _progress_rows(progress, item_names) if progress is not None else None,
    }
