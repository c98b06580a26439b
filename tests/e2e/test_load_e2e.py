"""The load test harness (``bench/load.py``) in miniature: a few clients for a few seconds on PostgreSQL
report zero unexpected errors and zero lost writes, and its lost-write check does catch a missing write."""

from __future__ import annotations

import json
import os

import pytest
import sqlalchemy as sa
from bench import load
from bench.run import bench_database_name
from sqlalchemy.engine import make_url


@pytest.mark.slow
@pytest.mark.postgres
def test_a_short_load_run_loses_nothing_and_the_check_catches_a_lost_write(
    request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    server: str = request.getfixturevalue("_postgres_url")  # skips (or fails when required) without one
    tag = f"load_smoke_{os.getpid()}"
    argv = ["--duration", "4", "--clients", "6", "--objects", "600", "--no-results-file"]
    code = load.main([*argv, "--database-url", server, "--tag", tag])
    report = json.loads(capsys.readouterr().out)
    name = bench_database_name(server, tag)
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        assert code == 0, report
        assert report["verdict"] == "PASS"
        assert report["errors_unexpected"] == {}
        assert report["acknowledged"]["objects"] > 0
        assert report["acknowledged"]["draws"] > 0
        assert set(report["errors_expected"]) <= {
            "GetObject(unknown) NOT_FOUND",
            "Draw(again) ALREADY_EXISTS",
        }
        assert report["audit_log"]["ok"]
        lost = load.Shared(objects={"91130100MA0000000X"}, tasks={"t-gone"}, draws={"d-gone": ("t-gone", 1)})
        found = load.lost_writes(url, lost)
        assert (found["objects_missing"], found["tasks_missing"], found["draws_missing"]) == (
            ["91130100MA0000000X"],
            ["t-gone"],
            ["d-gone"],
        )
    finally:
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
