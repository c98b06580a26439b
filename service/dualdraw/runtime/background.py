"""Work started now in a thread of its own, its result taken later.

For work that mostly runs with the GIL released (C loops such as a draw's hashing, compression, waits on
a database): started early, it runs on the second core while the caller goes on with Python work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def in_background(compute: Callable[[], T], name: str) -> Callable[[], T]:
    """``compute`` started now in a daemon thread called ``name``; the call returned waits for it and gives
    its result, or raises its error, at every call. Dropped without a call, the result is let go when the
    thread ends."""
    outcome: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(compute())
        except BaseException as exc:  # kept for the caller, raised at every call
            error.append(exc)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()

    def call() -> T:
        thread.join()
        if error:
            raise error[0]
        return outcome[0]

    return call
