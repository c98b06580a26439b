"""Idempotent writes: a retried request returns the first response; concurrent draws make one draw.

The multi-process test starts three ``dualdraw serve`` processes on one PostgreSQL database and sends
twenty concurrent ``Draw`` calls for one task across them, half with one shared request id, half with
their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from dualdraw.adapters.store.unit_of_work import Store
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.v1 import tasks_pb2
from dualdraw_client import DualdrawClient
from dualdraw_client.decimals import decimal_pb
from dualdraw_client.errors import DualdrawError, InvalidArgumentError
from tests.e2e.conftest import Served
from tests.e2e.server_processes import server_processes

TASK = tasks_pb2.Task(item_code="TS-SE-01", department_id="130273-GXQ", ratio=decimal_pb("0.1"), team_size=2)


def _count(url: str, table: str, where: str = "") -> int:
    engine = sa.create_engine(url.replace("postgresql+psycopg", "postgresql+psycopg"))
    try:
        with engine.connect() as connection:
            return int(connection.exec_driver_sql(f"SELECT count(*) FROM {table} {where}").scalar_one())
    finally:
        engine.dispose()


def test_a_retried_create_returns_the_first_response_and_writes_once(
    demo_served: Served, client: DualdrawClient, database_url: str
) -> None:
    before = _count(database_url, "tasks")
    first = client.create_task(TASK, request_id="retry-1")
    again = client.create_task(TASK, request_id="retry-1")
    assert again == first
    assert _count(database_url, "tasks") == before + 1
    other = client.create_task(TASK, request_id="retry-2")
    assert other.id != first.id
    changed = tasks_pb2.Task(
        item_code="TS-SE-01", department_id="130273-GXQ", ratio=decimal_pb("0.2"), team_size=2
    )
    with pytest.raises(InvalidArgumentError) as caught:
        client.create_task(changed, request_id="retry-1")
    assert [v.field for v in caught.value.field_violations] == ["request_id"]


def _concurrent_draws(targets: list[str], task_id: str) -> list[tuple[str, str]]:
    """Twenty concurrent draws of ``task_id`` over ``targets``: (request id, draw id or error reason)."""
    request_ids = ["shared"] * 10 + [f"own-{n}" for n in range(10)]

    def one(n: int) -> tuple[str, str]:
        with DualdrawClient(targets[n % len(targets)], actor="racer", timeout=120) as c:
            try:
                return request_ids[n], c.draw(task_id, "2026-12-01", request_ids[n]).id
            except DualdrawError as error:
                return request_ids[n], f"error:{error.reason}"

    with ThreadPoolExecutor(max_workers=20) as pool:
        return list(pool.map(one, range(20)))


def _check_one_draw(outcomes: list[tuple[str, str]], url: str, task_id: str) -> None:
    assert _count(url, "draws", f"WHERE task_id = '{task_id}'") == 1
    drawn = {d for _, d in outcomes if not d.startswith("error:")}
    assert len(drawn) == 1, outcomes
    assert {d for _, d in outcomes if d.startswith("error:")} <= {"error:DRAW_EXISTS"}, outcomes
    shared = {d for r, d in outcomes if r == "shared"}
    assert len(shared) == 1, outcomes  # every retry of one request gets one and the same answer


def test_twenty_concurrent_draws_of_one_task_make_one_draw(
    demo_served: Served, client: DualdrawClient, database_url: str
) -> None:
    task = client.create_task(TASK)
    outcomes = _concurrent_draws([demo_served.target], task.id)
    _check_one_draw(outcomes, database_url, task.id)


@pytest.fixture
def three_servers(database_url: str) -> Iterator[list[str]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("several server processes share one PostgreSQL database")
    store = Store.from_url(database_url)
    load_demo(store.unit_of_work)
    store.dispose()
    with server_processes(database_url, 3) as targets:
        yield targets


@pytest.mark.slow
def test_twenty_concurrent_draws_across_three_server_processes_make_one_draw(
    three_servers: list[str], database_url: str
) -> None:
    with DualdrawClient(three_servers[0], actor="racer", timeout=60) as c:
        task = c.create_task(TASK)
    outcomes = _concurrent_draws(three_servers, task.id)
    _check_one_draw(outcomes, database_url, task.id)
