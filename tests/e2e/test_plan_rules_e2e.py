"""A plan entry's caps and raises over gRPC and the CLI, with the plan required (the default): the entry
carries them, `plans show` lists them, a planned draw records them in its manifest, and a planned task that
asks for other values is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from dualdraw.entrypoints.grpc.server import create_server
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import HIGH_TECH_ZONE
from dualdraw.service_layer.demo_loader import load_demo, load_demo_plan
from dualdraw.settings import Settings
from dualdraw.v1 import tasks_pb2
from dualdraw_client import DualdrawClient
from dualdraw_client.cli import main as cli_main
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


def test_an_entrys_rules_are_set_from_the_cli_and_shown(
    planned: tuple[Served, str], capsys: pytest.CaptureFixture[str]
) -> None:
    served, _ = planned
    year = Caller(actor="x").today().year + 1  # this year's demo plan holds TS-SE-01 already
    server = ["--server", served.target, "--json"]
    assert cli_main(["plans", "create", "--department", HIGH_TECH_ZONE, "--year", str(year), *server]) == 0
    plan_id = json.loads(capsys.readouterr().out)["id"]
    argv = [
        "plans", "add-entry", plan_id, "--item", "TS-SE-01", "--item-version", "1", "--ratio", "0.1",
        "--window-start", f"{year}-01-01", "--window-end", f"{year}-12-31", "--frequency-cap", "2",
        "--complaint-threshold", "1", "--no-serious-violation-raise", "--other-level", "join",
    ]  # fmt: skip
    assert cli_main([*argv, *server]) == 0
    rules = json.loads(capsys.readouterr().out)["entries"][0]["rules"]
    assert rules["frequency_cap"] == 2
    assert rules["complaint_threshold"] == 1
    assert rules["raise_window_days"] == 365
    assert rules.get("raise_on_serious_violation", False) is False
    assert rules["other_level"] == "OTHER_LEVEL_HANDLING_JOIN"  # --json prints enums by name
    assert cli_main(["plans", "show", plan_id, "--server", served.target]) == 0
    shown = capsys.readouterr().out
    assert "cap 2/year; raise at 1 complaints/365d; no serious-violation raise; other level: join" in shown
    with pytest.raises(SystemExit):  # argparse refuses a negative cap before any call
        cli_main([*argv[:-7], "--frequency-cap", "-1", *server])


def test_a_planned_draw_records_the_entrys_rules_and_a_task_may_not_change_them(
    planned: tuple[Served, str],
) -> None:
    served, plan_id = planned
    with DualdrawClient(served.target, actor="planner", timeout=60) as client:
        task = tasks_pb2.Task(department_id=HIGH_TECH_ZONE, team_size=2, plan_id=plan_id, plan_entry_id="e1")
        changed = tasks_pb2.Task()
        changed.CopyFrom(task)
        changed.policy.frequency_cap = 5
        with pytest.raises(InvalidArgumentError) as refused:
            client.create_task(changed)
        assert [v.field for v in refused.value.field_violations] == ["task.policy.frequency_cap"]
        created = client.create_task(task)
        assert (created.policy.frequency_cap, created.policy.complaint_threshold) == (1, 3)
        draw = client.draw(created.id)
        bundle = json.loads(client.export_draw_bundle(draw.id))
        policy = json.loads(bundle["draw"]["manifest_json"])["task"]["policy"]
        assert (policy["frequency_cap"], policy["complaint_threshold"], policy["raise_window_days"]) == (
            1,
            3,
            365,
        )
        assert policy["raise_on_serious_violation"] is True
        assert policy["other_level"] == "exclude"
