"""Giving the C heap's free pages back to the operating system after a bulk request.

A large import parses millions of protobuf messages and builds millions of records; once they are freed,
glibc keeps the freed pages of its heaps mapped (fragmented among a few live allocations), so a server that
imported a province holds hundreds of megabytes it no longer uses while the next draw needs them.
``malloc_trim(0)`` returns every whole free page; elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim this way
        return None
    return trim


def give_back_free_memory() -> bool:
    """Returns the C heap's whole free pages to the system; whether there was a way to (glibc)."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
