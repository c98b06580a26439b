"""Page tokens (AIP-158): opaque, bound to the list's filter, so a token from another query is refused."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from typing import TypeVar

from dualdraw.domain.errors import FieldViolation, InvalidArgument
from dualdraw.service_layer.ports import Page, PageRequest

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def _fingerprint(filters: tuple[str, ...]) -> str:
    return hashlib.sha256("\x00".join(filters).encode()).hexdigest()[:16]


def page_request(page_size: int, page_token: str, *filters: str) -> PageRequest:
    """Validates ``page_size`` (0 means the default, above the maximum is clamped) and decodes the token."""
    if page_size < 0:
        raise InvalidArgument(
            [FieldViolation("page_size", "must not be negative", reason="VALUE_OUT_OF_RANGE")]
        )
    size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    if not page_token:
        return PageRequest(size=size)
    try:
        raw = json.loads(base64.urlsafe_b64decode(page_token.encode("ascii") + b"=" * (-len(page_token) % 4)))
        after, fingerprint = raw["a"], raw["f"]
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error) as exc:
        raise InvalidArgument(
            [FieldViolation("page_token", "not a token this server issued", reason="PAGE_TOKEN_INVALID")]
        ) from exc
    if fingerprint != _fingerprint(filters) or not isinstance(after, str):
        raise InvalidArgument(
            [FieldViolation("page_token", "was issued for a different query", reason="PAGE_TOKEN_INVALID")]
        )
    return PageRequest(size=size, after=after)


def page_of(items: Sequence[T], request: PageRequest) -> Page[T]:
    """One page of a list its use case returns whole (short lists: versions, pending publications...), by
    position: the token holds the offset of the page's first item."""
    start = 0
    if request.after is not None:
        if not request.after.isdigit():
            raise InvalidArgument(
                [FieldViolation("page_token", "not a token this server issued", reason="PAGE_TOKEN_INVALID")]
            )
        start = int(request.after)
    end = start + request.size
    return Page(list(items[start:end]), str(end) if end < len(items) else None)


def next_page_token(next_after: str | None, *filters: str) -> str:
    """The token for the page after ``next_after``; empty on the last page."""
    if next_after is None:
        return ""
    raw = json.dumps({"a": next_after, "f": _fingerprint(filters)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
