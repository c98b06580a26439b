"""The migrations against the models, and the schema helpers, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url

from dualdraw.adapters.store import (
    Store,
    create_engine,
    current_revision,
    head_revision,
    migrate,
    truncate_all,
)
from dualdraw.adapters.store.database import alembic_config
from dualdraw.adapters.store.database import database_url as normalised_url
from dualdraw.adapters.store.models import Base
from dualdraw.adapters.store.object_profiles import profile_key
from dualdraw.domain.jurisdiction import ObjectFilter
from dualdraw.domain.model import AuditRecord, DrawObject, ObjectProfile


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_check_constraints_and_server_defaults_match_the_models(database_url: str) -> None:
    """What ``compare_metadata`` leaves out: check-constraint names and the columns with a server default."""
    wanted_checks = {
        (table.name, str(constraint.name))
        for table in Base.metadata.tables.values()
        for constraint in table.constraints
        if isinstance(constraint, sa.CheckConstraint)
    }
    wanted_defaults = {
        (table.name, column.name)
        for table in Base.metadata.tables.values()
        for column in table.columns
        if column.server_default is not None
    }
    engine = create_engine(database_url)
    try:
        inspector = sa.inspect(engine)
        tables = [name for name in inspector.get_table_names() if name != "alembic_version"]
        checks = {
            (name, str(check["name"])) for name in tables for check in inspector.get_check_constraints(name)
        }
        defaults = {
            (name, column["name"])
            for name in tables
            for column in inspector.get_columns(name)
            if column.get("default") is not None and column.get("autoincrement") is not True
        }
    finally:
        engine.dispose()
    assert checks == wanted_checks
    assert defaults == wanted_defaults


def test_every_model_table_is_migrated(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(Base.metadata.tables) | {"alembic_version"} == tables


def test_migrate_is_idempotent_and_reports_the_head(database_url: str) -> None:
    assert head_revision() == "packed_lists"
    assert current_revision(database_url) == head_revision()
    migrate(database_url)
    assert current_revision(database_url) == head_revision()


def test_a_fresh_sqlite_file_migrates_with_foreign_keys_and_wal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert current_revision(url) is None
    migrate(url)
    assert current_revision(url) == head_revision()
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    finally:
        engine.dispose()


def test_the_migration_downgrades_to_nothing_and_upgrades_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'down.db'}"
    migrate(url)
    command.downgrade(alembic_config(url), "base")
    engine = create_engine(url)
    try:
        assert sa.inspect(engine).get_table_names() == ["alembic_version"]
    finally:
        engine.dispose()
    assert current_revision(url) is None
    migrate(url)
    assert current_revision(url) == head_revision()


def test_upgrading_keys_the_profiles_of_the_stored_objects(database_url: str) -> None:
    """Objects stored before profiles existed get their profile's key, one profile row per distinct set
    of attributes, and a draw reads them as it reads objects written since."""
    config = alembic_config(database_url)
    command.downgrade(config, "object_listing")
    engine = create_engine(database_url)
    attributes = [
        ("330106", "d1", "food", '["catering"]', "B", "active", "所1"),
        ("330106", "d1", "food", '["catering"]', "B", "active", "所1"),
        ("330106", "d1", "drugs", "[]", "D", "suspended", "所2"),
    ]
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO departments (id, name, parent_id, level, region_code)"
                    " VALUES ('d1', 'West', NULL, 3, '330106')"
                )
            )
            connection.execute(
                sa.text(
                    "INSERT INTO objects (credit_code, name, region_code, registering_department_id,"
                    " industry, business_lines_json, risk_class, status, office)"
                    " VALUES (:c, :n, :r, :d, :i, :b, :k, :s, :o)"
                ),
                [
                    dict(zip("rdibkso", values, strict=True), c=f"9133010{n}", n=f"企业{n}")
                    for n, values in enumerate(attributes)
                ],
            )
        command.upgrade(config, "head")
        with engine.connect() as connection:
            keys = connection.execute(
                sa.text("SELECT profile_key FROM objects ORDER BY credit_code")
            ).scalars()
            profiles = connection.execute(sa.text("SELECT * FROM object_profiles ORDER BY profile_key")).all()
        assert list(keys) == [profile_key(values) for values in attributes]
        assert [tuple(p) for p in profiles] == sorted({(profile_key(v), *v) for v in attributes})
        store = Store(create_engine(database_url))
        try:
            with store.unit_of_work() as uow:
                flt = ObjectFilter(department_ids=frozenset({"d1"}), active_only=False)
                assert list(uow.directory.draw_objects_matching(flt)) == [
                    DrawObject(o.credit_code, ObjectProfile.of(o))
                    for o in uow.directory.objects_matching(flt)
                ]
        finally:
            store.dispose()
    finally:
        engine.dispose()
        migrate(database_url)


def test_truncate_all_empties_tables_and_restarts_sequences(database_url: str) -> None:
    now = dt.datetime.now(dt.UTC)
    store = Store.from_url(database_url)
    try:
        for _ in range(2):
            with store.unit_of_work() as uow:
                event = uow.audit.append(
                    AuditRecord(
                        actor="a",
                        action="x",
                        resource="r",
                        occurred_at=now,
                    )
                )
                uow.commit()
            assert event.sequence == 1
            truncate_all(database_url)
    finally:
        store.dispose()
    assert current_revision(database_url) == head_revision()


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_postgresql_urls_use_psycopg(given: str, driver: str) -> None:
    assert normalised_url(given).drivername == driver
    assert normalised_url(make_url(given)).drivername == driver
