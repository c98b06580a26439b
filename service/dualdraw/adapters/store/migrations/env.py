"""Alembic environment for dualdraw: runs the revisions in ``versions/`` on SQLite or PostgreSQL.

``dualdraw.adapters.store.database.migrate`` hands over an open connection in
``config.attributes["connection"]``.
From the command line (``alembic -c service/dualdraw/adapters/store/migrations/alembic.ini upgrade head``)
the URL is
``DUALDRAW_DATABASE_URL`` or, failing that, ``sqlalchemy.url`` of the ini file.

On SQLite the migration runs in one transaction with foreign keys off (batch mode copies tables, which
must not cascade), and ``PRAGMA foreign_key_check`` must come back empty before it commits.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from dualdraw.adapters.store.database import create_engine
from dualdraw.adapters.store.models import Base

config = context.config
target_metadata = Base.metadata


def _set_sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    # A PRAGMA inside a transaction is ignored, so it goes straight to the driver before BEGIN.
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def run_migrations(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _set_sqlite_foreign_keys(connection, False)
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            transactional_ddl=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left foreign keys broken: {broken[:10]}")
    finally:
        if sqlite:
            _set_sqlite_foreign_keys(connection, True)


def run_migrations_offline() -> None:
    context.configure(
        url=os.environ.get("DUALDRAW_DATABASE_URL") or config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    url = os.environ.get("DUALDRAW_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set DUALDRAW_DATABASE_URL or sqlalchemy.url to the database to migrate")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            run_migrations(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
