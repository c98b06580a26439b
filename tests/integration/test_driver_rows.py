"""Large reads through the driver's cursor (``adapters/store/driver_rows.py``) give exactly the rows
SQLAlchemy gives, batch by batch, on both databases: escaped ``LIKE`` patterns, expanded ``IN`` lists,
quotes and non-ASCII text bound as SQLAlchemy binds them; parameters that need SQLAlchemy are refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from dualdraw.adapters.store import driver_rows

METADATA = sa.MetaData()
PLACES = sa.Table(
    "driver_rows_places",
    METADATA,
    sa.Column("code", sa.String, primary_key=True),
    sa.Column("region", sa.String),
    sa.Column("name", sa.Text),
    sa.Column("size", sa.Integer),
)
ROWS = [
    ("A1", "13_%", "plain", 1),
    ("A2", "13ab", 'it\'s "quoted"', 2),
    ("A3", "13_x", "西湖所", 3),
    ("A4", "14", "back\\slash %s %%", 4),
    ("A5", "13_%9", "", 5),
]


@pytest.fixture
def connection(database_url: str) -> Iterator[sa.Connection]:
    engine = sa.create_engine(database_url)
    METADATA.drop_all(engine)
    METADATA.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            PLACES.insert(), [dict(zip(("code", "region", "name", "size"), r, strict=True)) for r in ROWS]
        )
    with engine.connect() as conn, conn.begin():
        yield conn
    METADATA.drop_all(engine)
    engine.dispose()


STATEMENTS = [
    sa.select(PLACES.c.code, PLACES.c.name).order_by(PLACES.c.code),
    sa.select(PLACES.c.code, PLACES.c.size).where(PLACES.c.region.startswith("13_%", autoescape=True)),
    sa.select(PLACES.c.code).where(PLACES.c.name.in_(["西湖所", 'it\'s "quoted"', "back\\slash %s %%"])),
    sa.select(PLACES.c.code, PLACES.c.region).where(
        PLACES.c.region == "13_%", PLACES.c.code.in_(["A1", "A2"])
    ),
    sa.select(PLACES.c.code).where(PLACES.c.name.in_([])),
]


@pytest.mark.parametrize("stmt", STATEMENTS)
@pytest.mark.parametrize("size", [1, 2, 1000])
def test_the_driver_gives_sqlalchemys_rows(
    connection: sa.Connection, stmt: sa.Select[tuple[str]], size: int
) -> None:
    expected = sorted(tuple(row) for row in connection.execute(stmt))
    batches = list(driver_rows.batches(connection, stmt, size))
    assert all(0 < len(batch) <= size for batch in batches)
    assert sorted(row for batch in batches for row in batch) == expected
    assert all(type(row) is tuple for batch in batches for row in batch)


def test_the_rows_are_read_in_the_connections_transaction(connection: sa.Connection) -> None:
    connection.execute(PLACES.insert().values(code="B1", region="13_%", name="new", size=9))
    stmt = sa.select(PLACES.c.code).where(PLACES.c.region.startswith("13_%", autoescape=True))
    assert sorted(row for batch in driver_rows.batches(connection, stmt, 10) for row in batch) == [
        ("A1",),
        ("A5",),
        ("B1",),
    ]


def test_a_parameter_that_is_not_text_is_refused(connection: sa.Connection) -> None:
    with pytest.raises(TypeError, match="not text"):
        next(driver_rows.batches(connection, sa.select(PLACES.c.code).where(PLACES.c.size > 2), 10))


def test_a_read_left_before_its_end_frees_the_connection(
    database_url: str, connection: sa.Connection
) -> None:
    """A draw that fails while it reads its objects rolls back and goes on with the same connection: the
    read it left holds nothing (on PostgreSQL its stream's query is cancelled, the rest discarded)."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = driver_rows.batches(conn, sa.select(PLACES.c.code).order_by(PLACES.c.code), 2)
            assert next(rows) == [("A1",), ("A2",)]
            rows.close()
            conn.rollback()
            assert conn.execute(sa.select(sa.func.count()).select_from(PLACES)).scalar_one() == 5
            # and a read to its end after it
            assert [r for batch in driver_rows.batches(conn, sa.select(PLACES.c.code), 2) for r in batch]
    finally:
        engine.dispose()
