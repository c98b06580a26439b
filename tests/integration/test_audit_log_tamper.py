"""The Merkle audit log against direct SQL tampering, on SQLite and PostgreSQL.

Each test appends events through the repository (every append signs a checkpoint), then edits, deletes,
reorders or inserts rows behind the service's back, and checks that verification names the first bad entry.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dualdraw.adapters.store import Store
from dualdraw.domain.audit.checkpoints import CheckpointSigner
from dualdraw.domain.audit.entries import event_leaf_hash
from dualdraw.domain.audit.merkle import root
from dualdraw.domain.model import AuditEvent, AuditRecord
from dualdraw.service_layer.audit_log import verify_log

SIGNER = CheckpointSigner(Ed25519PrivateKey.generate())
TRUSTED = {SIGNER.public_key}
T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store.from_url(database_url, signer=SIGNER)
    yield store
    store.dispose()


def append(store: Store, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        with store.unit_of_work() as uow:
            uow.audit.append(
                AuditRecord(
                    actor=f"clerk-{i % 3}",
                    action="task.create",
                    resource=f"tasks/t-{i}",
                    after_json=f'{{"n":{i}}}',
                    request_id=f"r-{i}",
                    occurred_at=T0 + dt.timedelta(seconds=i),
                )
            )
            uow.commit()


def sql(store: Store, statement: str, **params: object) -> None:
    with store.engine.begin() as connection:
        connection.execute(sa.text(statement), params)


def test_an_untouched_log_verifies_and_proofs_hold(store: Store) -> None:
    append(store, 9)
    verdict = verify_log(store.unit_of_work(), TRUSTED)
    assert verdict.ok, verdict.problem
    assert verdict.tree_size == 9
    assert verdict.checkpoints_checked == 9
    with store.unit_of_work() as uow:
        leaves = [bytes.fromhex(h) for h in uow.audit.leaf_hashes()]
        cp = uow.audit.checkpoint()
        events = uow.audit.events_of("tasks/t-4")
    assert cp is not None
    assert cp.root_hash == root(leaves).hex()
    assert event_leaf_hash(events[0]).hex() == leaves[4].hex()
    assert not verify_log(store.unit_of_work(), {"00" * 32}).ok  # a key nobody pinned


def test_an_edited_row_is_named(store: Store) -> None:
    append(store, 8)
    sql(store, "UPDATE audit_events SET after_json = :v WHERE sequence = 5", v='{"n":999}')
    verdict = verify_log(store.unit_of_work(), TRUSTED)
    assert not verdict.ok
    assert verdict.first_bad_sequence == 5
    assert "entry 5 was edited" in verdict.problem


def test_an_edited_row_with_a_recomputed_leaf_hash_is_caught_by_its_signed_checkpoint(store: Store) -> None:
    append(store, 8)
    with store.unit_of_work() as uow:
        event = uow.audit.events_of("tasks/t-3")[0]
    forged = AuditEvent(
        event.sequence,
        event.occurred_at,
        "someone-else",
        event.action,
        event.resource,
        event.before_json,
        event.after_json,
        event.request_id,
    )
    sql(
        store,
        "UPDATE audit_events SET actor = 'someone-else', leaf_hash = :h WHERE sequence = 4",
        h=event_leaf_hash(forged).hex(),
    )
    verdict = verify_log(store.unit_of_work(), TRUSTED)
    assert not verdict.ok
    assert verdict.first_bad_sequence == 4
    assert "signed checkpoint 4" in verdict.problem


def test_a_deleted_row_is_named(store: Store) -> None:
    append(store, 8)
    sql(store, "DELETE FROM audit_events WHERE sequence = 6")
    verdict = verify_log(store.unit_of_work(), TRUSTED)
    assert not verdict.ok
    assert verdict.first_bad_sequence == 6
    assert "missing" in verdict.problem


def test_deleting_the_tail_with_its_checkpoints_is_caught_by_a_checkpoint_held_outside(store: Store) -> None:
    append(store, 8)
    with store.unit_of_work() as uow:
        held = uow.audit.checkpoint()
    assert held is not None
    sql(store, "DELETE FROM audit_events WHERE sequence > 6")
    sql(store, "DELETE FROM audit_checkpoints WHERE tree_size > 6")
    verdict = verify_log(store.unit_of_work(), TRUSTED, held.tree_size, held.root_hash)
    assert not verdict.ok
    assert verdict.first_bad_sequence == 7
    assert "deleted" in verdict.problem
    sql(store, "DELETE FROM audit_events WHERE sequence > 5")  # rows gone, checkpoint 6 still there
    verdict = verify_log(store.unit_of_work(), TRUSTED)
    assert not verdict.ok
    assert verdict.first_bad_sequence == 6


def test_reordered_rows_are_named(store: Store) -> None:
    append(store, 8)
    # swap the contents (and leaf hashes) of entries 3 and 4, keeping the sequence numbers
    sql(store, "UPDATE audit_events SET sequence = 1003 WHERE sequence = 3")
    sql(store, "UPDATE audit_events SET sequence = 3 WHERE sequence = 4")
    sql(store, "UPDATE audit_events SET sequence = 4 WHERE sequence = 1003")
    verdict = verify_log(store.unit_of_work(), TRUSTED)
    assert not verdict.ok
    assert verdict.first_bad_sequence == 3


def test_an_inserted_row_is_named(store: Store) -> None:
    append(store, 5)
    forged = AuditEvent(6, T0, "intruder", "draw.commit", "draws/d-x", "", "{}", "")
    sql(
        store,
        "INSERT INTO audit_events (sequence, occurred_at, actor, action, resource, before_json, after_json,"
        " request_id, leaf_hash) VALUES (6, :t, 'intruder', 'draw.commit', 'draws/d-x', '', '{}', '', :h)",
        t=T0.replace(tzinfo=None) if store.engine.dialect.name == "sqlite" else T0,
        h=event_leaf_hash(forged).hex(),
    )
    verdict = verify_log(store.unit_of_work(), TRUSTED)
    assert not verdict.ok
    assert verdict.first_bad_sequence == 6
    assert "not covered" in verdict.problem


def test_concurrent_appenders_from_separate_engines_get_contiguous_sequences(database_url: str) -> None:
    """Several processes share one database: each thread here has its own engine and connection pool."""
    stores = [Store.from_url(database_url, signer=SIGNER) for _ in range(4)]
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            append(stores[k], 10, start=100 * k)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    verdict = verify_log(stores[0].unit_of_work(), TRUSTED)
    assert verdict.ok, verdict.problem
    assert verdict.tree_size == 40
    for s in stores:
        s.dispose()


def test_a_head_no_checkpoint_covers_is_signed_at_start_up(store: Store) -> None:
    append(store, 3)
    sql(store, "DELETE FROM audit_checkpoints")  # events whose checkpoints are gone
    assert not verify_log(store.unit_of_work(), TRUSTED).ok  # no checkpoint covers them
    with store.unit_of_work() as uow:
        assert uow.audit.sign_head() is not None  # what the server does at start-up
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.audit.sign_head() is None  # the head is covered now: nothing to sign
    append(store, 2, start=10)
    verdict = verify_log(store.unit_of_work(), TRUSTED)
    assert verdict.ok, verdict.problem
    assert verdict.tree_size == 5


def test_staged_events_hold_the_head_for_the_commit_only(store: Store) -> None:
    """A transaction that staged events leaves the log's head alone while it works: another one appends and
    commits meanwhile; the staged events take the next sequences, in order, when it commits, and a rolled
    back one appends nothing."""
    with store.unit_of_work() as slow:
        for i in range(2):
            slow.audit.stage(
                AuditRecord(
                    actor="drawer",
                    action="draw.commit" if i == 0 else "draw.execute",
                    resource="draws/d-1",
                    after_json="{}",
                    request_id="r-slow",
                    occurred_at=T0,
                )
            )
        meanwhile = threading.Thread(target=append, args=(store, 1))
        meanwhile.start()
        meanwhile.join(20)
        assert not meanwhile.is_alive()  # not blocked behind the staged events
        slow.commit()
    with store.unit_of_work() as rolled_back:
        rolled_back.audit.stage(
            AuditRecord(
                actor="drawer",
                action="draw.commit",
                resource="draws/d-2",
                after_json="{}",
                request_id="r-lost",
                occurred_at=T0,
            )
        )
    with store.read_unit_of_work() as uow:
        events = [e.event for e in uow.audit.entries()]
        assert [(e.sequence, e.request_id, e.action) for e in events] == [
            (1, "r-0", "task.create"),
            (2, "r-slow", "draw.commit"),
            (3, "r-slow", "draw.execute"),
        ]
    assert verify_log(store.unit_of_work(), TRUSTED).ok
