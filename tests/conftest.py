"""Shared fixtures: real databases (SQLite file and PostgreSQL) for integration and end-to-end tests.

PostgreSQL: ``DUALDRAW_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``)
names a server and a maintenance database; the suite creates its own database ``dualdraw_test_<pid>`` there,
migrates it once and empties its tables before every test. When the server cannot be reached the
PostgreSQL tests are skipped, unless ``DUALDRAW_REQUIRE_POSTGRES=1`` (set by ``.ci/run``), which makes that
a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dualdraw.adapters.store.database import migrate, truncate_all

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _postgres_required() -> bool:
    return os.environ.get("DUALDRAW_REQUIRE_POSTGRES", "") not in ("", "0", "false")


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for every test (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped at the end."""
    admin_url = make_url(os.environ.get("DUALDRAW_TEST_POSTGRES_URL", DEFAULT_PG))
    name = f"dualdraw_test_{os.getpid()}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if _postgres_required():
            pytest.fail(f"PostgreSQL is required (DUALDRAW_REQUIRE_POSTGRES=1) but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {admin_url.render_as_string()}: {exc}")
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    migrate(url)
    yield url
    with admin.connect() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each backend: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "dualdraw.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("_postgres_url")
    truncate_all(url)
    return url


# Servers started by the tests let tasks be created outside an annual plan unless a test asks for the plan
# (``Settings(plan_required="on")``, tests/e2e/test_annual_plan_e2e.py): most tests are about other things
# and draw on the demo's fixed day. Set here, before any Settings is built, so that servers the tests start
# as subprocesses inherit it too.
os.environ.setdefault("DUALDRAW_PLAN_REQUIRED", "off")
