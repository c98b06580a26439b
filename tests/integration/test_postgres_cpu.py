"""The benchmarks' count of PostgreSQL's CPU seconds (``bench.cpu.postgres_cpu_s``) includes the work of a
connection that has ended: its backend's time reaches the count through the postmaster that reaped it,
as a one-query draw's does."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from bench.cpu import postgres_cpu_s


def test_the_work_of_an_ended_connection_is_counted(request: pytest.FixtureRequest) -> None:
    url: str = request.getfixturevalue("_postgres_url")  # PostgreSQL only: its server's processes
    before = postgres_cpu_s()
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        started = time.perf_counter()
        connection.execute(sa.text("SELECT count(*) FROM generate_series(1, 5000000)")).scalar_one()
        seconds = time.perf_counter() - started
    engine.dispose()  # the backend ends
    deadline = time.monotonic() + 5
    while postgres_cpu_s() - before < seconds / 2 and time.monotonic() < deadline:
        time.sleep(0.1)  # until the postmaster has reaped it
    assert postgres_cpu_s() - before >= seconds / 2
