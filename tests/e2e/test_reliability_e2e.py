"""Reliability over real gRPC: a crashing rules worker, graceful shutdown, backup and restore."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from dualdraw.adapters.store.backup import backup_sqlite, restore_sqlite
from dualdraw.adapters.worker_process import WorkerProcess
from dualdraw.v1 import tasks_pb2
from dualdraw_client import DualdrawClient
from dualdraw_client.decimals import decimal_pb
from dualdraw_client.errors import DualdrawError
from tests.e2e.conftest import Served

TASK = tasks_pb2.Task(item_code="TS-SE-01", department_id="130273-GXQ", ratio=decimal_pb("0.1"), team_size=2)


@pytest.mark.draws_in_process  # reaches into the server's own rules engine
def test_a_worker_that_crashes_mid_evaluation_gives_unavailable_and_the_server_keeps_serving(
    demo_served: Served, client: DualdrawClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = client.create_task(TASK)
    original = WorkerProcess.send

    def crash_then_send(self: Any, message: object) -> None:
        os.kill(self.process.pid, signal.SIGKILL)  # what a segfault inside durable_rules looks like
        self.process.join(5)
        original(self, message)

    monkeypatch.setattr(WorkerProcess, "send", crash_then_send)
    with pytest.raises(DualdrawError) as caught:
        client.draw(task.id, "2026-12-01")
    assert caught.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL)
    monkeypatch.setattr(WorkerProcess, "send", original)
    assert client.get_task(task.id).draw_id == ""  # nothing half-written
    drawn = client.draw(task.id, "2026-12-01")  # a fresh worker serves the retry
    assert drawn.task_id == task.id


@pytest.mark.draws_in_process  # changes the server's own rules engine
def test_a_hanging_worker_hits_the_time_limit(demo_served: Served, client: DualdrawClient) -> None:
    engine = demo_served.running.services.engine
    task = client.create_task(TASK)
    limit, engine.timeout_s = engine.timeout_s, 1e-6
    try:
        with pytest.raises(DualdrawError) as caught:
            client.draw(task.id, "2026-12-01")
    finally:
        engine.timeout_s = limit
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    assert client.draw(task.id, "2026-12-01").task_id == task.id


def test_graceful_shutdown_turns_health_off_first_and_finishes_the_call_in_flight(
    demo_served: Served,
) -> None:
    target = demo_served.target
    with DualdrawClient(target, actor="t", timeout=120) as client:
        task = client.create_task(TASK)
        outcome: list[object] = []
        call = threading.Thread(target=lambda: outcome.append(client.draw(task.id, "2026-12-01")))
        call.start()
        time.sleep(0.3)  # the draw is running
        stopper = threading.Thread(target=lambda: demo_served.running.stop(grace=60))
        stopper.start()
        time.sleep(0.1)
        with grpc.insecure_channel(target) as channel:
            try:
                status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
                serving = status.status == health_pb2.HealthCheckResponse.SERVING
            except grpc.RpcError:  # already refusing new calls: also not serving
                serving = False
        assert not serving
        call.join()
        stopper.join()
    assert outcome
    assert getattr(outcome[0], "task_id", "") == task.id


def test_backup_and_restore_of_the_sqlite_database(
    demo_served: Served, database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("backup/restore is for the SQLite default (PostgreSQL has pg_dump)")
    with DualdrawClient(demo_served.target, actor="t") as client:
        kept = client.create_task(TASK)
        backup_sqlite(database_url, tmp_path / "backup.db")  # online, while serving
        lost = client.create_task(TASK)
    demo_served.running.stop(grace=1)
    restore_sqlite(tmp_path / "backup.db", database_url)
    import sqlite3

    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
        ids = {row[0] for row in db.execute("SELECT id FROM tasks")}
    assert kept.id in ids
    assert lost.id not in ids
    with pytest.raises(FileExistsError):
        backup_sqlite(database_url, tmp_path / "backup.db")
