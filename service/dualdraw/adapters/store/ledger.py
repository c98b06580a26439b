"""The idempotency ledger: (method, caller, request_id) → the first response (see
``dualdraw.entrypoints.grpc.idempotency``).

The claim of the request being served lives in a context variable; ``SqlUnitOfWork.commit`` writes it in the
same transaction as the request's write (``write_claim``), so a second write under one key cannot commit.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dualdraw.adapters.store.models import IdempotentRequestRow
from dualdraw.adapters.store.rows import table_of
from dualdraw.domain.errors import Aborted

LEDGER = table_of(IdempotentRequestRow)


@dataclass
class Claim:
    method: str
    caller: str
    request_id: str
    digest: str
    written: bool = False


CLAIM: contextvars.ContextVar[Claim | None] = contextvars.ContextVar("dualdraw_claim", default=None)


class DuplicateRequest(Aborted):
    """Another call with the same (method, caller, request_id) committed its write first."""

    reason = "DUPLICATE_REQUEST"


def write_claim(session: Session) -> None:
    """Inserts this thread's claim into ``session``'s transaction (called by the unit of work on commit)."""
    claim = CLAIM.get()
    if claim is None or claim.written:
        return
    try:
        with session.begin_nested():
            session.execute(
                sa.insert(LEDGER).values(
                    method=claim.method,
                    caller=claim.caller,
                    request_id=claim.request_id,
                    request_digest=claim.digest,
                    response=None,
                    created_at=dt.datetime.now(dt.UTC),
                    completed_at=None,
                )
            )
    except IntegrityError:
        raise DuplicateRequest(
            f"request {claim.request_id!r} was carried out already", reason="DUPLICATE_REQUEST"
        ) from None
    claim.written = True


@dataclass(frozen=True)
class Entry:
    digest: str
    response: bytes | None


class Ledger:
    """Reads and completes ledger rows, each in its own short transaction."""

    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        self._engine = engine
        self._reader = reader or engine  # on SQLite a DEFERRED engine: looking up never waits for a writer

    def find(self, method: str, caller: str, request_id: str) -> Entry | None:
        key = (LEDGER.c.method == method) & (LEDGER.c.caller == caller) & (LEDGER.c.request_id == request_id)
        with self._reader.connect() as connection:
            row = connection.execute(sa.select(LEDGER.c.request_digest, LEDGER.c.response).where(key)).first()
        return None if row is None else Entry(row[0], row[1])

    def complete(self, claim: Claim, response: bytes) -> None:
        key = (
            (LEDGER.c.method == claim.method)
            & (LEDGER.c.caller == claim.caller)
            & (LEDGER.c.request_id == claim.request_id)
        )
        now = dt.datetime.now(dt.UTC)
        with self._engine.begin() as connection:
            done = connection.execute(
                sa.update(LEDGER).where(key).values(response=response, completed_at=now)
            ).rowcount
            if done == 0:  # the call wrote nothing (e.g. a repeat the use case recognised): remember anyway
                try:
                    with connection.begin_nested():
                        connection.execute(
                            sa.insert(LEDGER).values(
                                method=claim.method,
                                caller=claim.caller,
                                request_id=claim.request_id,
                                request_digest=claim.digest,
                                response=response,
                                created_at=now,
                                completed_at=now,
                            )
                        )
                except IntegrityError:
                    pass
