"""Persistence: SQLAlchemy tables, Alembic migrations and the repositories behind ``service_layer.ports``.

Start with ``Store.from_url(url)`` (one per process) and take a ``UnitOfWork`` per transaction from it;
``migrate(url)`` brings a database to the newest schema. SQLite and PostgreSQL run the same migrations.
"""

from __future__ import annotations

from dualdraw.adapters.store.database import (
    create_engine,
    current_revision,
    head_revision,
    migrate,
    truncate_all,
)
from dualdraw.adapters.store.unit_of_work import SqlUnitOfWork, Store

__all__ = [
    "SqlUnitOfWork",
    "Store",
    "create_engine",
    "current_revision",
    "head_revision",
    "migrate",
    "truncate_all",
]
