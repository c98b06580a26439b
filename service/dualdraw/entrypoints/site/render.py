"""Renders the public site from the public read API (``PublicService``, ``PublicFollowUpService``) into a
folder of static files.

The site is built from the public API, not from the database: it can only ever contain what the API
serves, i.e. what was published, and the publishing host needs no database credentials.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from dualdraw.entrypoints.site import charts as site_charts
from dualdraw.entrypoints.site import plans as site_plans
from dualdraw.v1 import draws_pb2, follow_ups_pb2, public_pb2, publication_pb2
from dualdraw_client import DualdrawClient
from dualdraw_client.dates import date_text
from dualdraw_client.decimals import decimal_text

CST = dt.timezone(dt.timedelta(hours=8), "CST")
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # credit codes and draw ids as file names
STATIC = Path(__file__).parent / "static"


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("dualdraw.entrypoints.site", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["date"] = date_text
    return env


def _plain_fields(message: Any) -> dict[str, Any]:
    """Every field of ``message`` by name, a ``google.type.Date`` as ``YYYY-MM-DD`` text and a
    ``google.type.Decimal`` as its decimal text ("" when unset)."""
    return {f.name: _plain(f, getattr(message, f.name)) for f in message.DESCRIPTOR.fields}


def _plain(field: Any, value: Any) -> Any:
    kind = field.message_type.full_name if field.message_type is not None else ""
    if kind == "google.type.Date":
        return date_text(value)
    if kind == "google.type.Decimal":
        return decimal_text(value)
    return value


def _day(ts: Any) -> str:
    return str(ts.ToDatetime(tzinfo=dt.UTC).astimezone(CST).date().isoformat()) if ts.seconds else ""


def _safe(name: str) -> str:
    """``name`` (a server-supplied id) when it is one plain file-name component, else ``ValueError``."""
    if not SAFE_NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"refusing to use {name!r} as a file name")
    return name


def _confined(out_dir: Path, relative: str) -> Path:
    """``out_dir / relative`` resolved (symbolic links followed); ``ValueError`` when it leads outside."""
    root = out_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or path == root:
        raise ValueError(f"refusing to write {relative!r}: it resolves outside {out_dir}")
    return path


@dataclass(frozen=True)
class SiteSummary:
    items: int
    draws: int
    results: int
    objects: int
    plan_versions: int = 0


def _result_row(r: public_pb2.PublicResult) -> dict[str, Any]:
    return {
        "draw_id": r.draw_id,
        "position": r.position,
        "credit_code": _safe(r.credit_code),
        "object_name": r.object_name,
        "item_name": r.item_name,
        "department_id": r.department_id,
        "department_name": r.department_name,
        "inspected_on": date_text(r.inspected_on),
        "period": date_text(r.inspected_on)[:7],
        "outcome_label": r.outcome_label,
        "findings": r.findings,
        "penalty_decision_number": r.penalty_decision_number,
        "referred_to_judicial": r.referred_to_judicial,
        "version": r.version,
        "correction_reason": r.correction_reason,
        "team": [{"name": m.name, "badge_number": m.badge_number, "leader": m.leader} for m in r.team],
        "published_on": _day(r.publish_time),  # this version's own publication (results as they come)
        "deadline": date_text(r.deadline),
        "on_time": r.on_time,
    }


def _result_key(name: str) -> tuple[str, int]:
    """``(draw_id, position)`` of ``draws/{draw}/assignments/{position}/result``."""
    parts = name.split("/")
    return parts[1], int(parts[3])


def _follow_up_row(f: follow_ups_pb2.PublicFollowUp) -> dict[str, Any]:
    """What the public sees of a follow-up: kind, state, due date, and how it closed (nothing internal)."""
    return {
        "kind_label": f.kind_label,
        "state_label": f.state_label,
        "open_date": date_text(f.open_date),
        "due_date": date_text(f.due_date),
        "outcome_label": f.outcome_label,
        "close_date": date_text(f.close_date),
    }


def _objection_row(o: follow_ups_pb2.PublicObjection) -> dict[str, Any]:
    return {
        "result_version": o.result_version,
        "receive_date": date_text(o.receive_date),
        "grounds": o.grounds,
        "state_label": o.state_label,
        "decide_date": date_text(o.decide_date),
        "decision_reason": o.decision_reason,
        "corrected_version": o.corrected_version,
    }


def _after_the_draw(client: DualdrawClient, results: list[dict[str, Any]]) -> None:
    """Adds to each result row its public follow-ups and objections (``follow_ups``, ``objections``)."""
    follow_ups: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for f in client.public_follow_ups():
        follow_ups[_result_key(f.result)].append(_follow_up_row(f))
    objections: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for o in client.public_objections():
        objections[_result_key(o.result)].append(_objection_row(o))
    for r in results:
        key = (r["draw_id"], r["position"])
        r["follow_ups"] = follow_ups.get(key, [])
        r["objections"] = objections.get(key, [])


def _draw_row(d: public_pb2.PublicDraw) -> dict[str, Any]:
    row = _plain_fields(d)
    row["draw_id"] = _safe(d.draw_id)
    row["drawn_on"] = _day(d.draw_time)
    row["published_on"] = _day(d.publish_time)
    row["period"] = row["drawn_on"][:7]
    row["on_time"] = row["published_on"] <= row["deadline"]
    return row


REASON_LABELS = {
    "DATA_ERROR": "数据错误",
    "RULES_ERROR": "规则错误",
    "ENTROPY_FAILED": "随机源失败",
    "TASK_CHANGED": "任务变更",
    "ORDERED_BY_SUPERVISOR": "上级责令",
    "OTHER": "其他",
}


def _abandoned_row(a: public_pb2.AbandonedDraw) -> dict[str, Any]:
    row = _plain_fields(a)
    row["draw_id"] = _safe(a.draw_id)
    if a.replaced_by_draw_id:
        row["replaced_by_draw_id"] = _safe(a.replaced_by_draw_id)
    row["drawn_on"] = _day(a.draw_time)
    row["abandoned_on"] = _day(a.abandon_time)
    code = draws_pb2.AbandonReason.Name(a.reason).removeprefix("ABANDON_REASON_")
    row["reason"] = code
    row["reason_label"] = REASON_LABELS.get(code, code)
    return row


def render_site(client: DualdrawClient, out_dir: Path, *, today: dt.date | None = None) -> SiteSummary:
    """Writes the site into ``out_dir`` (created if needed; files of an earlier run are replaced)."""
    day = today or dt.datetime.now(CST).date()
    items = client.published_items(day)
    history: dict[str, list[publication_pb2.ItemVersion]] = {
        v.code: client.item_versions(v.code) for v in items
    }
    draws = [_draw_row(d) for d in client.iter_published_draws()]
    results = [_result_row(r) for r in client.iter_published_results()]
    _after_the_draw(client, results)
    abandoned = [_abandoned_row(a) for a in client.abandoned_draws()]
    redraws = client.redraw_statistics()
    statistics = [
        {
            "department_id": s.department_id,
            "department_name": s.department_name,
            "draws": s.draws,
            "abandoned": s.abandoned,
            "tasks_with_abandons": s.tasks_with_abandons,
            "reasons": sorted((REASON_LABELS.get(k, k), n) for k, n in s.abandoned_by_reason.items()),
        }
        for s in redraws.departments
    ]

    by_object: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        by_object[r["credit_code"]].append(r)
    objects = sorted(
        (
            {
                "credit_code": code,
                "name": rows[-1]["object_name"],
                "latest_outcome": rows[-1]["outcome_label"],
            }
            for code, rows in by_object.items()
        ),
        key=lambda o: o["credit_code"],
    )
    departments = sorted({(r["department_id"], r["department_name"]) for r in results + draws})
    department_names = dict(departments) | {a["department_id"]: a["department_name"] for a in abandoned}
    item_names = {v.code: v.item.display_name for v in items}
    plans = [
        [
            site_plans.version_row(
                p,
                _safe,
                _day,
                item_names,
                department_names,
                site_plans.estimate_of(client, p),
                site_plans.progress_of(client, p),
            )
            for p in versions
        ]
        for versions in site_plans.published_versions(client)
    ]
    periods = sorted({r["period"] for r in results} | {d["period"] for d in draws}, reverse=True)

    env = _env()
    common = {
        "generated": dt.datetime.now(CST).strftime("%Y-%m-%d %H:%M"),
        "departments": departments,
        "periods": periods,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for sub in (
        "draws",
        "objects",
        "plans",
        "static",
    ):  # a folder linked elsewhere is refused before any write
        _confined(out_dir, sub)
    (out_dir / "draws").mkdir(exist_ok=True)
    (out_dir / "objects").mkdir(exist_ok=True)
    (out_dir / "plans").mkdir(exist_ok=True)
    shutil.copytree(STATIC, out_dir / "static", dirs_exist_ok=True)

    def write(path: str, template: str, **context: Any) -> None:
        root = "../" * path.count("/")
        html = env.get_template(template).render(root=root, **common, **context)
        _confined(out_dir, path).write_text(html, encoding="utf-8")

    write("index.html", "index.html", items=items, draws=draws, results=results, plans=plans)
    write("plans.html", "plans.html", plans=plans)
    for versions in plans:
        for p in versions:
            later = [v for v in versions if v["version"] > p["version"]]
            progress = site_charts.plan_progress(p["progress"]["rows"]) if p["progress"] else []
            charts = [site_charts.html(c) for c in progress]
            write(p["page"], "plan.html", p=p, versions=versions, later=later, charts=charts)
    write("items.html", "items.html", items=items, history=history, as_of=day.isoformat())
    draw_charts = [site_charts.html(c) for c in site_charts.draws_by_department(draws)]
    write("draws.html", "draws.html", draws=draws, charts=draw_charts)
    workload = site_charts.html(site_charts.workload_by_inspector(results))
    write("results.html", "results.html", results=results, charts=[workload])
    write("search.html", "search.html", objects=objects)
    write(
        "abandoned.html",
        "abandoned.html",
        abandoned=abandoned,
        statistics=statistics,
        max_abandons=redraws.max_abandons_per_task,
        charts=[site_charts.html(c) for c in site_charts.redraws_by_department(statistics)],
    )
    for d in draws:
        rows = [r for r in results if r["draw_id"] == d["draw_id"]]
        earlier = [a for a in abandoned if a["task_id"] == d["task_id"]]
        write(f"draws/{_safe(d['draw_id'])}.html", "draw.html", d=d, results=rows, abandoned=earlier)
    for o in objects:
        write(
            f"objects/{_safe(o['credit_code'])}.html",
            "object.html",
            name=o["name"],
            credit_code=o["credit_code"],
            results=by_object[o["credit_code"]],
        )
    return SiteSummary(len(items), len(draws), len(results), len(objects), sum(map(len, plans)))
