"""The document a credit push sends (docs/CREDIT-PUSH.md): results with their public fields only, other
records with the fields the format names, the same message always the same bytes."""

from __future__ import annotations

import datetime as dt
import json

from dualdraw.adapters.credit_system import SCHEMA, credit_document, encode, record_kind
from dualdraw.domain.outbox import Destination, OutboxMessage

AT = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


def message(action: str, resource: str, after: dict[str, object]) -> OutboxMessage:
    return OutboxMessage(
        id="credit/7",
        destination=Destination.CREDIT,
        audit_sequence=7,
        action=action,
        resource=resource,
        occurred_at=AT,
        actor="clerk",
        after_json=json.dumps(after),
    )


def test_a_follow_up_closure_sends_the_fields_the_format_names_and_nothing_else() -> None:
    after = {"id": "f-1", "kind": "rectification", "outcome": "rectified", "notes": "internal", "by": "x"}
    document = credit_document(message("follow_up.close", "followUps/f-1", after))
    assert document == {
        "schema": SCHEMA,
        "message_id": "credit/7",
        "sequence": 7,
        "action": "follow_up.close",
        "kind": "follow_up",
        "resource": "followUps/f-1",
        "occurred_at": "2026-12-01T08:00:00Z",
        "record": {
            "record_id": "followUps/f-1",
            "id": "f-1",
            "kind": "rectification",
            "outcome": "rectified",
        },
    }


def test_a_correction_names_its_version_and_reason() -> None:
    after = {
        "draw_id": "d-1",
        "position": 3,
        "version": 2,
        "credit_code": "91130273MA07EQDNG7",
        "correction_reason": "登记住所核查无此企业",
        "recorded_by": "inspector-1",
        "entry": {
            "outcome": "not_found_at_address",
            "inspected_on": "2026-11-30",
            "findings": "not sent",
            "penalty_decision_number": "",
            "referred_to_judicial": False,
            "referral_note": "not sent",
        },
    }
    record = credit_document(message("result.correct", "draws/d-1/assignments/3/result", after))["record"]
    assert record["record_id"] == "d-1/3/v2"
    assert record["correction_reason"] == "登记住所核查无此企业"
    assert record["penalty_decision_number"] is None
    assert "not sent" not in json.dumps(record)
    assert "inspector-1" not in json.dumps(record)


def test_the_same_message_is_the_same_bytes() -> None:
    m = message("objection.decide", "objections/o-1", {"id": "o-1", "decision": "upheld"})
    assert encode(credit_document(m)) == encode(credit_document(m))
    assert record_kind("objection.decide") == "objection"


def test_a_closed_follow_up_sends_how_it_closed_from_its_closing_but_not_the_closing_text() -> None:
    after = {
        "id": "f-2",
        "kind": "case_filing",
        "state": "closed",
        "note": "internal",
        "closing": {
            "outcome": "penalty_decided",
            "text": "internal words",
            "closed_on": "2026-12-03",
            "decision_number": "杭市监罚〔2026〕12号",
        },
    }
    record = credit_document(message("follow_up.close", "followUps/f-2", after))["record"]
    assert record == {
        "record_id": "followUps/f-2",
        "id": "f-2",
        "kind": "case_filing",
        "outcome": "penalty_decided",
        "closed_on": "2026-12-03",
        "decision_number": "杭市监罚〔2026〕12号",
    }
