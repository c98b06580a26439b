"""CloudEvents for the event broker: every routed action has a type, the envelope follows CloudEvents 1.0,
and the payload is a whitelist that never carries what is confidential before publication."""

from __future__ import annotations

import ast
import datetime as dt
import json
from pathlib import Path

import pytest

from dualdraw.domain.cloud_events import EVENT_TYPES, cloud_event, encode, event_type, generic_type
from dualdraw.domain.outbox import ROUTES, Destination, OutboxMessage, routed

SERVICE = Path(__file__).resolve().parents[2] / "service" / "dualdraw"
T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
SECRET = "SECRET-must-not-leave"


def audit_actions() -> set[str]:
    """Every audit action the service code writes: ``action=`` constants (either branch of a conditional)
    and the action argument of ``_event(uow, caller, "...", ...)`` helpers."""
    found: set[str] = set()

    def constants(node: ast.expr) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.IfExp):
            return constants(node.body) + constants(node.orelse)
        return []

    for path in SERVICE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg == "action":
                    found.update(constants(keyword.value))
            name = node.func.id if isinstance(node.func, ast.Name) else ""
            if name.endswith("_event") and len(node.args) >= 3:
                found.update(constants(node.args[2]))
    return {a for a in found if "." in a and " " not in a}


def message(action: str, after: object, resource: str = "draws/d-1") -> OutboxMessage:
    return OutboxMessage(
        id="events/42",
        destination=Destination.EVENTS,
        audit_sequence=42,
        action=action,
        resource=resource,
        occurred_at=T0,
        actor="clerk",
        after_json=json.dumps(after),
    )


def test_every_action_the_code_routes_to_the_broker_has_a_reviewed_type() -> None:
    actions = audit_actions()
    assert {"draw.commit", "draw.execute", "plan.publish", "results.publish"} <= actions  # the scan works
    routed_here = {a for a in actions if routed(a, Destination.EVENTS)}
    assert routed_here, "nothing routed to the broker?"
    missing = sorted(routed_here - EVENT_TYPES.keys())
    assert not missing, f"routed to EVENTS without an entry in EVENT_TYPES (review their fields): {missing}"


def test_every_type_is_routed_and_named_once() -> None:
    assert all(routed(action, Destination.EVENTS) for action in EVENT_TYPES), ROUTES[Destination.EVENTS]
    types = [t.type for t in EVENT_TYPES.values()]
    assert len(types) == len(set(types))
    assert EVENT_TYPES["draw.execute"].type == "org.dualdraw.draw.executed.v1"


def test_the_envelope_is_a_cloudevent_with_the_stable_message_id() -> None:
    event = cloud_event(message("draw.commit", {"draw_id": "d-1", "task_id": "t-1"}), instance="bureau-a/")
    assert event["specversion"] == "1.0"
    assert event["id"] == "events/42"
    assert event["source"] == "/dualdraw/bureau-a"
    assert event["type"] == "org.dualdraw.draw.committed.v1"
    assert event["subject"] == "draws/d-1"
    assert event["time"] == "2026-12-01T08:00:00Z"
    assert event["datacontenttype"] == "application/json"
    assert event["auditsequence"] == 42
    assert event["data"] == {"resource": "draws/d-1", "draw_id": "d-1", "task_id": "t-1"}
    assert json.loads(encode(event)) == event
    assert cloud_event(message("draw.commit", {}))["source"] == "/dualdraw"


def test_a_commit_names_its_entropy_kind_but_no_commitment() -> None:
    after = {
        "draw_id": "d-1",
        "task_id": "t-1",
        "manifest_hash": "ab" * 32,
        "entropy_source": {"kind": "commit-reveal", "parties": [{"name": "x", "commitment": SECRET}]},
    }
    data = cloud_event(message("draw.commit", after))["data"]
    assert data["entropy_kind"] == "commit-reveal"
    assert data["manifest_hash"] == "ab" * 32
    assert SECRET not in json.dumps(data)


def test_an_execution_gives_counts_never_the_selected_objects_the_seed_or_the_entropy() -> None:
    after = {
        "draw_id": "d-1",
        "task_id": "t-1",
        "manifest_hash": "cd" * 32,
        "entropy_source": "commit-reveal",
        "entropy": SECRET,
        "seed": SECRET,
        "selected": [f"{SECRET}-{n}" for n in range(3)],
        "teams": [[SECRET]],
    }
    data = cloud_event(message("draw.execute", after))["data"]
    assert data == {
        "resource": "draws/d-1",
        "draw_id": "d-1",
        "task_id": "t-1",
        "manifest_hash": "cd" * 32,
        "selected_count": 3,
    }


def test_a_result_says_that_it_was_recorded_not_what_was_found() -> None:
    after = {
        "draw_id": "d-1",
        "position": 2,
        "version": 1,
        "credit_code": SECRET,
        "entry": {
            "outcome": SECRET,
            "inspected_on": "2026-11-30",
            "findings": SECRET,
            "penalty_decision_number": SECRET,
            "referral_note": SECRET,
        },
        "recorded_by": SECRET,
        "correction_reason": "",
    }
    data = cloud_event(message("result.record", after, "draws/d-1/assignments/2/result"))["data"]
    assert data == {
        "resource": "draws/d-1/assignments/2/result",
        "draw_id": "d-1",
        "position": 2,
        "version": 1,
        "record_id": "d-1/2/v1",
        "inspected_on": "2026-11-30",
    }
    corrected = cloud_event(message("result.correct", {**after, "version": 2, "correction_reason": SECRET}))
    assert corrected["data"]["corrected"] is True
    assert SECRET not in json.dumps(corrected)


def test_an_abandonment_and_an_amendment_leave_their_free_text_behind() -> None:
    abandoned = cloud_event(
        message(
            "draw.abandon", {"draw_id": "d-1", "state": "abandoned", "reason": "OPERATOR", "note": SECRET}
        )
    )
    assert abandoned["data"]["reason"] == "OPERATOR"
    amended = cloud_event(
        message(
            "plan.amend", {"plan_id": "p-1", "version": 2, "state": "published", "amendment_reason": SECRET}
        )
    )
    assert amended["data"]["version"] == 2
    assert SECRET not in json.dumps([abandoned, amended])


def test_a_publication_carries_its_counts_and_deadline_not_who_published() -> None:
    after = {
        "draw_id": "d-1",
        "revision": 1,
        "published_at": "2026-12-10T09:00:00+08:00",
        "published_by": SECRET,
        "inspection_ended_on": "2026-12-05",
        "deadline": "2026-12-29",
        "verification": "match",
        "versions": [[1, 1], [2, 1]],
    }
    data = cloud_event(message("results.publish", after, "draws/d-1/publication"))["data"]
    assert data["result_count"] == 2
    assert data["on_time"] is True
    assert SECRET not in json.dumps(data)


@pytest.mark.parametrize("action", sorted(EVENT_TYPES))
def test_no_type_copies_nested_values_or_unlisted_fields(action: str) -> None:
    after: dict[str, object] = dict.fromkeys(
        ("note", "findings", "seed", "entropy", "eligible", "team", "actor"), SECRET
    )
    after |= {key: {"nested": SECRET} for key in event_type(action).fields}
    data = cloud_event(message(action, after))["data"]
    assert SECRET not in json.dumps(data)


def test_an_action_without_a_type_leaves_with_its_resource_only() -> None:
    event = cloud_event(
        message("follow_up.escalate", {"follow_up_id": "f-1", "note": SECRET}, "followUps/f-1")
    )
    assert event["type"] == generic_type("follow_up.escalate").type == "org.dualdraw.follow_up.escalate.v1"
    assert event["data"] == {"resource": "followUps/f-1"}


def test_a_closed_follow_up_and_a_decided_objection_carry_their_outcome_but_no_text() -> None:
    closed = {
        "id": "f-1",
        "state": "closed",
        "closing": {"outcome": "rectified", "text": "secret words", "closed_on": "2026-12-03"},
    }
    data = cloud_event(message("follow_up.close", closed, "followUps/f-1"))["data"]
    assert data["outcome"] == "rectified"
    assert data["closed_on"] == "2026-12-03"
    assert "secret words" not in json.dumps(data)
    decided = {
        "id": "o-1",
        "decision": {
            "upheld": True,
            "reason": "private reason",
            "decided_on": "2026-12-04",
            "decided_by": "x",
        },
    }
    data = cloud_event(message("objection.decide", decided, "objections/o-1"))["data"]
    assert data["upheld"] is True
    assert data["decided_on"] == "2026-12-04"
    assert "private reason" not in json.dumps(data)
    assert "decided_by" not in json.dumps(data)
