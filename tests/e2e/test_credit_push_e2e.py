"""The credit push end to end (Art. 13): results recorded on a demo draw through the real server reach a
local credit-system endpoint through the outbox relay, and ``dualdraw credit status`` (human and --json)
shows what was delivered with its receipt, what failed and why, and what waits while no endpoint is set."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest

from dualdraw.entrypoints.cli import main as dualdraw_cli
from dualdraw.entrypoints.grpc.server import create_server
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import DEMO_AS_OF, demo_directory
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.settings import Settings
from dualdraw.v1 import deliveries_pb2, results_pb2, tasks_pb2
from dualdraw_client import DualdrawClient, InvalidArgumentError
from dualdraw_client.dates import date_pb
from dualdraw_client.decimals import decimal_pb
from tests.integration.credit_receiver import Receiver, credit_receiver

from .conftest import RULES, Served, publishable_draw


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with credit_receiver() as receiver:
        yield receiver


def serve(database_url: str, credit_url: str = "") -> Served:
    settings = Settings(
        database_url=database_url,
        rules_path=RULES,
        address="127.0.0.1:0",
        rule_timeout_s=60,
        auth="off",
        allow_local_entropy=True,
        draw_process="off",
        credit_url=credit_url,
        credit_timeout_s=5,
        credit_interval_s=0.1,
    )
    running = create_server(settings)
    assert load_demo(running.services.unit_of_work) is not None
    return Served(running, f"127.0.0.1:{running.port}")


def record_results(target: str, positions: int) -> tuple[str, list[int]]:
    """Draws for the demo's suggested task and records ``positions`` results; the draw and positions."""
    s = demo_directory().suggested_task
    with DualdrawClient(target, actor="e2e-tester", timeout=60) as client:
        task = client.create_task(
            tasks_pb2.Task(
                item_code=s.item_code,
                department_id=s.department_id,
                ratio=decimal_pb(s.ratio),
                team_size=s.team_size,
                title=s.title,
            )
        )
        draw = publishable_draw(client, task.id, as_of=DEMO_AS_OF)
        chosen = [a.position for a in client.iter_assignments(draw.id)][:positions]
        today = Caller("x").today().isoformat()
        for position in chosen:
            client.record_result(
                results_pb2.InspectionResult(
                    draw_id=draw.id,
                    position=position,
                    outcome=results_pb2.OUTCOME_NO_PROBLEM,
                    inspected_on=date_pb(today),
                )
            )
    return draw.id, chosen


def status(capsys: pytest.CaptureFixture[str], target: str, *argv: str) -> str:
    code = dualdraw_cli.main(["credit", "status", "--server", target, "--actor", "auditor-1", *argv])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def wait_for(condition: Callable[[], bool], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the relay did not get there in time"
        time.sleep(0.1)


def test_recorded_results_are_pushed_and_credit_status_shows_receipts_and_failures(
    database_url: str, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    refused_position: list[int] = []
    receiver.refuse_if = lambda body: body["record"]["position"] in refused_position
    served = serve(database_url, receiver.url)
    try:
        draw_id, positions = record_results(served.target, 3)
        refused_position.append(positions[-1])
        with DualdrawClient(served.target, actor="auditor-1", timeout=30) as client:

            def settled() -> bool:
                (summary,) = client.delivery_summary("credit").destinations
                return (summary.delivered, summary.failed, summary.pending) == (2, 1, 0)

            wait_for(settled)
            failed = list(client.iter_deliveries("credit", state="failed"))
        assert [d.resource for d in failed] == [f"draws/{draw_id}/assignments/{positions[-1]}/result"]
        assert failed[0].state == deliveries_pb2.DELIVERY_STATE_FAILED
        assert failed[0].name == f"deliveries/credit-{failed[0].audit_sequence}"
        assert failed[0].message_id == f"credit/{failed[0].audit_sequence}"
        assert failed[0].HasField("next_attempt_time")
        assert "HTTP 422 (refused)" in failed[0].last_error

        human = status(capsys, served.target)
        lines = human.splitlines()
        assert [line.split() for line in lines[:3]] == [["pending", "0"], ["delivered", "2"], ["failed", "1"]]
        assert "HTTP 422 (refused)" in human
        assert f"draws/{draw_id}/assignments/{positions[-1]}/result" in human
        assert "R-1" not in human  # delivered records are listed only when asked for

        document = json.loads(status(capsys, served.target, "--state", "delivered", "--json"))
        assert (document["pending"], document["delivered"], document["failed"]) == (0, 2, 1)
        delivered = document["deliveries"]
        assert [d["resource"] for d in delivered] == [
            f"draws/{draw_id}/assignments/{p}/result" for p in positions[:2]
        ]
        assert sorted(d["receipt"] for d in delivered) == ["R-1", "R-2"]
        assert all(d["state"] == "DELIVERY_STATE_DELIVERED" and d["attempts"] == 1 for d in delivered)
        assert all(d["deliver_time"] for d in delivered)

        sent = {body["record"]["record_id"] for _, body in receiver.requests}
        assert {f"{draw_id}/{p}/v1" for p in positions} == sent
        keys = {headers["Idempotency-Key"] for headers, _ in receiver.requests}
        assert keys == {f"credit/{d['audit_sequence']}" for d in delivered} | {failed[0].message_id}
    finally:
        served.running.stop(grace=1)


def test_without_an_endpoint_the_records_wait_and_show_as_pending(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    served = serve(database_url)
    try:
        assert served.running.relays == []
        draw_id, positions = record_results(served.target, 2)
        document = json.loads(status(capsys, served.target, "--json"))
        assert (document["pending"], document["delivered"], document["failed"]) == (2, 0, 0)
        assert [d["resource"] for d in document["deliveries"]] == [
            f"draws/{draw_id}/assignments/{p}/result" for p in positions
        ]
        assert all(d["state"] == "DELIVERY_STATE_PENDING" for d in document["deliveries"])
        with DualdrawClient(served.target, actor="auditor-1", timeout=30) as client:
            first = client.list_deliveries("credit", state="pending", page_size=1)
            assert len(first.deliveries) == 1
            assert first.next_page_token
            second = client.list_deliveries(
                "credit", state="pending", page_size=1, page_token=first.next_page_token
            )
            assert [d.resource for d in [*first.deliveries, *second.deliveries]] == [
                f"draws/{draw_id}/assignments/{p}/result" for p in positions
            ]
            with pytest.raises(InvalidArgumentError):  # a token of another query
                client.list_deliveries("credit", state="failed", page_token=first.next_page_token)
        assert status(capsys, served.target).splitlines()[0].split() == ["pending", "2"]
        chinese = status(capsys, served.target, "--lang", "zh")
        assert chinese.splitlines()[0].split() == ["待推送", "2"]
        assert "状态" in chinese  # the STATE header
        with DualdrawClient(served.target, actor="auditor-1", timeout=30) as client:
            with pytest.raises(InvalidArgumentError):
                client._call(
                    client._deliveries.ListDeliveries, deliveries_pb2.ListDeliveriesRequest()
                )  # no destination
            events = client.delivery_summary().destinations
        assert [d.destination for d in events] == [
            deliveries_pb2.DELIVERY_DESTINATION_CREDIT,
            deliveries_pb2.DELIVERY_DESTINATION_EVENTS,
        ]
    finally:
        served.running.stop(grace=1)


def test_a_bad_credit_endpoint_stops_the_server_at_start(database_url: str) -> None:
    settings = Settings(
        database_url=database_url,
        rules_path=RULES,
        address="127.0.0.1:0",
        auth="off",
        draw_process="off",
        credit_url="ftp://credit.example/records",
    )
    with pytest.raises(ValueError, match="DUALDRAW_CREDIT_URL"):
        create_server(settings)
