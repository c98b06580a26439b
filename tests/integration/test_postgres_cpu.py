"""The benchmarks' count of PostgreSQL's CPU seconds (``bench.cpu.postgres_cpu_s``) includes the work of a
connection that has ended: its backend's time reaches the count through the postmaster that reaped it,
as a one-query draw's does."""

from __future__ import annotations

import os
import time

import pytest
import sqlalchemy as sa
from bench.cpu import postgres_cpu_s, read_ticks


def test_the_work_of_an_ended_connection_is_counted(request: pytest.FixtureRequest) -> None:
    url: str = request.getfixturevalue("_postgres_url")  # PostgreSQL only: its server's processes
    before = postgres_cpu_s()
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        backend = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        connection.execute(sa.text("SELECT count(*) FROM generate_series(1, 5000000)")).scalar_one()
        worked = read_ticks(backend)
    engine.dispose()  # the backend ends
    assert worked is not None
    assert worked.own > 0
    deadline = time.monotonic() + 10
    while read_ticks(backend) is not None and time.monotonic() < deadline:
        time.sleep(0.05)  # until the postmaster has reaped it
    assert read_ticks(backend) is None, "the backend outlived its connection by 10 s"
    assert postgres_cpu_s() - before >= worked.own / os.sysconf("SC_CLK_TCK")
