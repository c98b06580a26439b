"""The annual plan binds every draw, over gRPC with DUALDRAW_PLAN_REQUIRED on (the default): a task names a
published plan entry, one draw per entry and period, rehearsals marked and never published, and the bundles
of a planned draw and of a rehearsal verify offline."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dualdraw.domain.draw.beacon import DRAND_QUICKNET
from dualdraw.entrypoints.cli.verify import main as verify_main
from dualdraw.entrypoints.grpc.server import create_server
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import HIGH_TECH_ZONE
from dualdraw.service_layer.demo_loader import load_demo, load_demo_plan
from dualdraw.settings import Settings
from dualdraw.v1 import draws_pb2, plans_pb2, tasks_pb2
from dualdraw_client import DualdrawClient
from dualdraw_client.cli import main as cli_main
from dualdraw_client.decimals import decimal_pb
from dualdraw_client.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from tests.e2e.conftest import RULES, Served


@pytest.fixture
def planned(database_url: str) -> Iterator[tuple[Served, str]]:
    """A server with the plan required, over the demo and its published plan; (served, plan id)."""
    settings = Settings(
        database_url=database_url,
        rules_path=RULES,
        address="127.0.0.1:0",
        rule_timeout_s=60,
        auth="off",
        draw_process="off",
        plan_required="on",
        allow_local_entropy=True,  # development mode: the one-step draw uses a local secret
    )
    running = create_server(settings)
    try:
        load_demo(running.services.unit_of_work)
        plan = load_demo_plan(running.services.unit_of_work)
        yield Served(running, f"127.0.0.1:{running.port}"), plan.plan_id
    finally:
        running.stop(grace=1)


@pytest.fixture
def client(planned: tuple[Served, str]) -> Iterator[DualdrawClient]:
    with DualdrawClient(planned[0].target, actor="planner", timeout=60) as c:
        yield c


def _today() -> dt.date:
    return Caller(actor="x").today()


def _planned_task(client: DualdrawClient, plan_id: str, **fields: object) -> tasks_pb2.Task:
    task = tasks_pb2.Task(department_id=HIGH_TECH_ZONE, team_size=2, plan_id=plan_id, plan_entry_id="e1")
    for name, value in fields.items():
        setattr(task, name, value)
    return client.create_task(task)


def test_the_demo_plan_is_published_and_its_estimate_names_a_shortfall(
    planned: tuple[Served, str], client: DualdrawClient, capsys: pytest.CaptureFixture[str]
) -> None:
    served, plan_id = planned
    plan = client.get_published_plan(plan_id)
    assert plan.state == plans_pb2.PLAN_STATE_PUBLISHED
    assert plan.created_by == ""  # staff names stay inside
    assert [e.item_code for e in plan.entries] == ["TS-SE-01", "TS-PQ-01"]
    estimate = client.estimate_plan(plan_id)
    assert any(s.endswith(f"inspector-days short in {HIGH_TECH_ZONE}") for s in estimate.shortfalls)
    assert all(not s.startswith("special_equipment") for s in estimate.shortfalls)
    assert cli_main(["plans", "list", "--server", served.target]) == 0
    assert plan_id in capsys.readouterr().out
    assert cli_main(["plans", "estimate", plan_id, "--server", served.target]) == 0
    printed = capsys.readouterr().out
    assert "shortfall: product_quality" in printed
    assert "INSPECTOR-DAYS" in printed
    # the cost model is the items': TS-PQ-01 is a sampling item of 3 days, 400 yuan and 2500 yuan of tests
    equipment, quality = estimate.entries
    assert (quality.team_size, quality.days_per_inspection.value, quality.testing_fee.value) == (
        2,
        "3",
        "2500",
    )
    assert (equipment.cost_per_inspection.value, equipment.testing_fees.value) == ("300", "0")
    assert quality.inspections > 0
    assert quality.cost.value == str(quality.inspections * 2900)
    assert estimate.cost.value == str(quality.inspections * 2900 + equipment.inspections * 300)
    assert estimate.testing_fees.value == str(quality.inspections * 2500)
    assert f"whole plan: {estimate.inspections} inspections" in printed
    assert f"cost {estimate.cost.value} yuan (testing fees {estimate.testing_fees.value})" in printed
    assert cli_main(["items", "show", "TS-PQ-01", "--server", served.target]) == 0
    assert "2 inspectors × 3 days, 400 yuan + 2500 yuan testing fees" in capsys.readouterr().out
    assert cli_main(["plans", "progress", plan_id, "--json", "--server", served.target]) == 0
    progress = json.loads(capsys.readouterr().out)
    assert [(r["entry_id"], r["period"]) for r in progress["entries"]][:2] == [("e1", 1), ("e2", 1)]


def test_a_task_without_a_published_plan_entry_is_refused_and_writes_nothing(
    planned: tuple[Served, str], client: DualdrawClient
) -> None:
    _, plan_id = planned
    free = tasks_pb2.Task(
        item_code="TS-SE-01", department_id=HIGH_TECH_ZONE, ratio=decimal_pb("0.1"), team_size=2
    )
    with pytest.raises(FailedPreconditionError) as refused:
        client.create_task(free)
    assert refused.value.reason == "PLAN_ENTRY_REQUIRED"
    draft = client.create_plan(HIGH_TECH_ZONE, _today().year, title="draft")
    with pytest.raises(FailedPreconditionError) as refused:
        _planned_task(client, draft.id)
    assert refused.value.reason == "PLAN_NOT_PUBLISHED"
    with pytest.raises(FailedPreconditionError) as refused:
        _planned_task(client, plan_id, plan_entry_id="e9")
    assert refused.value.reason == "PLAN_ENTRY_NOT_IN_FORCE"
    with pytest.raises(InvalidArgumentError) as refused:
        _planned_task(client, plan_id, plan_entry_id="")
    assert refused.value.field_violations[0].field == "task.plan_entry_id"
    assert list(client.iter_tasks()) == []


def test_a_second_task_for_the_same_entry_and_period_is_refused_naming_the_draw(
    planned: tuple[Served, str], client: DualdrawClient, capsys: pytest.CaptureFixture[str]
) -> None:
    served, plan_id = planned
    argv = ["tasks", "create", "--plan", plan_id, "--entry", "e1", "--team-size", "2", "--draw", "--json"]
    assert cli_main([*argv, "--server", served.target]) == 0
    shown = json.loads(capsys.readouterr().out)
    draw_id = shown["draw"]["id"]
    (task,) = client.iter_tasks()
    assert (task.plan_id, task.plan_entry_id, task.plan_period, task.plan_version) == (plan_id, "e1", 1, 1)
    assert not task.rehearsal
    assert (task.item_code, task.ratio.value, task.draw_id) == ("TS-SE-01", "0.1", draw_id)
    with pytest.raises(FailedPreconditionError) as refused:
        _planned_task(client, plan_id)
    assert refused.value.reason == "PLAN_ENTRY_ALREADY_DRAWN"
    assert refused.value.metadata["draw_id"] == draw_id
    assert draw_id in str(refused.value)
    progress = client.plan_progress(plan_id)
    first = progress.entries[0]
    assert (first.entry_id, first.period, first.drawn > 0) == ("e1", 1, True)


def test_a_planned_draw_is_dated_today(planned: tuple[Served, str], client: DualdrawClient) -> None:
    _, plan_id = planned
    task = _planned_task(client, plan_id)
    with pytest.raises(InvalidArgumentError) as refused:
        client.draw(task.id, as_of=_today() + dt.timedelta(days=1))
    assert refused.value.field_violations[0].field == "as_of"
    assert client.get_task(task.id).draw_id == ""


def _verify(tmp_path: Path, bundle: bytes, capsys: pytest.CaptureFixture[str]) -> str:
    path = tmp_path / "draw.json"
    path.write_bytes(bundle)
    assert verify_main([str(path)]) == 0
    return capsys.readouterr().out


def test_a_planned_draw_and_a_rehearsal_verify_offline_and_the_rehearsal_is_never_published(
    planned: tuple[Served, str], client: DualdrawClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served, plan_id = planned
    planned_draw = client.draw(_planned_task(client, plan_id).id)
    printed = _verify(tmp_path, client.export_draw_bundle(planned_draw.id), capsys)
    assert "MATCH" in printed
    assert f"plan {plan_id} version 1, entry e1, period 1" in printed
    assert "rehearsal" not in printed

    argv = ["plans", "draw", plan_id, "e1", "--rehearsal", "--period", "1", "--as-of", "2026-12-01", "--json"]
    assert cli_main([*argv, "--server", served.target]) == 0  # the period is held: a rehearsal holds none
    rehearsal_id = json.loads(capsys.readouterr().out)["draw"]["id"]
    rehearsal = client.get_draw(rehearsal_id)
    task = client.get_task(rehearsal.task_id)
    assert task.rehearsal
    bundle = client.export_draw_bundle(rehearsal_id)
    assert json.loads(json.loads(bundle)["draw"]["manifest_json"])["rehearsal"] is True
    printed = _verify(tmp_path, bundle, capsys)
    assert "MATCH" in printed
    assert "rehearsal" in printed
    with pytest.raises(FailedPreconditionError) as refused:
        client.publish_results(rehearsal_id)
    assert refused.value.reason == "REHEARSAL_NOT_PUBLISHABLE"
    assert rehearsal_id not in {d.draw_id for d in client.iter_published_draws()}

    # marked in every view, counted in none: the draw (API and CLI), publication deadlines, re-draw statistics
    assert (rehearsal.rehearsal, client.get_draw(planned_draw.id).rehearsal) == (True, False)
    assert cli_main(["draws", "show", rehearsal_id, "--server", served.target]) == 0
    assert "yes: never published, never counted" in capsys.readouterr().out
    assert {p.draw_id for p in client.pending_publications()} == {planned_draw.id}
    drawn_before = {d.department_id: d.draws for d in client.redraw_statistics().departments}
    assert drawn_before == {HIGH_TECH_ZONE: 1}  # the planned draw alone
    client.abandon_draw(rehearsal_id, "OTHER", "演练结束")
    assert {d.department_id: d.draws for d in client.redraw_statistics().departments} == drawn_before
    assert client.abandoned_draws() == []
    assert client.draw_statistics().abandoned == 0
    with pytest.raises(NotFoundError):
        client.abandoned_draw(rehearsal_id)


def test_a_planned_draw_is_made_from_the_cli_without_local_entropy(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(
        database_url=database_url,
        rules_path=RULES,
        address="127.0.0.1:0",
        auth="off",
        draw_process="off",
        plan_required="on",  # and no DUALDRAW_ALLOW_LOCAL_ENTROPY: production entropy
    )
    running = create_server(settings)
    try:
        load_demo(running.services.unit_of_work)
        plan_id = load_demo_plan(running.services.unit_of_work).plan_id
        target = f"127.0.0.1:{running.port}"
        round_ = DRAND_QUICKNET.first_round_after(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
        capsys.readouterr()
        argv = ["plans", "draw", plan_id, "e1", "--beacon-round", str(round_), "--server", target]
        assert cli_main(argv) == 0
        printed = capsys.readouterr().out
        assert "dualdraw draw execute" in printed
        argv = ["tasks", "create", "--plan", plan_id, "--entry", "e2", "--team-size", "2", "--draw"]
        assert cli_main([*argv, "--beacon-round", str(round_ + 1), "--json", "--server", target]) == 2
        # the committed e1 draw holds the department's history (caps count across items) until it runs
        assert "[PENDING_DRAW_IN_SCOPE]" in capsys.readouterr().err
        with DualdrawClient(target, actor="planner", timeout=60) as client:
            tasks = {t.plan_entry_id: t for t in client.iter_tasks()}
            first = tasks["e1"].draw_id
            client.abandon_draw(first, "OTHER", "先抽下一条目")
        argv = ["draw", tasks["e2"].id, "--beacon-round", str(round_ + 1), "--json", "--server", target]
        assert cli_main(argv) == 0
        drawn = json.loads(capsys.readouterr().out)["draw"]
        with DualdrawClient(target, actor="planner", timeout=60) as client:
            draws = [client.get_draw(first), client.get_draw(drawn["id"])]
            manifests = [json.loads(client.export_draw_bundle(d.id))["draw"]["manifest_json"] for d in draws]
            rounds = [json.loads(m)["entropy_source"]["round"] for m in manifests]
            assert rounds == [round_, round_ + 1]
            assert [d.state for d in draws] == [
                draws_pb2.DRAW_STATE_ABANDONED,
                draws_pb2.DRAW_STATE_COMMITTED,
            ]
            assert {d.entropy_note for d in draws} == {""}
    finally:
        running.stop(grace=1)
