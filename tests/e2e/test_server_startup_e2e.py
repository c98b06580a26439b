"""Start-up of the real server: one server per port, and only on a database at its schema revision."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dualdraw.entrypoints.grpc.server import create_server
from dualdraw.settings import Settings
from dualdraw_client import DualdrawClient
from tests.e2e.conftest import RULES, Served

ROOT = Path(__file__).resolve().parents[2]


def _settings(database_url: str, address: str) -> Settings:
    return Settings(
        database_url=database_url, rules_path=RULES, address=address, auth="off", draw_process="off"
    )


def test_a_second_server_on_a_held_port_fails_to_start(served: Served, database_url: str) -> None:
    with pytest.raises(OSError, match=f"cannot serve on {served.target}"):
        create_server(_settings(database_url, served.target))
    with DualdrawClient(served.target, actor="e2e-tester", timeout=10) as client:
        assert client.list_items() is not None  # the first server still answers


def test_serve_on_a_held_port_exits_with_a_clear_error(served: Served, database_url: str) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "service"), str(ROOT / "clients" / "python")]),
        "DUALDRAW_DATABASE_URL": database_url,
        "DUALDRAW_RULES_PATH": str(RULES),
        "DUALDRAW_AUTH": "off",
        "DUALDRAW_ALLOW_LOCAL_ENTROPY": "1",
        "DUALDRAW_DRAW_PROCESS": "off",
    }
    done = subprocess.run(
        [sys.executable, "-m", "dualdraw.entrypoints.cli.main", "serve", "--address", served.target],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert f"dualdraw serve: cannot serve on {served.target}" in done.stderr


def test_serve_on_a_database_of_another_schema_revision_exits_with_a_clear_error(tmp_path: Path) -> None:
    """Not migrated, or migrated to an older revision: the server says so at its start instead of failing
    at the first request that touches a changed table."""
    from alembic import command

    from dualdraw.adapters.store.database import alembic_config, head_revision

    older = f"sqlite:///{tmp_path / 'older.db'}"
    command.upgrade(alembic_config(older), "draw_row_checks")
    for url, found in (
        (f"sqlite:///{tmp_path / 'empty.db'}", "(none: never migrated)"),
        (older, "draw_row_checks"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "dualdraw.entrypoints.cli.main", "serve", "--address", "127.0.0.1:0"],
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join([str(ROOT / "service"), str(ROOT / "clients" / "python")]),
                "DUALDRAW_DATABASE_URL": url,
                "DUALDRAW_RULES_PATH": str(RULES),
                "DUALDRAW_AUTH": "off",
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert (
            f"the database is at schema revision {found}, this dualdraw's is {head_revision()}" in done.stderr
        )
        assert "`dualdraw db upgrade`" in done.stderr
