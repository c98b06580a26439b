"""Work started now in a thread of its own, its result taken later.

For work that mostly runs with the GIL released (C loops such as a draw's hashing, compression, waits on
a database): started early, it runs on the second core while the caller goes on with Python work.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
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


class InOrder:
    """Calls run one after the other in a thread of their own, in the order they are handed over (``add``),
    until ``close``. After a call raises, the rest are skipped: ``close`` returns that error."""

    def __init__(self, calls: Iterable[Callable[[], object]], name: str) -> None:
        self._queue: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._skip = False
        for call in calls:
            self._queue.put(call)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def add(self, call: Callable[[], object]) -> None:
        """Runs ``call`` after those handed over before it."""
        self._queue.put(call)

    def skip_rest(self) -> None:
        """The calls not started yet will not run."""
        self._skip = True

    def close(self) -> BaseException | None:
        """Waits for the calls handed over (those not skipped); returns the error one of them raised, if
        any."""
        self._queue.put(None)
        self._thread.join()
        return self._error

    def _run(self) -> None:
        while (call := self._queue.get()) is not None:
            if self._error is not None or self._skip:
                continue
            try:
                call()
            except BaseException as exc:  # kept for ``close``
                self._error = exc
