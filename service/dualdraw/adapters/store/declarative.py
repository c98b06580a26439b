"""The declarative base every table of the schema derives from, and its portable column types.

Portable types only, so one set of Alembic migrations serves SQLite and PostgreSQL: timestamps are
``UtcDateTime`` (aware in Python, UTC on both backends); an autoincrementing key is BIGINT on PostgreSQL and
INTEGER on SQLite. Constraint names follow ``NAMING_CONVENTION`` so migrations can refer to them on both.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Integer,
    LargeBinary,
    MetaData,
    String,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware timestamp stored in UTC; naive datetimes are rejected rather than guessed at.

    PostgreSQL stores ``timestamptz``; SQLite stores the UTC wall time as text (which sorts correctly).
    Values read back are always aware and in UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"timestamp {value.isoformat()} has no time zone; store aware datetimes")
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


# An autoincrementing 64-bit key on PostgreSQL; SQLite only autoincrements a column declared INTEGER.
AutoIncrementKey = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {  # noqa: RUF012 -- SQLAlchemy reads this class attribute as is
        str: String(),
        dt.date: Date(),
        dt.datetime: UtcDateTime(),
        bool: Boolean(),
        bytes: LargeBinary(),
    }
