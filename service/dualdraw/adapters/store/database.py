"""Engines and schema management: ``create_engine``, ``migrate``, ``current_revision``, ``truncate_all``.

URLs: ``sqlite:///path.db`` (the embedded default) or PostgreSQL. ``postgresql://`` and ``postgres://`` are
rewritten to ``postgresql+psycopg://`` (psycopg 3, the only PostgreSQL driver we ship).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Engine, make_url

from dualdraw.adapters.store.models import Base
from dualdraw.domain.errors import Unavailable

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
SqliteBegin = Literal["IMMEDIATE", "DEFERRED"]
SQLITE_BEGIN_KEY = "dualdraw_sqlite_begin"
"""Key of a SQLite DBAPI connection's info dict: how its transactions begin (``SqliteBegin``)."""


def database_url(url: str | URL) -> URL:
    """``url`` parsed, with PostgreSQL pointed at the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_engine(
    url: str | URL,
    *,
    sqlite_begin: SqliteBegin = "IMMEDIATE",
    sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    **options: Any,
) -> Engine:
    """An engine for ``url``; ``options`` go to ``sqlalchemy.create_engine``.

    SQLite connections get ``foreign_keys=ON``, WAL journaling and a busy timeout (how long a transaction
    waits for another one's lock before failing as ``Unavailable``), and every transaction
    starts with ``BEGIN <sqlite_begin>``. ``IMMEDIATE`` (the default) takes the write lock up front, so
    transactions run one at a time and queue on the busy timeout: concurrent draws of one task see each
    other's result instead of failing. ``DEFERRED`` lets readers run beside a writer, but a transaction that
    reads and then writes fails (as ``Unavailable``) when another one wrote in between.
    PostgreSQL engines ping connections before handing them out.
    """
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(parsed, **options)
        _configure_sqlite(engine, sqlite_begin, sqlite_busy_timeout_ms)
        return engine
    options.setdefault("pool_pre_ping", True)
    return sa.create_engine(parsed, **options)


def _configure_sqlite(engine: Engine, begin: SqliteBegin, busy_timeout_ms: int) -> None:
    begin_statement = f"BEGIN {begin}"

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        record.info[SQLITE_BEGIN_KEY] = begin  # draws check that they hold the writer lock (IMMEDIATE)
        # Take transaction control from the sqlite3 module (it would not BEGIN before a SELECT, and its
        # implicit transactions break SAVEPOINT); SQLAlchemy's "begin" event below issues BEGIN instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode=WAL")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            connection.exec_driver_sql(begin_statement)


def database_unavailable(detail: object) -> Unavailable:
    """The domain error for a database that cannot serve now (``detail``: what the driver said)."""
    return Unavailable(f"the database cannot serve now: {detail}", reason="DATABASE_UNAVAILABLE")


def alembic_config(url: str | URL | None = None) -> Config:
    """A programmatic Alembic configuration whose scripts are the package's ``store/migrations``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        rendered = database_url(url).render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def migrate(url: str | URL, revision: str = "head") -> None:
    """Upgrades the database at ``url`` to ``revision`` (default: the newest). Idempotent."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def current_revision(url: str | URL) -> str | None:
    """The Alembic revision the database at ``url`` is at; ``None`` when it was never migrated."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """The newest revision shipped with this package."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def truncate_all(url: str | URL) -> None:
    """Empties every table of the schema and restarts its sequences (for tests). Keeps the revision."""
    engine = create_engine(url)
    tables = [table.name for table in Base.metadata.sorted_tables]
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                names = ", ".join(engine.dialect.identifier_preparer.quote(name) for name in tables)
                connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            else:
                for name in reversed(tables):
                    connection.execute(sa.table(name).delete())
                has_sequences = connection.exec_driver_sql(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'"
                ).first()
                if has_sequences:
                    connection.exec_driver_sql("DELETE FROM sqlite_sequence")
    finally:
        engine.dispose()
