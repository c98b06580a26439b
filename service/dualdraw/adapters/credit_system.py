"""The credit-information system's receiving endpoint (Art. 13): one HTTP POST of a JSON document per outbox
message, answered with a receipt.

The document format is specified in docs/CREDIT-PUSH.md. ``CreditSender`` is an outbox ``Sender``
(``dualdraw.service_layer.outbox_delivery``): it returns the receipt of a 2xx answer and raises
``CreditPushError`` for anything else, so the message is retried with backoff. Every request carries the
message id as ``Idempotency-Key``: a message sent again after a crash between send and mark is the same
request to the receiver, which drops it by that key (or by ``record_id``).
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dualdraw.domain.outbox import OutboxMessage

SCHEMA = "dualdraw.credit-push/1"
MAX_RECEIPT_CHARS = 200  # what is kept of a receipt (receivers send numbers or short ids)
MAX_ANSWER_CHARS = 200  # what of a refusal's body goes into the error text

# Fields of a result version (its audit snapshot, ``dualdraw.domain.results.InspectionResult``) that the
# credit record receives: no findings text, no inspector data, no referral notes (as in the credit export).
_ENTRY_FIELDS = ("outcome", "inspected_on", "penalty_decision_number", "referred_to_judicial")
# Fields of other records (follow-up closures, objection decisions) passed on when their snapshot has them.
_RECORD_FIELDS = (
    "id",
    "draw_id",
    "position",
    "credit_code",
    "kind",
    "outcome",
    "decision",
    "closed_on",
    "decided_on",
    "penalty_decision_number",
)


class CreditPushError(Exception):
    """The receiver did not acknowledge a message; ``permanent`` when it refused the request itself (a 4xx
    other than 408 and 429): retrying it unchanged will not help, but it is retried all the same (capped
    backoff) so that a receiver fixed on its side takes it without anyone re-sending."""

    def __init__(self, text: str, *, permanent: bool = False) -> None:
        super().__init__(text)
        self.permanent = permanent


def record_kind(action: str) -> str:
    """``result``, ``follow_up`` or ``objection``: the audit action's first part."""
    return action.partition(".")[0]


def credit_document(message: OutboxMessage) -> dict[str, Any]:
    """The JSON document sent for ``message`` (docs/CREDIT-PUSH.md)."""
    after: Mapping[str, Any] = json.loads(message.after_json) if message.after_json else {}
    kind = record_kind(message.action)
    record: dict[str, Any]
    if kind == "result":
        entry = after.get("entry") or {}
        version = int(after.get("version", 0))
        record = {
            "record_id": f"{after.get('draw_id')}/{after.get('position')}/v{version}",
            "draw_id": after.get("draw_id"),
            "position": after.get("position"),
            "version": version,
            "credit_code": after.get("credit_code"),
            **{name: entry.get(name) for name in _ENTRY_FIELDS},
        }
        record["penalty_decision_number"] = record["penalty_decision_number"] or None
        record["correction_reason"] = after.get("correction_reason") or None
    else:
        record = {"record_id": message.resource, **{k: after[k] for k in _RECORD_FIELDS if k in after}}
        closing = after.get("closing")  # a closed follow-up: how it closed, not the closing text
        if isinstance(closing, Mapping):
            record.update(
                {k: closing[k] for k in ("outcome", "closed_on", "decision_number") if k in closing}
            )
    return {
        "schema": SCHEMA,
        "message_id": message.id,
        "sequence": message.audit_sequence,
        "action": message.action,
        "kind": kind,
        "resource": message.resource,
        "occurred_at": message.occurred_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "record": record,
    }


def encode(document: Mapping[str, Any]) -> bytes:
    """UTF-8 JSON, keys sorted, no insignificant whitespace (the same message gives the same bytes)."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _receipt(body: bytes) -> str:
    try:
        answer = json.loads(body.decode("utf-8")) if body.strip() else {}
    except (UnicodeDecodeError, ValueError) as exc:
        raise CreditPushError(f"the receiver answered 2xx without a JSON receipt: {body[:80]!r}") from exc
    receipt = answer.get("receipt") if isinstance(answer, dict) else None
    if not isinstance(receipt, str | int) or isinstance(receipt, bool) or str(receipt) == "":
        raise CreditPushError('the receiver answered 2xx without a "receipt"')
    return str(receipt)[:MAX_RECEIPT_CHARS]


@dataclass(frozen=True)
class CreditSender:
    """POSTs outbox messages to ``url``; TLS certificates are verified (with ``ca_file`` when given)."""

    url: str
    timeout_s: float = 10.0
    token: str = ""  # sent as ``Authorization: Bearer <token>`` when set
    ca_file: Path | None = None

    @classmethod
    def from_files(
        cls, url: str, *, timeout_s: float, token_file: Path | None = None, ca_file: Path | None = None
    ) -> CreditSender:
        token = token_file.read_text(encoding="utf-8").strip() if token_file is not None else ""
        return cls(url, timeout_s, token, ca_file)

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"DUALDRAW_CREDIT_URL must be an http:// or https:// URL, not {self.url!r}")
        if self.timeout_s <= 0:
            raise ValueError(f"DUALDRAW_CREDIT_TIMEOUT_S must be positive, not {self.timeout_s}")

    def __call__(self, message: OutboxMessage) -> str:
        """Sends ``message``; returns the receiver's receipt or raises ``CreditPushError``."""
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "Idempotency-Key": message.id,
            "User-Agent": "dualdraw-credit-push",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(  # noqa: S310 (http or https only: __post_init__)
            self.url, data=encode(credit_document(message)), headers=headers, method="POST"
        )
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s, context=context) as answer:  # noqa: S310 (see above)
                return _receipt(answer.read())
        except urllib.error.HTTPError as exc:
            body = exc.read()[:MAX_ANSWER_CHARS].decode("utf-8", "replace")
            permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
            raise CreditPushError(
                f"HTTP {exc.code}{' (refused)' if permanent else ''}: {body}".strip(), permanent=permanent
            ) from exc
        except TimeoutError as exc:
            raise CreditPushError(f"no answer within {self.timeout_s:g} s") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise CreditPushError(f"no answer within {self.timeout_s:g} s") from exc
            raise CreditPushError(f"cannot reach the credit system: {exc.reason}") from exc
        except OSError as exc:  # the connection broke during the answer
            raise CreditPushError(f"the connection to the credit system broke: {exc}") from exc
