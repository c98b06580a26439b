"""``Store`` (one per process: engine and session factory) and ``SqlUnitOfWork`` (one per transaction)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session, sessionmaker

from dualdraw.adapters.store.database import create_engine, database_unavailable
from dualdraw.adapters.store.ledger import write_claim
from dualdraw.adapters.store.object_lookup import ObjectLookup
from dualdraw.adapters.store.repositories import (
    SqlAuditRepository,
    SqlChecklistRepository,
    SqlDirectoryFilingRepository,
    SqlDirectoryRepository,
    SqlDrawLifecycleRepository,
    SqlDrawRepository,
    SqlEvidenceRepository,
    SqlExpertRepository,
    SqlFollowUpRepository,
    SqlInspectionRecordRepository,
    SqlItemRepository,
    SqlItemVersionRepository,
    SqlObjectionRepository,
    SqlOutboxRepository,
    SqlPlanRepository,
    SqlPublicationRepository,
    SqlResultRepository,
    SqlRuleSetRepository,
    SqlTaskRepository,
)
from dualdraw.domain.audit.checkpoints import CheckpointSigner, development_signer
from dualdraw.domain.errors import Unavailable
from dualdraw.domain.outbox import messages_for
from dualdraw.runtime import deadlines
from dualdraw.runtime.background import InOrder
from dualdraw.service_layer.ports import (
    AuditRepository,
    ChecklistRepository,
    DirectoryFilingRepository,
    DirectoryRepository,
    DrawLifecycleRepository,
    DrawRepository,
    EvidenceRepository,
    ExpertRepository,
    FollowUpRepository,
    InspectionRecordRepository,
    ItemRepository,
    ItemVersionRepository,
    ObjectionRepository,
    OutboxRepository,
    PlanRepository,
    PublicationRepository,
    ResultRepository,
    RuleSetRepository,
    TaskRepository,
    UnitOfWork,
)

T = TypeVar("T")
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, sa.exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if isinstance(exc.orig, sqlite3.Error):
        # sqlite3 reports SQL mistakes as OperationalError too; only a busy or locked database is transient.
        return (getattr(exc.orig, "sqlite_errorcode", 0) & 0xFF) in (_SQLITE_BUSY, _SQLITE_LOCKED)
    # psycopg's OperationalError: connection lost, serialization failure, deadlock, lock or statement
    # timeout, server shutting down or out of resources.
    return isinstance(exc, sa.exc.OperationalError)


def _unavailable(exc: BaseException) -> Unavailable | None:
    """The domain error for a database that cannot serve now but may on a retry; ``None`` for any other."""
    if not _is_transient(exc):
        return None
    detail = getattr(exc, "orig", None) or exc
    return database_unavailable(detail)


class SqlUnitOfWork:
    """One database transaction with the repositories bound to it (the ``UnitOfWork`` port).

    ``with uow:`` opens a session; leaving the block rolls back whatever was not committed and closes it.
    The same object may be entered again for a new transaction. Transient database failures (see
    ``_unavailable``) leave the block as ``dualdraw.domain.errors.Unavailable``.
    """

    directory: DirectoryRepository
    items: ItemRepository
    tasks: TaskRepository
    plans: PlanRepository
    draws: DrawRepository
    audit: AuditRepository
    _audit_log: SqlAuditRepository  # ``audit`` as the store has it: ``commit`` appends what it staged
    results: ResultRepository
    publications: PublicationRepository
    item_versions: ItemVersionRepository
    rule_sets: RuleSetRepository
    lifecycle: DrawLifecycleRepository
    outbox: OutboxRepository
    evidence: EvidenceRepository
    filings: DirectoryFilingRepository
    follow_ups: FollowUpRepository
    objections: ObjectionRepository
    checklists: ChecklistRepository
    inspection_records: InspectionRecordRepository
    experts: ExpertRepository

    def __init__(
        self, session_factory: sessionmaker[Session], signer: CheckpointSigner | None = None
    ) -> None:
        self._session_factory = session_factory
        self._signer = signer or development_signer()
        self._session: Session | None = None
        self._deferred: list[Callable[[], None]] = []
        self._behind: InOrder | None = None

    def __enter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("this unit of work is already open")
        session = self._session_factory()
        self._session = session
        self.directory = SqlDirectoryRepository(session)
        self.items = SqlItemRepository(session)
        self.tasks = SqlTaskRepository(session)
        self.plans = SqlPlanRepository(session)
        self.draws = SqlDrawRepository(session)
        self.audit = self._audit_log = SqlAuditRepository(session, self._signer)
        self.lifecycle = SqlDrawLifecycleRepository(session)
        self.results = SqlResultRepository(session)
        self.publications = SqlPublicationRepository(session)
        self.item_versions = SqlItemVersionRepository(session)
        self.rule_sets = SqlRuleSetRepository(session)
        self.outbox = SqlOutboxRepository(session)
        self.evidence = SqlEvidenceRepository(session)
        self.filings = SqlDirectoryFilingRepository(session)
        self.follow_ups = SqlFollowUpRepository(session)
        self.objections = SqlObjectionRepository(session)
        self.checklists = SqlChecklistRepository(session)
        self.inspection_records = SqlInspectionRecordRepository(session)
        self.experts = SqlExpertRepository(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._drop_deferred()
        session, self._session = self._session, None
        if session is not None:
            try:
                session.rollback()
            finally:
                session.close()
        translated = None if exc is None else _unavailable(exc)
        if translated is not None:
            raise translated from exc

    def commit(self) -> None:
        """Commits everything done since the block (or the last commit) began: first the audit events staged
        meanwhile with their outbox messages, then the idempotency claim of the request being served, if
        any (``dualdraw.entrypoints.grpc.idempotency``)."""
        session = self._open()
        self.settle()
        deadlines.check()  # a caller that gave up gets nothing written (rolled back on exit)
        for event in self._audit_log.append_staged():  # the log's head last: held for the commit only
            self.outbox.add(messages_for(event))
        write_claim(session)
        try:
            session.commit()
        except sa.exc.SQLAlchemyError as exc:
            translated = _unavailable(exc)
            if translated is not None:
                raise translated from exc
            raise

    def rollback(self) -> None:
        session = self._open()
        self._drop_deferred()
        session.rollback()
        self._audit_log.discard_staged()

    def defer(self, write: Callable[[], None]) -> None:
        """Queues ``write``, statements of this transaction that nothing in it reads before they run: at
        ``write_behind`` (or, when writes are running behind, after those), at the latest at ``settle`` or
        when the transaction commits. A rollback drops them."""
        self._open()
        if self._behind is not None:
            self._behind.add(write)
        else:
            self._deferred.append(write)

    def write_behind(self) -> None:
        """Starts the queued writes. On PostgreSQL they run in a thread while the caller computes without
        the database, and so do those deferred after this until ``settle`` (a statement the caller sends
        meanwhile waits for them: psycopg runs one statement at a time per connection); elsewhere they run
        now. ``settle`` waits for them."""
        session = self._open()
        self._wait_behind()
        if session.connection().dialect.name != "postgresql":  # the connection is made here, not there
            self._write_deferred()
            return
        writes, self._deferred = self._deferred, []
        self._behind = InOrder(writes, "dualdraw-write-behind")

    def settle(self) -> None:
        """Returns once every write deferred so far has run (those running behind, then any still queued);
        raises what they raised (the transaction is then to be rolled back)."""
        self._wait_behind()
        self._write_deferred()

    def _wait_behind(self) -> None:
        running, self._behind = self._behind, None
        if running is not None:
            error = running.close()
            if error is not None:
                self._deferred = []
                raise error

    def _write_deferred(self) -> None:
        writes, self._deferred = self._deferred, []
        for write in writes:
            write()

    def _drop_deferred(self) -> None:
        """Forgets the queued writes and waits for the one running (the transaction is being rolled back:
        what it raised is moot)."""
        self._deferred = []
        running, self._behind = self._behind, None
        if running is not None:
            running.skip_rest()
            running.close()

    def _open(self) -> Session:
        if self._session is None:
            raise RuntimeError("use the unit of work inside `with uow:`")
        return self._session


def _conforms(uow: SqlUnitOfWork) -> UnitOfWork:
    return uow  # mypy checks here that SqlUnitOfWork implements the UnitOfWork port


class Store:
    """The database of one service process: an engine with its connection pool and a session factory.

    Create it once (``Store.from_url``), take a ``unit_of_work()`` per request, ``dispose()`` at shutdown.
    """

    def __init__(
        self,
        engine: Engine,
        reader: Engine | None = None,
        signer: CheckpointSigner | None = None,
        point_reader: Engine | None = None,
    ) -> None:
        self.engine = engine
        self.reader = reader or engine
        self.point_reader = point_reader or self.reader
        """Serves ``point_read`` and ``object_lookup``: on PostgreSQL autocommit, no ping per checkout."""
        self.object_lookup = ObjectLookup(point_reader) if point_reader is not None else None
        """``GetObject``'s read on a pooled driver connection (PostgreSQL); ``None``: ``point_read``."""
        self.signer = signer
        """Signs audit checkpoints; ``None``: a per-process development key (with a loud warning)."""
        self.session_factory: sessionmaker[Session] = sessionmaker(
            engine, autoflush=False, expire_on_commit=False
        )
        self.reader_session_factory: sessionmaker[Session] = sessionmaker(
            self.reader, autoflush=False, expire_on_commit=False
        )
        self._point_session_factory: sessionmaker[Session] = sessionmaker(
            self.point_reader, autoflush=False, expire_on_commit=False
        )

    @classmethod
    def from_url(
        cls, url: str | URL, *, signer: CheckpointSigner | None = None, **engine_options: Any
    ) -> Store:
        """A store for ``url`` (see ``dualdraw.adapters.store.database.create_engine``); connects lazily.

        On SQLite, reads get an engine of their own that begins ``DEFERRED``: with WAL they see the last
        committed state and never wait for a writer (a long draw holds the ``IMMEDIATE`` write lock).
        """
        engine = create_engine(url, **engine_options)
        reader = point_reader = None
        if engine.dialect.name == "sqlite":
            reader = create_engine(url, **{**engine_options, "sqlite_begin": "DEFERRED"})
        else:
            point_options = {**engine_options, "pool_pre_ping": False, "isolation_level": "AUTOCOMMIT"}
            point_reader = create_engine(url, **point_options)
        return cls(engine, reader, signer, point_reader)

    def unit_of_work(self) -> SqlUnitOfWork:
        """A unit of work for reads and writes (one transaction)."""
        return SqlUnitOfWork(self.session_factory, self.signer)

    @property
    def writers_exclude_each_other(self) -> bool:
        """Whether a writing transaction locks out every other writer until it ends (SQLite)."""
        return self.reader is not self.engine

    def snapshot_unit_of_work(self) -> SqlUnitOfWork:
        """On SQLite, a unit of work that reads a snapshot and takes the write lock only at its first write
        (``BEGIN DEFERRED``): a long draw loads, evaluates and commits to its inputs before it locks out
        other writers. If another transaction committed since its snapshot, that first write fails as
        ``Unavailable`` (SQLite's ``BUSY_SNAPSHOT``) and nothing is written: what it read is then stale.
        Elsewhere the same as ``unit_of_work``."""
        return SqlUnitOfWork(self.reader_session_factory, self.signer)

    def read_unit_of_work(self) -> SqlUnitOfWork:
        """A unit of work for reads only: it must not write (on SQLite it would fail or wait for writers)."""
        return SqlUnitOfWork(self.reader_session_factory, self.signer)

    def point_read(self, read: Callable[[UnitOfWork], T]) -> T:
        """``read(uow)`` for reads of a few rows by key (``GetObject``), which must not write. On PostgreSQL
        each statement runs on its own (autocommit: no ``BEGIN`` and ``ROLLBACK`` round trips, and the same
        per-statement snapshots as a ``READ COMMITTED`` transaction), on connections not pinged before
        each use (another round trip): a connection the database dropped meanwhile (a restart) fails its
        statement, is discarded, and ``read`` runs once more on a fresh one. Elsewhere as
        ``read_unit_of_work``. In a loop, 339–457 µs of CPU per read of an object against 617 µs through
        ``read_unit_of_work``: CPU the server's cores keep for a draw running beside the readers.
        """
        for attempt in (1, 2):
            try:
                with SqlUnitOfWork(self._point_session_factory, self.signer) as uow:
                    return read(uow)
            except Unavailable as exc:
                dropped = (
                    isinstance(exc.__cause__, sa.exc.DBAPIError) and exc.__cause__.connection_invalidated
                )
                if attempt == 2 or not dropped or self.point_reader is self.reader:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def ping(self) -> None:
        """Raises ``Unavailable`` unless the database answers a trivial query (for health checks)."""
        try:
            # A raw connection: a SQLAlchemy transaction would BEGIN IMMEDIATE on SQLite and wait for writers.
            connection = self.engine.raw_connection()
            try:
                cursor = connection.cursor()
                cursor.execute("SELECT 1")
                cursor.close()
            finally:
                connection.close()
        except (sa.exc.SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error) as exc:
            raise database_unavailable(exc) from exc

    def dispose(self) -> None:
        """Closes every pooled connection."""
        self.engine.dispose()
        if self.reader is not self.engine:
            self.reader.dispose()
        if self.point_reader is not self.reader:
            self.point_reader.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.dispose()
