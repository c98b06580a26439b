"""The whole story after the draw on the demo, through a real ``dualdraw serve`` killed twice on the way.

Plan entry → commit-reveal draw → inspection record by the checklist (one finding non-compliant) citing a
photo from the evidence store by hash → result → rectification order → rectified → re-inspected by the
same team → closed → published. Results and the follow-up's closure go to a local credit receiver, every
domain event to a NATS JetStream stream of the test's own.

The first server delivers what it makes. The second runs with no credit endpoint and an unreachable broker,
so what it makes waits in the outbox, and is killed (SIGKILL). The third has both again and kills itself
right after publishing its first event, before marking it delivered; the fourth sends the rest. At the end
nothing is lost (every outbox message delivered, every one at the consumer) and nothing is duplicated: the
stream holds each CloudEvent id once (``Nats-Msg-Id``), in audit order, and the credit receiver kept one
receipt per ``Idempotency-Key``, the one the server stored, for byte-identical documents.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dualdraw.adapters.store.unit_of_work import Store
from dualdraw.domain.outbox import DeliveryState, Destination, OutboxMessage
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import HIGH_TECH_ZONE
from dualdraw.service_layer.ports import PageRequest
from dualdraw.v1 import draws_pb2, follow_ups_pb2, results_pb2, tasks_pb2
from dualdraw.v1 import inspection_records_pb2 as ir
from dualdraw_client import DualdrawClient
from dualdraw_client.cli import main as cli_main
from dualdraw_client.dates import date_pb
from tests.e2e.conftest import publishable_draw
from tests.e2e.server_processes import free_port, server_process
from tests.integration.credit_receiver import Receiver, credit_receiver
from tests.nats_broker import EventStream, event_stream, nats_url

__all__ = ["event_stream", "nats_url"]  # fixtures

pytestmark = pytest.mark.slow

# The smallest JPEG-looking photo: the store keeps bytes by hash, whatever they show.
PHOTO = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with credit_receiver() as receiver:
        yield receiver


@contextmanager
def serving(
    url: str,
    evidence_dir: Path,
    stream: EventStream,
    *,
    credit_url: str,
    events_url: str,
    crash_at: str = "",
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``dualdraw serve --demo-if-empty`` as ``make run`` starts it (annual plan required), on ``url``."""
    settings = {
        "DUALDRAW_PLAN_REQUIRED": "on",
        "DUALDRAW_EVIDENCE_DIR": str(evidence_dir),
        "DUALDRAW_CREDIT_URL": credit_url,
        "DUALDRAW_CREDIT_INTERVAL_S": "0.2",
        "DUALDRAW_CREDIT_TIMEOUT_S": "2",
        "DUALDRAW_EVENTS_URL": events_url,
        "DUALDRAW_EVENTS_STREAM": stream.name,
        "DUALDRAW_EVENTS_SUBJECT_PREFIX": stream.subject_prefix,
        "DUALDRAW_EVENTS_INTERVAL_S": "0.2",
    }
    with server_process(url, settings, crash_at=crash_at, args=("--demo-if-empty",)) as served:
        yield served


def outbox(url: str, destination: Destination) -> list[OutboxMessage]:
    store = Store.from_url(url)
    try:
        with store.read_unit_of_work() as uow:
            return uow.outbox.list(destination, PageRequest(1000)).items
    finally:
        store.dispose()


def wait_delivered(url: str, timeout_s: float = 30) -> dict[Destination, list[OutboxMessage]]:
    """Every outbox message of both destinations once all are delivered (fails after ``timeout_s``)."""
    give_up = time.monotonic() + timeout_s
    while True:
        messages = {d: outbox(url, d) for d in (Destination.CREDIT, Destination.EVENTS)}
        if all(m.state is DeliveryState.DELIVERED for ms in messages.values() for m in ms):
            return messages
        if time.monotonic() > give_up:
            waiting = [(m.id, m.state, m.last_error) for ms in messages.values() for m in ms]
            pytest.fail(f"not delivered in {timeout_s} s: {waiting}")
        time.sleep(0.2)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    code = cli_main(list(argv))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def inspection_record(
    client: DualdrawClient, assignment: str, team: list[str], photo: str
) -> ir.InspectionRecord:
    """The record by the checklist of TS-SE-01: SE-2 non-compliant, the rest compliant, the photo cited."""
    now = dt.datetime.now(dt.UTC)
    record = ir.InspectionRecord(
        assignment=assignment,
        place="高新区建设路1号",
        members_present=team,
        acknowledgement=ir.ACKNOWLEDGEMENT_ACKNOWLEDGED,
        attachments=[ir.EvidenceFile(sha256=photo, size=len(PHOTO), content_type="image/jpeg")],
    )
    record.start_time.FromDatetime(now - dt.timedelta(microseconds=1))
    record.end_time.FromDatetime(now)
    for point in client.get_checklist("TS-SE-01").check_points:
        non_compliant = point.id == "SE-2"
        record.findings.add(
            check_point_id=point.id,
            finding=ir.CHECK_FINDING_NON_COMPLIANT if non_compliant else ir.CHECK_FINDING_COMPLIANT,
            note="压力容器定期检验已超期" if non_compliant else "",
        )
    return record


def test_the_whole_story_after_the_draw_survives_kill_9_with_nothing_lost_or_duplicated(
    database_url: str,
    event_stream: EventStream,
    receiver: Receiver,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, evidence_dir = database_url, tmp_path / "evidence"
    photo_path = tmp_path / "photo.jpg"
    photo_path.write_bytes(PHOTO)
    today = Caller("x").today()
    live = {"credit_url": receiver.url, "events_url": event_stream.url}
    away = {"credit_url": "", "events_url": f"nats://127.0.0.1:{free_port()}"}  # nothing listens there

    # 1. Plan entry → draw → inspection record with a photo → result → rectification order; all delivered.
    with serving(url, evidence_dir, event_stream, **live) as (_, target):
        with DualdrawClient(target, actor="inspector", timeout=60) as client:
            (plan,) = client.list_plans(department_id=HIGH_TECH_ZONE).plans
            task = client.create_task(
                tasks_pb2.Task(department_id=HIGH_TECH_ZONE, team_size=2, plan_id=plan.id, plan_entry_id="e1")
            )
            draw = publishable_draw(client, task.id)
            assert draw.state == draws_pb2.DRAW_STATE_EXECUTED
            first = next(client.iter_assignments(draw.id))
            team = [m.badge_number for m in first.team]
            photo = client.upload_evidence(photo_path)
            sha = photo.name.removeprefix("evidence/")
            record = client.create_inspection_record(
                inspection_record(client, f"draws/{draw.id}/assignments/{first.position}", team, sha)
            )
            assert [a.sha256 for a in record.attachments] == [sha]
            result = client.record_result(
                results_pb2.InspectionResult(
                    draw_id=draw.id,
                    position=first.position,
                    outcome=results_pb2.OUTCOME_PROBLEM_CORRECTED,
                    inspected_on=date_pb(today.isoformat()),
                    findings="压力容器定期检验已超期，责令改正",
                    attachment_sha256=[sha],
                )
            )
            follow_up = client.open_follow_up(
                draw.id,
                first.position,
                follow_ups_pb2.FOLLOW_UP_KIND_RECTIFICATION,
                evidence_files=[(sha, len(PHOTO))],
                note="责令七日内改正",
            )
        first_delivered = wait_delivered(url)
    assert {m.resource for m in first_delivered[Destination.CREDIT]} == {
        f"draws/{draw.id}/assignments/{first.position}/result"
    }

    # 2. No credit endpoint, no broker: rectified, re-inspected, closed, published all wait. kill -9.
    with serving(url, evidence_dir, event_stream, **away) as (process, target):
        with DualdrawClient(target, actor="inspector", timeout=60) as client:
            client.report_rectification(follow_up.name)
            client.record_reinspection(follow_up.name, today, team, rectified=True, note="已整改")
            closed = client.close_follow_up(
                follow_up.name, follow_ups_pb2.FOLLOW_UP_OUTCOME_RECTIFIED, "复查整改到位"
            )
            assert closed.state == follow_ups_pb2.FOLLOW_UP_STATE_CLOSED
            publication = client.publish_results(draw.id)
        time.sleep(0.5)  # a few relay rounds pass meanwhile
        process.kill()
        assert process.wait(timeout=30) == -signal.SIGKILL
    waiting = [m for d in Destination for m in outbox(url, d) if m.state is not DeliveryState.DELIVERED]
    assert {(m.destination, m.resource) for m in waiting if m.destination is Destination.CREDIT} == {
        (Destination.CREDIT, follow_up.name)
    }
    assert all((m.state, m.attempts) == (DeliveryState.PENDING, 0) for m in waiting)
    assert len([m for m in waiting if m.destination is Destination.EVENTS]) == 4  # 2 updates, close, publish

    # 3. Both back; the server dies right after publishing an event, before marking it delivered.
    with serving(url, evidence_dir, event_stream, **live, crash_at="events.after_publish") as (process, _):
        assert process.wait(timeout=60) == -signal.SIGKILL

    # 4. Restarted: the rest is sent; the copy sent again is dropped by the stream.
    with serving(url, evidence_dir, event_stream, **live) as (_, target):
        delivered = wait_delivered(url)
        status = json.loads(
            cli(capsys, "credit", "status", "--state", "delivered", "--json", "--server", target)
        )
        with DualdrawClient(target, actor="inspector", timeout=60) as client:
            audit = [e.sequence for e in client.iter_audit_events()]
            assert (
                client.get_follow_up(follow_up.name).closing.outcome
                == follow_ups_pb2.FOLLOW_UP_OUTCOME_RECTIFIED
            )
            assert [p.state_label for p in client.public_follow_ups(draw.id)] == ["已办结"]
            # The photo the record, the result and the follow-up cite is in the store, whole, after it all.
            cited = client.get_follow_up(follow_up.name).evidence
            assert [(e.sha256, e.size_bytes) for e in cited] == [(sha, len(PHOTO))]
            assert client.get_result(draw.id, first.position).attachment_sha256 == [sha]
            downloaded = bytearray()
            client.download_evidence(photo.name, downloaded.extend)
            assert bytes(downloaded) == PHOTO

    # Credit: the result and the closure, each delivered with the receipt the receiver keeps for its key.
    credit = delivered[Destination.CREDIT]
    assert [(m.resource, m.audit_sequence in audit) for m in credit] == [
        (f"draws/{draw.id}/assignments/{first.position}/result", True),
        (follow_up.name, True),
    ]
    assert (status["pending"], status["delivered"], status["failed"]) == (0, 2, 0)
    assert {(d["message_id"], d["receipt"]) for d in status["deliveries"]} == {
        (m.id, m.receipt) for m in credit
    }
    assert receiver.receipts == {m.id: m.receipt for m in credit}
    bodies: dict[str, set[str]] = {}
    for headers, body in receiver.requests:
        bodies.setdefault(headers["Idempotency-Key"], set()).add(json.dumps(body, sort_keys=True))
    assert {key: len(documents) for key, documents in bodies.items()} == {m.id: 1 for m in credit}
    documents = {key: json.loads(next(iter(documents))) for key, documents in bodies.items()}
    assert [documents[m.id]["action"] for m in credit] == ["result.record", "follow_up.close"]
    assert documents[credit[0].id]["record"]["record_id"] == result.record_id

    # Events: the stream holds every outbox event once by id, in audit order, as a consumer reads it.
    events = delivered[Destination.EVENTS]
    received = event_stream.read(at_least=len(events))
    assert Counter(r.event["id"] for r in received) == Counter(m.id for m in events)
    assert [r.event["auditsequence"] for r in received] == sorted(m.audit_sequence for m in events)
    assert all(r.headers["Nats-Msg-Id"] == r.event["id"] for r in received)
    assert any(m.receipt.endswith(" duplicate") for m in events)  # the one sent again after the crash
    story = [r.event for r in received if r.event["data"].get("draw_id") == draw.id]
    assert [e["type"].removeprefix("org.dualdraw.").removesuffix(".v1") for e in story] == [
        "draw.committed",
        "draw.executed",
        "result.recorded",
        "follow_up.opened",
        "follow_up.updated",
        "follow_up.updated",
        "follow_up.closed",
        "results.published",
    ]
    published = next(r.event["data"] for r in received if r.event["type"].endswith("results.published.v1"))
    assert (published["draw_id"], published["revision"]) == (draw.id, publication.revision)
