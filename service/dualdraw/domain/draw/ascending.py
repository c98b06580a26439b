"""Strictly ascending sequences (a draw's credit codes): the check, and finding an item by binary search."""

from __future__ import annotations

import operator
from bisect import bisect_left
from collections.abc import Sequence
from itertools import islice


def strictly_ascending(items: Sequence[str]) -> bool:
    """Whether each of ``items`` is greater than the one before (so no two are equal): one C-level pass."""
    return all(map(operator.lt, items, islice(items, 1, None)))


def position_in(ascending: Sequence[str], item: str) -> int | None:
    """The position of ``item`` among ``ascending`` (strictly ascending), by binary search; ``None`` when it
    is not one of them. For a few lookups among a draw's million codes, where a set of them would be one
    more structure at the draw's peak."""
    at = bisect_left(ascending, item)
    return at if at < len(ascending) and ascending[at] == item else None
