"""The audit log: one event per write, appended in the same transaction as the write itself.

Before/after snapshots are JSON of the domain records (dates ISO, ratios as fractions "n/d", enums by value,
sets sorted), serialised canonically so that equal records give equal text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from enum import Enum
from fractions import Fraction
from typing import Any

from dualdraw.domain.model import AuditEvent, AuditRecord
from dualdraw.domain.outbox import messages_for
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.ports import UnitOfWork


def snapshot(value: Any) -> Any:
    """A JSON-ready view of a domain record (recursively)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: snapshot(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, frozenset | set):
        return sorted(snapshot(v) for v in value)
    if isinstance(value, list | tuple):
        if set(map(type, value)) <= {str}:  # a draw's selected codes: tens of thousands, checked in C
            return list(value)
        return [snapshot(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): snapshot(v) for k, v in value.items()}
    return value


def to_json(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(snapshot(value), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def version_stored_by(uow: UnitOfWork, resource: str, caller: Caller) -> int | None:
    """The version of ``resource`` an earlier call with ``caller``'s request id stored (its audit event's
    "after" names it), so a repeated request answers what it stored the first time (AIP-155); ``None``
    when there was no such call or no request id."""
    if not caller.request_id:
        return None
    for event in uow.audit.events_of(resource):
        if event.request_id == caller.request_id and event.after_json:
            return int(json.loads(event.after_json)["version"])
    return None


def record_event(
    uow: UnitOfWork,
    caller: Caller,
    *,
    action: str,
    resource: str,
    before: Any = None,
    after: Any = None,
) -> None:
    """Stages one event for ``uow``'s transaction: appended to the log, with the outbox messages it gives
    rise to (``dualdraw.domain.outbox.ROUTES``), by ``uow.commit()`` (committed with the change or not at
    all). The log's head is locked only then, so a long transaction does not hold up every other write."""
    uow.audit.stage(_record(caller, action, resource, before, after))


def append_event(
    uow: UnitOfWork,
    caller: Caller,
    *,
    action: str,
    resource: str,
    before: Any = None,
    after: Any = None,
) -> AuditEvent:
    """``record_event`` appended at once, for a use case that needs the event's sequence before it commits
    (it holds the log's head from now to its commit)."""
    event = uow.audit.append(_record(caller, action, resource, before, after))
    uow.outbox.add(messages_for(event))
    return event


def _record(caller: Caller, action: str, resource: str, before: Any, after: Any) -> AuditRecord:
    return AuditRecord(
        actor=caller.actor,
        action=action,
        resource=resource,
        before_json=to_json(before),
        after_json=to_json(after),
        request_id=caller.request_id,
        occurred_at=caller.now,
    )
