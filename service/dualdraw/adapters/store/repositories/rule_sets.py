"""Rule sets by hash (``RuleSetRepository``)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from dualdraw.adapters.store.repositories.base import SqlRepository
from dualdraw.adapters.store.rows import RULE_SETS


class SqlRuleSetRepository(SqlRepository):
    """Rule sets by hash; ``remember`` inserts once and leaves an existing row untouched."""

    def remember(self, hash: str, version: str, canonical_json: str, at: dt.datetime) -> None:
        if self.get(hash) is not None:
            return
        try:
            with self._session.begin_nested():
                self._connection.execute(
                    sa.insert(RULE_SETS),
                    [
                        {
                            "hash": hash,
                            "version": version,
                            "canonical_json": canonical_json,
                            "first_used_at": at,
                        }
                    ],
                )
        except IntegrityError:  # a concurrent draw stored the same set first: the content is the same
            pass

    def get(self, hash: str) -> str | None:
        row = self._connection.execute(
            sa.select(RULE_SETS.c.canonical_json).where(RULE_SETS.c.hash == hash)
        ).first()
        return None if row is None else str(row[0])
