"""The deadline of the call being served, checked before a write commits.

The gRPC layer sets it from the client's deadline (``started``); ``SqlUnitOfWork.commit`` calls ``check``.
A write whose caller has given up is rolled back instead of committed, so a client that saw
DEADLINE_EXCEEDED knows its write did not happen and may retry it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar

from dualdraw.domain.errors import DeadlineExceeded

_DEADLINE: ContextVar[float | None] = ContextVar("dualdraw_deadline", default=None)


@contextlib.contextmanager
def started(remaining_s: float | None) -> Iterator[None]:
    """Within the block, the current call must finish within ``remaining_s`` seconds (``None``: no limit)."""
    with until(None if remaining_s is None else time.monotonic() + remaining_s):
        yield


@contextlib.contextmanager
def until(deadline: float | None) -> Iterator[None]:
    """Within the block, the current call must finish by ``deadline`` (a ``time.monotonic()`` value).

    ``time.monotonic`` is one clock for every process on the machine (CLOCK_MONOTONIC on Linux), so the
    draw process (``dualdraw.adapters.draw_process``) honours the deadline its parent passes as a number.
    """
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def current() -> float | None:
    """The current call's deadline as a ``time.monotonic()`` value; ``None``: no limit."""
    return _DEADLINE.get()


def check() -> None:
    """Raises ``DeadlineExceeded`` when the current call's deadline has passed."""
    deadline = _DEADLINE.get()
    if deadline is not None and time.monotonic() >= deadline:
        raise DeadlineExceeded("the caller's deadline passed before the write committed; nothing was written")
