"""Pausing Python's cyclic garbage collector while a bulk request builds millions of acyclic objects.

An import of a million records allocates protobuf wrappers, records, tuples and strings by the million; none
of them form reference cycles, so reference counting frees them all, but each collection the allocations
trigger still walks every live object (a quarter of an import's CPU time at 100k records). The collector is
off while any ``paused()`` block runs, in any thread, and back on when the last one ends; cyclic garbage of
other requests waits that long.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pauses:
    """How many ``paused()`` blocks run, and whether the collector was on before the first one."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holders = 0
        self.was_enabled = False


_pauses = _Pauses()


@contextmanager
def paused() -> Iterator[None]:
    """Runs the block with automatic garbage collection disabled (nested and concurrent blocks allowed)."""
    with _pauses.lock:
        if _pauses.holders == 0:
            _pauses.was_enabled = gc.isenabled()
            gc.disable()
        _pauses.holders += 1
    try:
        yield
    finally:
        with _pauses.lock:
            _pauses.holders -= 1
            if _pauses.holders == 0 and _pauses.was_enabled:
                gc.enable()
