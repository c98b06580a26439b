"""Bulk writes: many rows per round trip, on SQLite and PostgreSQL.

``upsert`` is ``INSERT ... ON CONFLICT (primary key) DO UPDATE``; ``insert`` is a plain ``INSERT``. Both
run as Core ``executemany`` batches; on PostgreSQL ``COPY_THRESHOLD`` rows or more are streamed with ``COPY``
instead (several times faster), into a temporary table first for an upsert. Rows are dicts keyed by column
name and pass through each column type's bind processing either way; ``upsert_tuples`` takes tuples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from operator import itemgetter
from typing import Any, TypeVar, cast

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from dualdraw.adapters.store.copy_text import rows_text

T = TypeVar("T")
Values = dict[str, Any]

WRITE_BATCH = 5_000  # rows per executemany call
COPY_THRESHOLD = 1_000  # PostgreSQL writes of at least this many rows go through COPY
ANALYZE_THRESHOLD = 10_000  # PostgreSQL upserts of at least this many rows refresh the table's statistics


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def upsert(connection: sa.Connection, table: sa.Table, rows: Sequence[Values]) -> None:
    """Inserts ``rows`` or replaces the stored rows with the same primary key (unique within ``rows``).

    A row equal to the stored one is left untouched, so re-importing unchanged data writes nothing.
    """
    if not rows:
        return
    dialect = connection.dialect.name
    if dialect == "postgresql" and len(rows) >= COPY_THRESHOLD:
        names = [column.name for column in table.columns]
        _copy_upsert(connection, table, names, list(_processed(connection, table, names, rows)))
        _analyze_after(connection, table, len(rows))
        return
    if dialect == "postgresql":
        stmt: sa.Insert = _on_conflict_update(table, postgresql.insert(table))
    elif dialect == "sqlite":
        stmt = _on_conflict_update(table, sqlite.insert(table))
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(f"no upsert for dialect {dialect}")
    for batch in batches(rows, WRITE_BATCH):
        connection.execute(stmt, list(batch))


def upsert_tuples(
    connection: sa.Connection,
    table: sa.Table,
    names: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    key_ordered: bool = False,
) -> None:
    """``upsert`` for rows given as tuples of the columns ``names`` (all of ``table``'s), which saves
    building a dict per row: a million-object import streams its tuples to ``COPY`` as they are.
    ``key_ordered``: the rows ascend by primary key already (else they are sorted first)."""
    if connection.dialect.name != "postgresql" or len(rows) < COPY_THRESHOLD:
        upsert(connection, table, [dict(zip(names, row, strict=True)) for row in rows])
        return
    _require_every_column("upsert_tuples", table, names)
    if not key_ordered:
        # In primary-key order the key index grows at its right edge: a tenth off the COPY of 100k objects.
        key = itemgetter(*(names.index(column.name) for column in table.primary_key.columns))
        rows = sorted(rows, key=key)
    if any(table.columns[name].type.bind_processor(connection.dialect) for name in names):
        dicts = (dict(zip(names, row, strict=True)) for row in rows)
        _copy_upsert(connection, table, names, list(_processed(connection, table, names, dicts)))
    else:
        _copy_upsert(connection, table, names, rows)
    _analyze_after(connection, table, len(rows))


def _analyze_after(connection: sa.Connection, table: sa.Table, count: int) -> None:
    if count >= ANALYZE_THRESHOLD:
        # Fresh statistics: right after a bulk load the planner would otherwise take the table for
        # empty and pick nested loops (a 100k-object draw's side-fact query took 15 s instead of 5 ms).
        connection.execute(sa.text(f"ANALYZE {connection.dialect.identifier_preparer.quote(table.name)}"))


def insert(connection: sa.Connection, table: sa.Table, rows: Sequence[Values]) -> None:
    """Inserts ``rows``; a key that exists already raises ``IntegrityError``."""
    if not rows:
        return
    if connection.dialect.name == "postgresql" and len(rows) >= COPY_THRESHOLD:
        names = [column.name for column in table.columns]
        with _driver_cursor(connection) as cursor:
            _copy(connection, cursor, table.name, names, _processed(connection, table, names, rows))
        return
    for batch in batches(rows, WRITE_BATCH):
        connection.execute(sa.insert(table), list(batch))


def insert_tuples(
    connection: sa.Connection, table: sa.Table, names: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """``insert`` for rows given as tuples of the columns ``names`` (all of ``table``'s): on PostgreSQL
    they go to ``COPY`` as they are, with no dict per row (a 1M draw stores 59k exclusions)."""
    if not rows:
        return
    if connection.dialect.name != "postgresql" or len(rows) < COPY_THRESHOLD:
        insert(connection, table, [dict(zip(names, row, strict=True)) for row in rows])
        return
    _require_every_column("insert_tuples", table, names)
    types = [table.columns[name].type for name in names]
    if any(t.bind_processor(connection.dialect) and not isinstance(t, sa.Boolean) for t in types):
        insert(connection, table, [dict(zip(names, row, strict=True)) for row in rows])
        return
    with _driver_cursor(connection) as cursor:
        _copy(connection, cursor, table.name, names, _as_text(rows, types))


def _require_every_column(what: str, table: sa.Table, names: Sequence[str]) -> None:
    """Raises ``ValueError`` unless ``names`` are the columns of ``table`` (``COPY`` writes whole rows)."""
    if sorted(names) != sorted(column.name for column in table.columns):
        raise ValueError(f"{what} needs every column of {table.name}, got {names}")


_BOOLEAN_TEXT = {True: "t", False: "f"}


def _as_text(
    rows: Sequence[tuple[Any, ...]], types: Sequence[sa.types.TypeEngine[Any]]
) -> Sequence[Sequence[Any]]:
    """``rows`` with their integer and boolean columns written as ``COPY``'s text format reads them, column
    by column at C speed, so that ``rows_text`` can join them (a 1M draw copies 92k team members)."""
    converted = [
        str if isinstance(t, sa.Integer) else _BOOLEAN_TEXT.__getitem__ if isinstance(t, sa.Boolean) else None
        for t in types
    ]
    if not rows or not any(converted):
        return rows
    pairs = list(zip(zip(*rows, strict=True), converted, strict=True))
    if any(convert is not None and None in column for column, convert in pairs):
        return rows  # NULL is psycopg's to write
    written = [column if convert is None else list(map(convert, column)) for column, convert in pairs]
    return list(zip(*written, strict=True))


def _on_conflict_update(table: sa.Table, stmt: postgresql.Insert | sqlite.Insert) -> sa.Insert:
    key = [column.name for column in table.primary_key.columns]
    others = [column for column in table.columns if column.name not in key]
    return stmt.on_conflict_do_update(
        index_elements=key,
        set_={column.name: stmt.excluded[column.name] for column in others},
        where=sa.or_(*(column.is_distinct_from(stmt.excluded[column.name]) for column in others)),
    )


@contextmanager
def _driver_cursor(connection: sa.Connection) -> Iterator[psycopg.Cursor[Any]]:
    """A cursor of the psycopg connection under ``connection`` (same transaction). Its errors come out as
    SQLAlchemy's (``IntegrityError``, ``OperationalError``, ...), like those of any other statement."""
    driver_connection = cast(psycopg.Connection[Any], connection.connection.driver_connection)
    try:
        with driver_connection.cursor() as cursor:
            yield cursor
    except psycopg.Error as exc:
        raise sa.exc.DBAPIError.instance(
            statement=None, params=None, orig=exc, dbapi_base_err=psycopg.Error
        ) from exc


def _processed(
    connection: sa.Connection, table: sa.Table, names: Sequence[str], rows: Iterable[Values]
) -> Iterator[list[Any]]:
    """``rows`` as lists of the ``names`` columns' values, each through its column type's bind processing."""
    dialect = connection.dialect
    processors = [table.columns[name].type.bind_processor(dialect) for name in names]
    columns_and_processors = list(zip(names, processors, strict=True))
    for row in rows:
        yield [row[n] if p is None else p(row[n]) for n, p in columns_and_processors]


def _copy(
    connection: sa.Connection,
    cursor: psycopg.Cursor[Any],
    into: str,
    names: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    """Streams ``rows`` (values of the columns ``names``, in that order) into the table named ``into``."""
    quote = connection.dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    with cursor.copy(f"COPY {quote(into)} ({columns}) FROM STDIN") as copy:
        write_row = copy.write_row
        source = iter(rows)
        while block := list(islice(source, COPY_BLOCK)):
            # Plain text (every value a str COPY need not escape) written in C, at a quarter of the cost of
            # write_row; anything else psycopg formats row by row. COPY stores the same values either way.
            text = rows_text(block, len(names))
            if text is not None:
                copy.write(text)
            else:
                for row in block:
                    write_row(row)


COPY_BLOCK = 10_000
"""Rows written to ``COPY``'s text at a time by ``rows_text``."""


def _copy_upsert(
    connection: sa.Connection, table: sa.Table, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """``COPY`` straight into an empty table; else into a temporary table, then one ``INSERT ... SELECT`` from
    it: a plain one when none of its keys is stored, else with ``ON CONFLICT DO UPDATE``. The shortcuts run in
    a savepoint and give way to the upsert when a concurrent writer stores one of the keys meanwhile.

    The statements are built from the schema's identifiers only, never from values.
    """
    quote = connection.dialect.identifier_preparer.quote
    key = [column.name for column in table.primary_key.columns]
    others = [quote(column.name) for column in table.columns if column.name not in key]
    staging = f"upsert_{table.name}"
    target, staged = quote(table.name), quote(staging)
    columns = ", ".join(quote(name) for name in names)
    keys = ", ".join(quote(name) for name in key)
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in others)
    current = ", ".join(f"{target}.{name}" for name in others)
    proposed = ", ".join(f"EXCLUDED.{name}" for name in others)
    insert = f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {staged}"  # noqa: S608 -- schema names only
    changed = f"({current}) IS DISTINCT FROM ({proposed})"
    upsert = f"{insert} ON CONFLICT ({keys}) DO UPDATE SET {updates} WHERE {changed}"
    with _driver_cursor(connection) as cursor:

        def copy_into_empty_table() -> None:
            bulk_check = len(rows) >= BULK_CHECK_THRESHOLD
            restore = _set_aside(cursor, target, len(rows)) if bulk_check else []
            _copy(connection, cursor, table.name, names, rows)
            for statement in restore:  # a foreign key checks every row in one query, then holds as before
                cursor.execute(statement)

        if not _exists(cursor, f"SELECT FROM {target}") and _without_conflict(cursor, copy_into_empty_table):
            return
        cursor.execute(f"CREATE TEMPORARY TABLE {staged} (LIKE {target}) ON COMMIT DROP")
        _copy(connection, cursor, staging, names, rows)
        stored = _exists(cursor, f"SELECT FROM {target} JOIN {staged} USING ({keys})")
        if stored or not _without_conflict(cursor, lambda: cursor.execute(insert)):
            cursor.execute(upsert)
        cursor.execute(f"DROP TABLE {staged}")


BULK_CHECK_THRESHOLD = 10_000
"""``COPY`` of at least this many rows into an empty PostgreSQL table checks its foreign keys in bulk."""
LOCK_WAIT = "100ms"
"""How long the bulk check waits for the locks it needs before it gives way to the row-by-row check."""


def _set_aside(cursor: psycopg.Cursor[Any], target: str, rows: int) -> list[str]:
    """Drops what makes a ``COPY`` of ``rows`` rows into the empty table ``target`` (a quoted name) slow, and
    returns the statements that restore it, to run after the ``COPY``, when the locks are free within
    ``LOCK_WAIT``; else drops nothing and returns ``[]``. Two things are set aside:

    - a foreign key whose referenced table holds fewer rows than the ``COPY`` writes. Such a key checks each
      inserted row with a query of its own (60 % of a ``COPY`` of 100,000 objects); added again, it checks all
      rows with one anti-join over the referenced table (10 ms for departments). A referenced table at least
      as large (the objects of 20,000 complaints) keeps the row-by-row check, whose look-ups lock each
      referenced row (``FOR KEY SHARE``, a write of its page: 0.55 s for 30,000 designations) unless this
      transaction already holds the referenced table alone (the objects of the same import, set aside
      themselves): then the key is added again with its check probing the referenced key's index row by row
      (``_INDEX_PROBES``, 0.2 s), not a hash join reading all of it (0.4 s);
    - the table's indexes other than its primary key and unique constraints: one ``CREATE INDEX`` sorts all
      rows at once, where the ``COPY`` would insert them into the index one by one, in random order.

    PostgreSQL's DDL is transactional, so constraints and indexes are back, under their own names and
    definitions, whatever happens: restored before this write returns, or by the rollback of the savepoint
    or the transaction. The price is the lock: the transaction holds ``ACCESS EXCLUSIVE`` on the table and on
    each referenced table until it ends, so readers of those tables wait for the rest of the import instead of
    seeing them empty (or as they were). Hence only a large write into an empty table takes this path, and it
    never waits for a lock itself: a concurrent reader or writer of these tables keeps the row-by-row check.
    (A writer that reaches one of them after the drop waits; should it hold rows this import writes later,
    PostgreSQL's deadlock check aborts one of the two after ``deadlock_timeout`` with nothing written, which
    callers see as ``UNAVAILABLE``, retryable.)
    """
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid), confrelid::regclass::text FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
        (target,),
    )
    foreign_keys = []
    for name, definition, referenced in cursor.fetchall():
        if _fewer_rows_than(cursor, str(referenced), rows):
            foreign_keys.append((str(name), str(definition), False))
        elif _held_alone(cursor, str(referenced)):
            foreign_keys.append((str(name), str(definition), True))
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND NOT i.indisunique"
        " AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
        " ORDER BY 1",
        (target,),
    )
    indexes = [(str(name), str(definition)) for name, definition in cursor.fetchall()]
    if not foreign_keys and not indexes:
        return []
    cursor.execute("SAVEPOINT bulk_foreign_keys")
    cursor.execute("SELECT current_setting('lock_timeout')")
    row = cursor.fetchone()
    cursor.execute("SELECT set_config('lock_timeout', %s, true)", (LOCK_WAIT,))
    restore = []
    try:
        for name, definition, by_index in foreign_keys:
            constraint = psycopg.sql.Identifier(name).as_string(cursor)  # the driver quotes the name
            cursor.execute(f"ALTER TABLE {target} DROP CONSTRAINT {constraint}")
            add = f"ALTER TABLE {target} ADD CONSTRAINT {constraint} {definition}"
            restore += [*_INDEX_PROBES, add, *_planner_as_it_was(cursor)] if by_index else [add]
        for name, definition in indexes:
            cursor.execute(f"DROP INDEX {name}")  # regclass text: quoted (and schema-qualified) as needed
            restore.insert(0, definition)  # indexes first: a foreign key's check may use one
    except psycopg.errors.LockNotAvailable:
        cursor.execute("ROLLBACK TO SAVEPOINT bulk_foreign_keys")  # restores lock_timeout too
        cursor.execute("RELEASE SAVEPOINT bulk_foreign_keys")
        return []
    cursor.execute("SELECT set_config('lock_timeout', %s, true)", (row[0] if row else "0",))
    cursor.execute("RELEASE SAVEPOINT bulk_foreign_keys")
    return restore


_JOINS = ("enable_hashjoin", "enable_mergejoin")
_INDEX_PROBES = [f"SELECT set_config('{setting}', 'off', true)" for setting in _JOINS]
"""Makes the check of a foreign key added again probe the referenced key's index for each row: a hash join
would read the whole referenced table (the million objects of 30,000 designations: 0.4 s against 0.2)."""


def _planner_as_it_was(cursor: psycopg.Cursor[Any]) -> list[str]:
    """The statements that set the joins of ``_INDEX_PROBES`` back to their current values."""
    restore = []
    for setting in _JOINS:
        cursor.execute("SELECT current_setting(%s)", (setting,))
        row = cursor.fetchone()
        value = psycopg.sql.Literal(str(row[0]) if row else "on").as_string(cursor)
        restore.append(f"SELECT set_config('{setting}', {value}, true)")
    return restore


def _held_alone(cursor: psycopg.Cursor[Any], table: str) -> bool:
    """Whether this transaction holds ``ACCESS EXCLUSIVE`` on the table named ``table`` (a quoted name): a
    bulk write into it set its keys aside (an import's objects), so no one else reads or writes it until the
    transaction ends, and locking it again for a foreign key's bulk check costs no one anything."""
    cursor.execute(
        "SELECT EXISTS (SELECT FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation'"
        " AND relation = %s::regclass AND mode = 'AccessExclusiveLock' AND granted)",
        (table,),
    )
    row = cursor.fetchone()
    return bool(row and row[0])


def _fewer_rows_than(cursor: psycopg.Cursor[Any], table: str, rows: int) -> bool:
    """Whether the table named ``table`` (a quoted name) holds fewer than ``rows`` rows (reads at most that
    many)."""
    cursor.execute(f"SELECT count(*) FROM (SELECT FROM {table} LIMIT %s) AS found", (rows,))  # noqa: S608 -- a catalogue name
    found = cursor.fetchone()
    return found is not None and int(found[0]) < rows


def _exists(cursor: psycopg.Cursor[Any], query: str) -> bool:
    cursor.execute(f"SELECT EXISTS ({query})")
    row = cursor.fetchone()
    return bool(row and row[0])


def _without_conflict(cursor: psycopg.Cursor[Any], write: Callable[[], object]) -> bool:
    """Runs ``write`` in a savepoint; ``False`` (and nothing written) when one of its keys was stored."""
    cursor.execute("SAVEPOINT bulk_write")
    try:
        write()
    except psycopg.errors.UniqueViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT bulk_write")
        return False
    cursor.execute("RELEASE SAVEPOINT bulk_write")
    return True
