"""Deadlines and cancellation of writes: a draw whose caller cancels before its commit writes nothing (in the
server process and in the draw process); a draw whose deadline passes after its commit is sent again by the
client with the same request_id and answered once, from one write."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from dualdraw.adapters.store.ledger import LEDGER
from dualdraw.entrypoints.grpc.server import RunningServer, create_server
from dualdraw.runtime.crashpoints import PAUSE_ENV
from dualdraw.runtime.telemetry import DRAW_METHOD
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.settings import Settings
from dualdraw.v1 import draws_pb2, draws_pb2_grpc, tasks_pb2
from dualdraw_client import DualdrawClient
from dualdraw_client.dates import date_pb
from dualdraw_client.decimals import decimal_pb
from tests.e2e.conftest import RULES

TASK = tasks_pb2.Task(item_code="TS-SE-01", department_id="130273-GXQ", ratio=decimal_pb("0.1"), team_size=2)
AS_OF = "2026-12-01"
ACTOR = (("x-dualdraw-actor", "e2e-tester"),)

PausedServer = Callable[[str], tuple[RunningServer, Path]]


@pytest.fixture(params=["off", "on"], ids=["in-server", "in-draw-process"])
def paused_server(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PausedServer]:
    """Starts a server with the demo whose draws wait at the named point until the returned path exists
    (``dualdraw.runtime.crashpoints``); draws run in the server or in its draw process."""
    servers: list[RunningServer] = []

    def start(point: str) -> tuple[RunningServer, Path]:
        release = tmp_path / "release"
        monkeypatch.setenv(PAUSE_ENV, f"{point}={release}")  # before the draw process is spawned
        settings = Settings(
            database_url=database_url,
            rules_path=RULES,
            address="127.0.0.1:0",
            rule_timeout_s=60,
            auth="off",
            allow_local_entropy=True,  # development mode: the one-step draw uses a local secret
            draw_process=request.param,
        )
        running = create_server(settings)
        servers.append(running)
        load_demo(running.services.unit_of_work)
        return running, release

    try:
        yield start
    finally:
        for path in tmp_path.glob("release*"):
            path.touch()
        for running in servers:
            running.stop(grace=1)


def _reached(release: Path, within_s: float = 60.0) -> None:
    reached = release.with_name(release.name + ".reached")
    give_up = time.monotonic() + within_s
    while not reached.exists():
        assert time.monotonic() < give_up, "the draw never reached its pause point"
        time.sleep(0.02)


def _draw_calls(code: str) -> float:
    return REGISTRY.get_sample_value("dualdraw_rpc_seconds_count", {"method": DRAW_METHOD, "code": code}) or 0


def _ledger_rows(running: RunningServer, request_id: str) -> int:
    with running.store.engine.connect() as connection:
        query = sa.select(sa.func.count()).select_from(LEDGER).where(LEDGER.c.request_id == request_id)
        return int(connection.execute(query).scalar_one())


def test_a_draw_cancelled_before_its_commit_writes_nothing_and_its_retry_draws_once(
    paused_server: PausedServer,
) -> None:
    running, release = paused_server("draw.before_commit")
    target = f"127.0.0.1:{running.port}"
    with DualdrawClient(target, actor="e2e-tester", timeout=60) as client:
        task = client.create_task(TASK)
        cancelled_before = _draw_calls("CANCELLED")
        with grpc.insecure_channel(target) as channel:
            request = draws_pb2.DrawRequest(
                task_id=task.id, as_of=date_pb(AS_OF), request_id="draw-then-cancel"
            )
            call = draws_pb2_grpc.DrawServiceStub(channel).Draw.future(request, timeout=60, metadata=ACTOR)
            _reached(release)  # everything is written but not committed
            assert call.cancel()
            if running.draw_process is not None:  # the server tells the draw process
                give_up = time.monotonic() + 10
                while not running.draw_process._cancelled.is_set():
                    assert time.monotonic() < give_up, "the draw process was not told"
                    time.sleep(0.02)
            else:
                time.sleep(0.5)  # the cancellation reaches the server over loopback
            release.touch()
            give_up = time.monotonic() + 30
            while _draw_calls("CANCELLED") == cancelled_before:  # the server answered the call CANCELLED
                assert time.monotonic() < give_up, "the server did not end the call as cancelled"
                time.sleep(0.02)
        assert client.get_task(task.id).draw_id == ""
        assert len(client.list_draws(task_id=task.id).draws) == 0
        assert _ledger_rows(running, "draw-then-cancel") == 0
        drawn = client.draw(task.id, AS_OF, request_id="draw-then-cancel")  # past the pause point now
        assert client.get_task(task.id).draw_id == drawn.id
        assert _ledger_rows(running, "draw-then-cancel") == 1


def test_a_draw_whose_deadline_passed_after_its_commit_is_retried_and_answered_once(
    paused_server: PausedServer,
) -> None:
    running, release = paused_server("draw.after_commit")
    target = f"127.0.0.1:{running.port}"
    with DualdrawClient(target, actor="e2e-tester", timeout=60) as setup:
        task = setup.create_task(TASK)

    def release_after_the_first_deadline() -> None:
        _reached(release)
        time.sleep(2.5)  # the first attempt (2 s, sent before the pause) has run out by now
        release.touch()

    releaser = threading.Thread(target=release_after_the_first_deadline, daemon=True)
    releaser.start()
    calls_before = sum(_draw_calls(code) for code in ("OK", "DEADLINE_EXCEEDED", "CANCELLED"))
    with DualdrawClient(target, actor="e2e-tester", timeout=2.0, attempts=4) as client:
        drawn = client.draw(task.id, AS_OF, request_id="draw-past-its-deadline")
        releaser.join()
        assert client.get_task(task.id).draw_id == drawn.id
        assert len(client.list_draws(task_id=task.id).draws) == 1
    assert _ledger_rows(running, "draw-past-its-deadline") == 1
    give_up = time.monotonic() + 10  # the server ends the first call once it is released
    while sum(_draw_calls(code) for code in ("OK", "DEADLINE_EXCEEDED", "CANCELLED")) < calls_before + 2:
        assert time.monotonic() < give_up, "the client did not send the draw again"
        time.sleep(0.02)
