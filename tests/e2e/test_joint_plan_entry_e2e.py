"""A joint plan entry's lines over gRPC, on SQLite and PostgreSQL, with the plan required: the published
entry declares the cooperating department's line, a planned draw freezes it as the manifest's
``task.policy.cooperating_lines``, every cooperating member holds it with a certificate valid on the draw
day, the bundle verifies offline; a task asking for another line is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from dualdraw.entrypoints.grpc.server import create_server
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import HIGH_TECH_ZONE, LUNAN, METROLOGY, PRODUCT_QUALITY
from dualdraw.service_layer.demo_loader import load_demo, load_demo_plan
from dualdraw.settings import Settings
from dualdraw.v1 import plans_pb2, tasks_pb2
from dualdraw.verifier.bundle import verify_bundle
from dualdraw_client import DualdrawClient
from dualdraw_client.cli import main as cli_main
from dualdraw_client.dates import date_pb
from dualdraw_client.decimals import decimal_pb
from dualdraw_client.errors import InvalidArgumentError
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


def _joint_e1(**lines: str) -> plans_pb2.PlanEntry:
    year = Caller(actor="x").today().year
    return plans_pb2.PlanEntry(
        id="e1",
        item_code="TS-SE-01",
        item_version=1,
        ratio=decimal_pb("0.1"),
        window_start=date_pb(f"{year}-01-01"),
        window_end=date_pb(f"{year}-12-31"),
        cooperating_department_ids=[LUNAN],
        cooperating_lines=lines,
    )


def test_a_published_joint_entry_draws_with_its_declared_line(planned: tuple[Served, str]) -> None:
    served, plan_id = planned
    with DualdrawClient(served.target, actor="planner", timeout=60) as client:
        with pytest.raises(InvalidArgumentError) as refused:
            client.amend_plan(plan_id, "联合抽查", entries=[_joint_e1()])
        violation = refused.value.field_violations[0]
        assert (violation.field, violation.reason) == (
            f"entries[0].cooperating_lines[{LUNAN}]",
            "FIELD_REQUIRED",
        )
        with pytest.raises(InvalidArgumentError) as refused:
            client.amend_plan(plan_id, "联合抽查", entries=[_joint_e1(**{LUNAN: METROLOGY, "x": METROLOGY})])
        assert refused.value.field_violations[0].reason == "FIELDS_CONFLICT"
        amended = client.amend_plan(plan_id, "联合抽查", entries=[_joint_e1(**{LUNAN: METROLOGY})])
        (joint,) = [
            e for e in client.get_published_plan(plan_id, version=amended.version).entries if e.id == "e1"
        ]
        assert dict(joint.cooperating_lines) == {LUNAN: METROLOGY}  # public with the plan

        planned_task = tasks_pb2.Task(
            department_id=HIGH_TECH_ZONE, team_size=2, plan_id=plan_id, plan_entry_id="e1"
        )
        other_line = tasks_pb2.Task()
        other_line.CopyFrom(planned_task)
        other_line.policy.cooperating_department_ids.append(LUNAN)
        other_line.policy.cooperating_lines[LUNAN] = PRODUCT_QUALITY
        with pytest.raises(InvalidArgumentError) as refused:
            client.create_task(other_line)
        assert [(v.field, v.reason) for v in refused.value.field_violations] == [
            ("task.policy.cooperating_lines", "PLAN_ENTRY_MISMATCH")
        ]

        task = client.create_task(planned_task)
        draw = client.draw(task.id)
        assert draw.algorithm_version == "dualdraw-draw/4"  # qualified teams, plan committed by root
        raw = client.export_draw_bundle(draw.id)
        report = verify_bundle(raw)
        assert report.ok, report.problem
        bundle = json.loads(raw)
        manifest = json.loads(bundle["draw"]["manifest_json"])
        assert manifest["task"]["policy"]["cooperating_lines"] == {LUNAN: METROLOGY}
        day = Caller(actor="x").today()
        with served.running.services.unit_of_work() as uow:
            lunan = {i.badge_number: i for i in uow.directory.inspectors_of([LUNAN])}
        teams = [[m.badge_number for m in a.team] for a in client.iter_assignments(draw.id)]
        assert teams
        for team in teams:
            cooperating = [b for b in team if b in lunan]
            assert len(cooperating) == 1
            assert lunan[cooperating[0]].qualified_for(METROLOGY, day)


def test_the_cli_declares_an_entrys_cooperating_lines(
    planned: tuple[Served, str], capsys: pytest.CaptureFixture[str]
) -> None:
    served, _ = planned
    year = Caller(actor="x").today().year + 1  # this year's demo plan holds TS-SE-01 already
    server = ["--server", served.target, "--json"]
    assert cli_main(["plans", "create", "--department", HIGH_TECH_ZONE, "--year", str(year), *server]) == 0
    plan_id = json.loads(capsys.readouterr().out)["id"]
    argv = [
        "plans", "add-entry", plan_id, "--item", "TS-SE-01", "--item-version", "1", "--ratio", "0.1",
        "--window-start", f"{year}-01-01", "--window-end", f"{year}-12-31",
    ]  # fmt: skip
    assert cli_main([*argv, "--cooperating", f"{LUNAN}={METROLOGY}", *server]) == 0
    (entry,) = json.loads(capsys.readouterr().out)["entries"]
    assert (entry["cooperating_department_ids"], entry["cooperating_lines"]) == ([LUNAN], {LUNAN: METROLOGY})
    update = ["plans", "update-entry", plan_id, "e1", *argv[3:], "--cooperating", LUNAN, *server]
    assert cli_main(update) != 0  # a cooperating department without its line
    assert "cooperating_lines" in capsys.readouterr().err
    # The estimate counts the cooperating department's inspectors holding the entry's line.
    assert cli_main(["plans", "estimate", plan_id, *server]) == 0
    assert not [s for s in json.loads(capsys.readouterr().out).get("shortfalls", []) if LUNAN in s]
    assert cli_main([*update[:-5], "--cooperating", f"{LUNAN}=fire_safety", *server]) == 0  # nobody holds it
    capsys.readouterr()
    assert cli_main(["plans", "estimate", plan_id, *server]) == 0
    named = [s for s in json.loads(capsys.readouterr().out)["shortfalls"] if s.endswith(f"short in {LUNAN}")]
    assert len(named) == 1, named
    assert named[0].startswith(f"fire_safety, {year}-01-01..{year}-12-31: "), named
    assert cli_main(["plans", "show", plan_id, "--server", served.target]) == 0
    assert f"{LUNAN}=fire_safety" in capsys.readouterr().out
