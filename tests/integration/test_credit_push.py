"""Credit push (Art. 13) on SQLite and PostgreSQL, against a local HTTP receiver started by the test: an
acknowledged record keeps its receipt, a 500 or a timeout is retried with backoff until the receiver
recovers, a refusal shows as failed, and a crash between the POST and the mark sends the same
``Idempotency-Key`` again while the receipt is stored once."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dualdraw.adapters.credit_system import SCHEMA, CreditPushError, CreditSender
from dualdraw.adapters.store import Store
from dualdraw.domain.outbox import DeliveryState, Destination, OutboxMessage, retry_delay
from dualdraw.domain.results import InspectionResult, Outcome, ResultEntry
from dualdraw.service_layer.audit_events import append_event
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.outbox_delivery import LEASE, deliver_due
from tests.integration.credit_receiver import Receiver, credit_receiver

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
CODE = "91130273MA07EQDNG7"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with credit_receiver() as receiver:
        yield receiver


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store.from_url(database_url)
    yield store
    store.dispose()


def record_result(store: Store, *, version: int = 1, penalty: str = "") -> int:
    """Records the audit event of a result version (what ``RecordResult`` writes); its sequence."""
    result = InspectionResult(
        draw_id="d-1",
        position=2,
        version=version,
        credit_code=CODE,
        entry=ResultEntry(
            outcome=Outcome.CASE_OPENED if penalty else Outcome.NO_PROBLEM,
            inspected_on=dt.date(2026, 11, 30),
            findings="secret finding" if penalty else "",
            penalty_decision_number=penalty,
            referral_note="not for the credit record",
        ),
        recorded_by="inspector-1",
        recorded_at=T0,
    )
    with store.unit_of_work() as uow:
        event = append_event(
            uow,
            Caller(actor="inspector-1", request_id="r-1", now=T0),
            action="result.record" if version == 1 else "result.correct",
            resource="results/d-1/2",
            after=result,
        )
        uow.commit()
    return event.sequence


def stored(store: Store, sequence: int) -> OutboxMessage:
    with store.read_unit_of_work() as uow:
        message = uow.outbox.get(f"credit/{sequence}")
    assert message is not None
    return message


def deliver(store: Store, send: Any, at: dt.datetime = T0) -> tuple[int, int]:
    done = deliver_due(store.unit_of_work(), Destination.CREDIT, send, lambda: at)
    return done.delivered, done.failed


def test_an_acknowledged_result_is_delivered_with_its_record_and_its_receipt_stored(
    store: Store, receiver: Receiver, tmp_path: Path
) -> None:
    sequence = record_result(store, penalty="唐市监罚〔2026〕12号")
    token = tmp_path / "credit-token"
    token.write_text("s3cret\n", encoding="utf-8")
    sender = CreditSender.from_files(receiver.url, timeout_s=5, token_file=token)
    assert deliver(store, sender) == (1, 0)
    message = stored(store, sequence)
    assert message.state is DeliveryState.DELIVERED
    assert message.receipt == "R-1"
    assert message.attempts == 1
    ((headers, body),) = receiver.requests
    assert headers["Idempotency-Key"] == f"credit/{sequence}"
    assert headers["Authorization"] == "Bearer s3cret"
    assert body["schema"] == SCHEMA
    assert body["message_id"] == f"credit/{sequence}"
    assert body["kind"] == "result"
    assert body["record"] == {
        "record_id": "d-1/2/v1",
        "draw_id": "d-1",
        "position": 2,
        "version": 1,
        "credit_code": CODE,
        "outcome": "case_opened",
        "inspected_on": "2026-11-30",
        "penalty_decision_number": "唐市监罚〔2026〕12号",
        "referred_to_judicial": False,
        "correction_reason": None,
    }
    assert "secret finding" not in json.dumps(body, ensure_ascii=False)  # findings stay out
    assert "not for the credit record" not in json.dumps(body, ensure_ascii=False)


def test_a_server_error_is_retried_with_backoff_and_delivered_when_the_receiver_recovers(
    store: Store, receiver: Receiver
) -> None:
    sequence = record_result(store)
    receiver.plan = ["fail", "fail"]
    sender = CreditSender(receiver.url, timeout_s=5)
    assert deliver(store, sender) == (0, 1)
    failed = stored(store, sequence)
    assert failed.state is DeliveryState.FAILED
    assert "HTTP 500" in failed.last_error
    assert failed.next_attempt_at == T0 + retry_delay(1)
    assert deliver(store, sender, T0 + retry_delay(1) - dt.timedelta(seconds=1)) == (0, 0)  # not yet due
    assert deliver(store, sender, T0 + retry_delay(1)) == (0, 1)
    assert stored(store, sequence).next_attempt_at == T0 + retry_delay(1) + retry_delay(2)
    assert deliver(store, sender, T0 + dt.timedelta(hours=1)) == (1, 0)
    done = stored(store, sequence)
    assert (done.state, done.attempts, done.receipt, done.last_error) == (
        DeliveryState.DELIVERED,
        3,
        "R-1",
        "",
    )
    assert len(receiver.requests) == 3
    assert {h["Idempotency-Key"] for h, _ in receiver.requests} == {f"credit/{sequence}"}


def test_an_attempt_without_an_answer_fails_within_the_timeout_and_is_retried(
    store: Store, receiver: Receiver
) -> None:
    sequence = record_result(store)
    receiver.plan = ["hang"]
    sender = CreditSender(receiver.url, timeout_s=0.5)
    started = time.monotonic()
    assert deliver(store, sender) == (0, 1)
    assert time.monotonic() - started < receiver.hang_s
    failed = stored(store, sequence)
    assert failed.state is DeliveryState.FAILED
    assert "no answer within 0.5 s" in failed.last_error
    assert deliver(store, sender, T0 + retry_delay(1)) == (1, 0)
    assert stored(store, sequence).receipt == "R-1"


def test_a_refused_record_shows_as_failed_and_keeps_being_retried(store: Store, receiver: Receiver) -> None:
    sequence = record_result(store)
    receiver.plan = ["refuse"]
    sender = CreditSender(receiver.url, timeout_s=5)
    with pytest.raises(CreditPushError) as refused:
        sender(stored(store, sequence))
    assert refused.value.permanent
    assert "HTTP 422 (refused)" in str(refused.value)
    receiver.plan = ["refuse"]
    assert deliver(store, sender) == (0, 1)
    assert stored(store, sequence).state is DeliveryState.FAILED
    assert deliver(store, sender, T0 + retry_delay(1)) == (1, 0)  # fixed on the receiver's side


def test_an_unreachable_receiver_is_retried(store: Store, receiver: Receiver) -> None:
    sequence = record_result(store)
    closed = CreditSender("http://127.0.0.1:9/credit-records", timeout_s=2)  # discard port: refused
    assert deliver(store, closed) == (0, 1)
    assert "cannot reach the credit system" in stored(store, sequence).last_error
    assert deliver(store, CreditSender(receiver.url, timeout_s=5), T0 + retry_delay(1)) == (1, 0)


class Crash(BaseException):
    """The process dying between the POST and the commit that marks the message delivered."""


def test_a_crash_between_send_and_mark_sends_the_same_key_again_and_stores_the_receipt_once(
    store: Store, receiver: Receiver
) -> None:
    sequence = record_result(store)
    sender = CreditSender(receiver.url, timeout_s=5)

    def send_then_crash(message: OutboxMessage) -> str:
        sender(message)
        raise Crash

    with pytest.raises(Crash):
        deliver(store, send_then_crash)
    leased = stored(store, sequence)
    assert leased.state is DeliveryState.PENDING  # never marked
    assert leased.next_attempt_at == T0 + LEASE  # sent again once its lease has run out
    assert deliver(store, sender, T0 + LEASE - dt.timedelta(seconds=1)) == (0, 0)
    assert deliver(store, sender, T0 + LEASE) == (1, 0)
    keys = [h["Idempotency-Key"] for h, _ in receiver.requests]
    assert keys == [f"credit/{sequence}", f"credit/{sequence}"]
    assert receiver.requests[0][1] == receiver.requests[1][1]  # the same document both times
    assert receiver.receipts == {f"credit/{sequence}": "R-1"}
    done = stored(store, sequence)
    assert (done.receipt, done.attempts) == ("R-1", 1)
    assert deliver(store, sender, T0 + dt.timedelta(days=1)) == (0, 0)
    assert len(receiver.requests) == 2


def test_writes_do_not_wait_for_a_receiver_that_does_not_answer(store: Store, receiver: Receiver) -> None:
    """No transaction is open during the POST: on SQLite it would hold the write lock until the timeout."""
    sequence = record_result(store)
    receiver.plan = ["hang"]
    sending = threading.Thread(target=deliver, args=(store, CreditSender(receiver.url, timeout_s=2)))
    sending.start()
    try:
        deadline = time.monotonic() + 5
        while not receiver.requests:  # the POST is in flight
            assert time.monotonic() < deadline
            time.sleep(0.01)
        started = time.monotonic()
        record_result(store, version=2)  # another write meanwhile
        assert time.monotonic() - started < 1
    finally:
        sending.join()
    assert stored(store, sequence).state is DeliveryState.FAILED


def test_a_correction_is_a_record_of_its_own(store: Store, receiver: Receiver) -> None:
    first, second = record_result(store), record_result(store, version=2)
    assert deliver(store, CreditSender(receiver.url, timeout_s=5)) == (2, 0)
    records = [body["record"]["record_id"] for _, body in receiver.requests]
    assert records == ["d-1/2/v1", "d-1/2/v2"]
    assert [stored(store, s).receipt for s in (first, second)] == ["R-1", "R-2"]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        CreditSender.from_files("ftp://credit.example/", timeout_s=5)
    with pytest.raises(ValueError, match="positive"):
        CreditSender.from_files("https://credit.example/", timeout_s=0)
