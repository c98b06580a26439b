"""A Node.js client built from protos/ alone (clients/node: @grpc/grpc-js and @grpc/proto-loader, nothing
generated; HTTP/JSON with Node's own fetch) runs the demo draw against the real server over gRPC and over
the Connect protocol of the HTTP port, on both databases: the published plan, a paged
directory, an import whose Chinese name holds 𠮷 (outside the Basic Multilingual Plane), a rehearsal task
and its draw (replayed by request_id), the assignments page by page, and two refusals read through their
ErrorInfo reasons and field violations.

The server requires annual-plan entries (``plan_required="on"``, unlike most tests) and uses the local
entropy of development mode, so the one-step draw executes at once. Needs node and npm
(tests/node_packages.py).
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dualdraw.entrypoints.grpc.server import RunningServer, create_server
from dualdraw.service_layer.demo_loader import load_demo, load_demo_plan
from dualdraw.settings import Settings
from dualdraw_client import DualdrawClient
from tests.e2e.conftest import RULES
from tests.node_packages import node_packages  # noqa: F401 - the npm ci fixture

NAME = "唐山𠮷祥食品有限公司"


@pytest.fixture
def planned_server(database_url: str) -> Iterator[RunningServer]:
    """Development mode (auth off, local entropy), the demo and its published plan loaded, annual-plan
    entries required."""
    settings = Settings(
        database_url=database_url,
        rules_path=RULES,
        address="127.0.0.1:0",
        rule_timeout_s=60,
        auth="off",
        allow_local_entropy=True,
        draw_process="off",
        plan_required="on",
        http_address="127.0.0.1:0",
    )
    running = create_server(settings)
    try:
        load_demo(running.services.unit_of_work)
        load_demo_plan(running.services.unit_of_work)  # as `dualdraw serve --demo-if-empty` does
        yield running
    finally:
        running.stop(grace=1)


def _run_demo(client_dir: Path, target: str) -> dict[str, Any]:
    done = subprocess.run(
        ["node", "demo-draw.mjs", target, "--json"],
        cwd=client_dir,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def test_the_node_client_runs_the_demo_draw_over_grpc_and_http_json(
    node_packages: Path,  # noqa: F811 - the fixture
    planned_server: RunningServer,
) -> None:
    grpc_target = f"127.0.0.1:{planned_server.port}"
    assert planned_server.http is not None
    http_target = f"http://127.0.0.1:{planned_server.http.port}"
    for run, (target, transport) in enumerate([(grpc_target, "grpc"), (http_target, "http-json")]):
        summary = _run_demo(node_packages, target)
        assert summary["transport"] == transport
        assert summary["directory"] == {"objects": 300 + run, "pages": 3 + run}  # each run imports one
        _check(summary, grpc_target)


def _check(summary: dict[str, Any], grpc_target: str) -> None:
    assert summary["plan"]["entry"] == "e1"

    chinese = summary["chineseName"]
    assert chinese["sent"] == NAME
    assert chinese["read"] == NAME
    assert chinese["importedObjects"] == "1"  # int64 as a string, as in protobuf's JSON mapping
    assert (chinese["codePoints"], chinese["utf16Units"]) == (10, 11)  # 𠮷 is a surrogate pair in JavaScript

    draw = summary["draw"]
    assert draw["state"] == "DRAW_STATE_EXECUTED"
    assert draw["rehearsal"] is True
    assert draw["replayId"] == draw["id"]  # the same request_id answers the same draw
    selected = int(draw["selected"])
    assert selected > 3
    assert draw["assignments"] == selected
    assert draw["assignmentPages"] == math.ceil(selected / 3)
    assert draw["teamSizes"] == [2]
    assert draw["leadersPerTeam"] == [1]

    unplanned = summary["errors"]["unplannedTask"]
    assert (unplanned["code"], unplanned["reason"]) == ("FAILED_PRECONDITION", "PLAN_ENTRY_REQUIRED")
    assert unplanned["domain"]
    lower_case = summary["errors"]["lowerCaseCreditCode"]
    assert (lower_case["code"], lower_case["reason"]) == ("INVALID_ARGUMENT", "CREDIT_CODE_NOT_CANONICAL")
    assert [v["field"] for v in lower_case["fieldViolations"]] == ["name"]
    assert chinese["creditCode"] in lower_case["fieldViolations"][0]["description"]

    # What Node wrote and drew, read back with the Python client: one contract, two languages.
    with DualdrawClient(grpc_target, actor="python-reader", timeout=60) as python:
        assert python.get_object(chinese["creditCode"]).display_name == NAME
        stored = python.get_draw(draw["id"])
    assert (stored.seed, stored.task_id, stored.selected_count) == (draw["seed"], draw["taskId"], selected)
