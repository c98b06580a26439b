"""The draw locks of inspection history (``DrawLifecycleRepository.lock_history_scope``), at the lock level.

PostgreSQL: draws of disjoint department scopes hold their locks at the same time; a draw that reads the
history waits for every holder of an overlapping scope; draws that only add to it share. Each waiter is
given a 1 s ``lock_timeout`` so that waiting shows as a failure instead of a hang. SQLite: the lock is the
writer lock a transaction holds from ``BEGIN IMMEDIATE``, or the snapshot a ``DEFERRED`` one reads, which
fails its first write if another write committed since (``test_draw_write_lock.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from dualdraw.adapters.store import Store
from dualdraw.adapters.store.repositories import history_lock_key
from dualdraw.domain.errors import Unavailable


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store.from_url(database_url)
    yield store
    store.dispose()


@pytest.fixture
def impatient(database_url: str) -> Iterator[Store]:
    """A second store on PostgreSQL whose transactions give up waiting for a lock after one second."""
    if not database_url.startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's; SQLite has one writer lock")
    store = Store.from_url(database_url, connect_args={"options": "-c lock_timeout=1000"})
    yield store
    store.dispose()


def held_locks(store: Store) -> set[tuple[int, str]]:
    """(key, mode) of every granted advisory lock on a 64-bit key (its halves are classid and objid), seen
    from a connection of its own."""
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT (classid::bigint << 32) | objid::bigint, mode FROM pg_locks"
            " WHERE locktype = 'advisory' AND objsubid = 1 AND granted"
        )
        return {(int(key), str(mode)) for key, mode in rows}


def test_draws_of_unrelated_departments_hold_their_locks_at_once(store: Store, impatient: Store) -> None:
    with store.unit_of_work() as hangzhou, impatient.unit_of_work() as ningbo:
        hangzhou.lifecycle.lock_history_scope({"c-hz", "d-sc"}, exclusive=True)
        ningbo.lifecycle.lock_history_scope({"c-nb"}, exclusive=True)  # no wait: a 1 s timeout would fail
        held = held_locks(store)
        for department in ("c-hz", "d-sc", "c-nb"):
            assert (history_lock_key(department), "ExclusiveLock") in held, department
    assert not {k for k, _ in held_locks(store)} & {history_lock_key(d) for d in ("c-hz", "c-nb")}


def test_a_reading_draw_waits_for_any_draw_sharing_a_department(store: Store, impatient: Store) -> None:
    with store.unit_of_work() as central:
        central.lifecycle.lock_history_scope({"p-zj", "c-hz", "c-nb", "d-sc"}, exclusive=True)
        for exclusive in (True, False):
            with pytest.raises(Unavailable), impatient.unit_of_work() as branch:
                branch.lifecycle.lock_history_scope({"d-sc"}, exclusive=exclusive)
    with impatient.unit_of_work() as branch:  # released with the transaction
        branch.lifecycle.lock_history_scope({"d-sc"}, exclusive=True)


def test_draws_that_only_add_to_the_history_share_and_a_reader_waits_for_them(
    store: Store, impatient: Store
) -> None:
    with store.unit_of_work() as first, impatient.unit_of_work() as second:
        first.lifecycle.lock_history_scope({"c-hz"}, exclusive=False)
        second.lifecycle.lock_history_scope({"c-hz"}, exclusive=False)
        with pytest.raises(Unavailable), impatient.unit_of_work() as reader:
            reader.lifecycle.lock_history_scope({"c-hz"}, exclusive=True)


def test_sqlite_draws_under_the_writer_lock_hold_it(store: Store, database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's writer lock")
    with store.unit_of_work() as uow:
        uow.lifecycle.lock_history_scope({"c-hz"}, exclusive=True)
        other = sa.create_engine(database_url, connect_args={"timeout": 0.2})
        try:
            with pytest.raises(sa.exc.OperationalError, match="locked"), other.connect() as connection:
                connection.exec_driver_sql("BEGIN IMMEDIATE")  # the draw's transaction is the writer
        finally:
            other.dispose()
