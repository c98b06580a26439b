"""What every repository shares: the session of its unit of work, keyset paging and the batch sizes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dualdraw.adapters.store.rows import Row, Values
from dualdraw.domain.errors import AlreadyExists, FieldViolation, InvalidArgument
from dualdraw.service_layer.ports import PageRequest

T = TypeVar("T")

READ_BATCH = 1_000  # keys per IN (...) list; far below SQLite's and PostgreSQL's parameter limits
STREAM_BATCH = 10_000  # rows fetched at a time by the large reads
_FROM_PAGE: Any = object()  # "take the keyset position from PageRequest.after as is"


def last_per_key(items: Iterable[T], key: Callable[[T], str]) -> list[T]:
    """One item per key, the last one given (as ``upsert`` replaces whole records in order)."""
    return list({key(item): item for item in items}.values())


def check_page_size(page: PageRequest) -> None:
    """``InvalidArgument`` on ``page_size`` unless the page holds at least one item."""
    if page.size < 1:
        raise InvalidArgument(
            [FieldViolation("page_size", "must be at least 1", reason="VALUE_OUT_OF_RANGE")]
        )


def int_after(page: PageRequest) -> int | None:
    """``page.after`` as the integer key it encodes; ``InvalidArgument`` on ``page_token`` otherwise."""
    if page.after is None:
        return None
    try:
        return int(page.after)
    except ValueError:
        raise InvalidArgument(
            [FieldViolation("page_token", "is not a token this list issued", reason="PAGE_TOKEN_INVALID")]
        ) from None


def keyset_page(
    connection: sa.Connection,
    stmt: sa.Select[Any],
    key: sa.ColumnElement[Any],
    page: PageRequest,
    convert: Callable[[Row], T],
    after: Any = _FROM_PAGE,
) -> tuple[list[T], Row | None]:
    """The page's items in key order, and the last row shown when another page follows (else ``None``).

    ``key`` is a column or a ``tuple_`` of columns; ``after`` is the keyset position as a value of ``key``'s
    type, by default ``page.after``.
    """
    check_page_size(page)
    if after is _FROM_PAGE:
        after = page.after
    if after is not None:
        stmt = stmt.where(key > after)
    order = key.clauses if isinstance(key, sa.Tuple) else [key]
    rows = connection.execute(stmt.order_by(*order).limit(page.size + 1)).all()
    shown = rows[: page.size]
    return [convert(row) for row in shown], (shown[-1] if len(rows) > page.size else None)


def existing_key(connection: sa.Connection, column: sa.ColumnElement[Any], value: Any) -> Any:
    """``value`` when a row of ``column``'s table has it in ``column``, else ``None``."""
    return connection.execute(sa.select(column).where(column == value)).scalar_one_or_none()


class SqlRepository:
    """A repository bound to the session of one unit of work; it never commits."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @property
    def _connection(self) -> sa.Connection:
        return self._session.connection()

    def _get(self, table: sa.Table, key: Any, convert: Callable[[Row], T]) -> T | None:
        (key_column,) = table.primary_key.columns
        row = self._connection.execute(sa.select(table).where(key_column == key)).first()
        return None if row is None else convert(row)

    def _add_new(self, table: sa.Table, values: Values, reason: str, resource: str) -> None:
        """Inserts one row; ``AlreadyExists(reason)`` when its key is taken (the transaction stays usable)."""
        (key_column,) = table.primary_key.columns
        try:
            with self._session.begin_nested():
                # The savepoint is emitted when the nested transaction's connection is first asked for.
                self._connection.execute(sa.insert(table), [values])
        except IntegrityError as exc:
            key = values[key_column.name]
            if existing_key(self._connection, key_column, key) is not None:
                raise AlreadyExists(
                    f"{resource} {key!r} exists already", reason=reason, metadata={resource: str(key)}
                ) from exc
            raise

    def _insert_new(self, table: sa.Table, values: Values, error: AlreadyExists) -> None:
        """Inserts one row; raises ``error`` when its (possibly composite) key is taken (the transaction
        stays usable)."""
        try:
            with self._session.begin_nested():
                self._connection.execute(sa.insert(table), [values])
        except IntegrityError as exc:
            key = table.primary_key.columns
            found = self._connection.execute(
                sa.select(*key).where(*[c == values[c.name] for c in key])
            ).first()
            if found is not None:
                raise error from exc
            raise
