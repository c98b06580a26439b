"""The deadline of the call being served, and whether its caller still wants it; checked before a write
commits.

The gRPC layer binds both for every call (``started`` with the client's deadline, ``watched`` with the
call's ``is_active``); ``SqlUnitOfWork.commit`` and the draw process call ``check`` right before they
commit. A write whose caller has given up (its deadline passed, or it cancelled the call) is rolled back
instead of committed.

What a caller may conclude: DEADLINE_EXCEEDED or CANCELLED means **the outcome is unknown**. When the
server could still tell before committing, it wrote nothing; but a deadline that passes during the commit,
or while the reply is on its way, reaches the client as DEADLINE_EXCEEDED after a real write. The safe
answer to either status is to retry with the same ``request_id``: the idempotency ledger answers a write
that did commit with its first response, and one that did not is carried out now (docs/ERRORS.md).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from dualdraw.domain.errors import Cancelled, DeadlineExceeded

_DEADLINE: ContextVar[float | None] = ContextVar("dualdraw_deadline", default=None)
_STILL_WANTED: ContextVar[Callable[[], bool] | None] = ContextVar("dualdraw_still_wanted", default=None)


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


@contextlib.contextmanager
def watched(still_wanted: Callable[[], bool] | None) -> Iterator[None]:
    """Within the block, ``still_wanted()`` says whether the caller still waits for the current call
    (gRPC's ``context.is_active``; in the draw process, the flag its parent sets); ``None``: always."""
    token = _STILL_WANTED.set(still_wanted)
    try:
        yield
    finally:
        _STILL_WANTED.reset(token)


def current() -> float | None:
    """The current call's deadline as a ``time.monotonic()`` value; ``None``: no limit."""
    return _DEADLINE.get()


def cancelled() -> bool:
    """Whether the caller of the current call has gone (cancelled it, or its connection closed)."""
    still_wanted = _STILL_WANTED.get()
    return still_wanted is not None and not still_wanted()


def check() -> None:
    """Raises ``DeadlineExceeded`` when the current call's deadline has passed, ``Cancelled`` when its
    caller has gone; called right before a commit, so that either leaves nothing written."""
    deadline = _DEADLINE.get()
    if deadline is not None and time.monotonic() >= deadline:
        raise DeadlineExceeded("the caller's deadline passed before the write committed; nothing was written")
    if cancelled():
        raise Cancelled("the caller cancelled the call before the write committed; nothing was written")
