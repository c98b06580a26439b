"""Strictly ascending sequences (a draw's credit codes): the check, and finding an item by binary search."""

from __future__ import annotations

import operator
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from functools import partial
from itertools import islice


def strictly_ascending(items: Sequence[str]) -> bool:
    """Whether each of ``items`` is greater than the one before (so no two are equal): one C-level pass."""
    return all(map(operator.lt, items, islice(items, 1, None)))


def positions_in(ascending: Sequence[str], items: Iterable[str]) -> list[int | None]:
    """The position of each of ``items`` among ``ascending`` (strictly ascending), by binary search;
    ``None`` for one that is not there. For some thousands of lookups among a draw's million codes, where a
    set of them would be one more structure at the draw's peak: the searches are one C-level pass."""
    listed = items if isinstance(items, list) else list(items)
    n = len(ascending)
    return [
        at if at < n and ascending[at] == item else None
        for item, at in zip(listed, map(partial(bisect_left, ascending), listed), strict=True)
    ]
