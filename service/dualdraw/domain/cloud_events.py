"""Domain events for other bureau services as CloudEvents 1.0 (structured mode, JSON event format).

Each outbox message of the EVENTS destination (``dualdraw.domain.outbox``) becomes one CloudEvent:
``id`` is the message id (stable across retries and restarts: receivers drop duplicates by it), ``source``
names this service (``/dualdraw`` or ``/dualdraw/<instance>``), ``type`` comes from ``EVENT_TYPES`` by the
audit action, ``subject`` is the resource, ``time`` when the change happened, and ``data`` a payload shaped
per type from the audit event's "after" snapshot.

The data is a whitelist (``EventType.fields``), never the snapshot itself: the broker reaches every
subscribed service, so nothing that is confidential before publication leaves this way — no eligible or
selected object lists, no seeds or entropy, no teams or inspector names, no findings or outcomes, no free
text that staff typed (notes, reasons in words). Other services read those through the API, where their
caller's rights apply. An action routed to EVENTS without an entry here still leaves, with an empty
payload (``generic_type``): a missing entry can never leak a field.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dualdraw.domain.outbox import OutboxMessage

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"  # structured mode: the whole event is the message body
DATA_CONTENT_TYPE = "application/json"
TYPE_PREFIX = "org.dualdraw."
SOURCE = "/dualdraw"

Derived = Callable[[Mapping[str, Any]], Any]


def _count(key: str) -> Derived:
    def count(after: Mapping[str, Any]) -> Any:
        value = after.get(key)
        return len(value) if isinstance(value, list) else None

    return count


def _entropy_kind(after: Mapping[str, Any]) -> Any:
    source = after.get("entropy_source")
    kind = source.get("kind") if isinstance(source, Mapping) else None
    return kind if isinstance(kind, str) else None


def _result_record_id(after: Mapping[str, Any]) -> Any:
    draw_id, position, version = after.get("draw_id"), after.get("position"), after.get("version")
    if isinstance(draw_id, str) and isinstance(position, int) and isinstance(version, int):
        return f"{draw_id}/{position}/v{version}"
    return None


def _inspected_on(after: Mapping[str, Any]) -> Any:
    entry = after.get("entry")
    day = entry.get("inspected_on") if isinstance(entry, Mapping) else None
    return day if isinstance(day, str) else None


def _corrected(after: Mapping[str, Any]) -> Any:
    return bool(after.get("correction_reason")) if "version" in after else None


def _on_time(after: Mapping[str, Any]) -> Any:
    published, deadline = after.get("published_at"), after.get("deadline")
    if not isinstance(published, str) or not isinstance(deadline, str):
        return None
    try:
        return dt.datetime.fromisoformat(published).date() <= dt.date.fromisoformat(deadline)
    except ValueError:
        return None


@dataclass(frozen=True)
class EventType:
    """The CloudEvents type of one audit action and what its data may carry.

    ``fields``: keys copied from the audit "after" snapshot when present (values as they are, so only
    fields whose values are ids, states, dates, hashes or counts belong here); ``derived``: keys computed
    from the snapshot (``None`` results are left out).
    """

    name: str  # e.g. "draw.executed": type "org.dualdraw.draw.executed.v1", subject "<prefix>.draw.executed"
    fields: tuple[str, ...] = ()
    derived: Mapping[str, Derived] = field(default_factory=dict)
    version: int = 1

    @property
    def type(self) -> str:
        return f"{TYPE_PREFIX}{self.name}.v{self.version}"


_PLAN = ("plan_id", "version", "state", "content_hash")
_FOLLOW_UP = (
    "follow_up_id",
    "id",
    "draw_id",
    "position",
    "kind",
    "state",
    "opened_on",
    "due_on",
    "closed_on",
)
_OBJECTION = ("objection_id", "id", "draw_id", "position", "state", "received_on", "decided_on", "decision")


def _nested(record: str, key: str) -> Derived:
    """``after[record][key]`` when it is a plain value (a closing's outcome, a decision's day)."""

    def derive(after: Mapping[str, Any]) -> Any:
        inner = after.get(record)
        value = inner.get(key) if isinstance(inner, dict) else None
        return value if isinstance(value, str | int | bool) else None

    return derive


_CLOSING = {"outcome": _nested("closing", "outcome"), "closed_on": _nested("closing", "closed_on")}
_DECISION = {
    "upheld": _nested("decision", "upheld"),
    "decided_on": _nested("decision", "decided_on"),
    "corrected_version": _nested("decision", "corrected_version"),
}
_FILING = ("filing_id", "id", "department_id", "parent_department_id", "sequence", "state", "digest")

# Audit action -> event type. Reviewed field by field against what each action's "after" holds (see the
# module docstring); tests/unit/test_cloud_events.py checks that every routed action of the code has one.
EVENT_TYPES: dict[str, EventType] = {
    "plan.publish": EventType("plan.published", _PLAN),
    "plan.amend": EventType("plan.amended", _PLAN),  # the amendment reason is free text: not sent
    "draw.commit": EventType(
        "draw.committed",
        ("draw_id", "task_id", "manifest_hash"),
        {"entropy_kind": _entropy_kind},  # the kind only: commitments and rounds stay in the API
    ),
    "draw.execute": EventType(
        "draw.executed",
        ("draw_id", "task_id", "manifest_hash"),
        {"selected_count": _count("selected")},  # who was selected, the seed and entropy: through the API
    ),
    "draw.abandon": EventType("draw.abandoned", ("draw_id", "task_id", "state", "reason")),  # no note
    "result.record": EventType(
        "result.recorded",
        ("draw_id", "position", "version"),
        {"record_id": _result_record_id, "inspected_on": _inspected_on},  # no outcome before publication
    ),
    "result.correct": EventType(
        "result.corrected",
        ("draw_id", "position", "version"),
        {"record_id": _result_record_id, "inspected_on": _inspected_on, "corrected": _corrected},
    ),
    "results.publish": EventType(
        "results.published",
        ("draw_id", "revision", "published_at", "inspection_ended_on", "deadline", "verification"),
        {"result_count": _count("versions"), "on_time": _on_time},  # not who published
    ),
    "follow_up.open": EventType("follow_up.opened", _FOLLOW_UP),
    "follow_up.update": EventType("follow_up.updated", _FOLLOW_UP),  # rectified, re-inspected, evidence
    "follow_up.close": EventType("follow_up.closed", _FOLLOW_UP, _CLOSING),  # never the closing's text
    "follow_up.overdue": EventType("follow_up.overdue", _FOLLOW_UP),
    "objection.file": EventType("objection.filed", _OBJECTION),
    "objection.decide": EventType("objection.decided", _OBJECTION, _DECISION),  # never the reason's text
    "directory_filing.submit": EventType("directory_filing.submitted", _FILING),
    "directory_filing.acknowledge": EventType("directory_filing.acknowledged", _FILING),
    "directory_filing.return": EventType("directory_filing.returned", _FILING),
}


def generic_type(action: str) -> EventType:
    """The type of a routed action without an entry: named after the action, with an empty payload."""
    return EventType(action)


def event_type(action: str) -> EventType:
    return EVENT_TYPES.get(action) or generic_type(action)


def event_data(message: OutboxMessage) -> dict[str, Any]:
    """The whitelisted payload of ``message`` (``resource`` always; the type's fields when present)."""
    kind = event_type(message.action)
    try:
        after = json.loads(message.after_json) if message.after_json else {}
    except ValueError:
        after = {}
    if not isinstance(after, dict):
        after = {}
    data: dict[str, Any] = {"resource": message.resource}
    for key in kind.fields:
        if key in after and not isinstance(after[key], dict | list):
            data[key] = after[key]
    for key, derive in kind.derived.items():
        value = derive(after)
        if value is not None:
            data[key] = value
    return data


def source(instance: str = "") -> str:
    """``/dualdraw``, or ``/dualdraw/<instance>`` naming one installation (e.g. a bureau's)."""
    instance = instance.strip().strip("/")
    return f"{SOURCE}/{instance}" if instance else SOURCE


def cloud_event(message: OutboxMessage, *, instance: str = "") -> dict[str, Any]:
    """The CloudEvent of ``message`` as a JSON object (the JSON event format)."""
    kind = event_type(message.action)
    occurred = message.occurred_at
    if occurred.tzinfo is None:
        occurred = occurred.replace(tzinfo=dt.UTC)
    return {
        "specversion": SPEC_VERSION,
        "id": message.id,
        "source": source(instance),
        "type": kind.type,
        "subject": message.resource,
        "time": occurred.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": DATA_CONTENT_TYPE,
        "auditsequence": message.audit_sequence,  # extension: the audit log's sequence, for order and audit
        "data": event_data(message),
    }


def encode(event: Mapping[str, Any]) -> bytes:
    """The event as the message body: compact UTF-8 JSON."""
    return json.dumps(event, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def subject_suffix(action: str) -> str:
    """The part of the broker subject after the configured prefix: the type's name (``draw.executed``)."""
    return event_type(action).name
