"""Page tokens (entrypoints/grpc/pagination.py): lists a use case returns whole are paged by position, every
item once; a token is bound to its query's filters, and a token this server did not issue is refused."""

from __future__ import annotations

import pytest

from dualdraw.domain.errors import InvalidArgument
from dualdraw.entrypoints.grpc.pagination import next_page_token, page_of, page_request


def _reasons(raised: pytest.ExceptionInfo[InvalidArgument]) -> set[str]:
    return {v.reason for v in raised.value.violations}


def test_a_whole_list_is_paged_by_position_every_item_once() -> None:
    items = [f"v{n}" for n in range(7)]
    seen: list[str] = []
    token = ""
    while True:
        page = page_of(items, page_request(3, token, "draw-1"))
        seen.extend(page.items)
        token = next_page_token(page.next_after, "draw-1")
        if not token:
            break
    assert seen == items
    assert page_of([], page_request(0, "")).items == []


def test_a_token_of_another_query_or_not_issued_is_refused() -> None:
    token = next_page_token(page_of(list(range(5)), page_request(2, "", "draw-1")).next_after, "draw-1")
    with pytest.raises(InvalidArgument) as other:
        page_request(2, token, "draw-2")
    assert _reasons(other) == {"PAGE_TOKEN_INVALID"}
    with pytest.raises(InvalidArgument) as forged:
        page_of([1, 2, 3], page_request(2, next_page_token("not-an-offset", "draw-1"), "draw-1"))
    assert _reasons(forged) == {"PAGE_TOKEN_INVALID"}
    with pytest.raises(InvalidArgument) as negative:
        page_request(-1, "")
    assert _reasons(negative) == {"VALUE_OUT_OF_RANGE"}
