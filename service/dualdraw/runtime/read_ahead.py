"""Reading the next batches of a stream while the caller works on the last one.

A draw loads a million rows through a database cursor: each batch is a round trip in which the database
produces rows while the caller waits, then the caller converts them while the database waits. ``read_ahead``
pulls the batches in a thread of its own, which waits for the database with the GIL released, so that the
database produces the next batch while the caller converts the last one: both processes work.

The thread is the only user of the source while the caller iterates; a caller that stops early (an error,
or ``close()`` of the generator) stops the thread before it returns, so the source is free again afterwards.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from typing import Final, TypeVar

T = TypeVar("T")

DEPTH: Final = 2
"""Batches read ahead at most: enough to keep the database busy, few enough to hold little memory."""

_POLL_S: Final = 0.1


class _End:
    """The source is exhausted (``error`` is ``None``) or raised ``error``."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def read_ahead(source: Iterable[T], depth: int = DEPTH) -> Generator[T, None, None]:
    """The items of ``source`` in order, up to ``depth`` of them read ahead by a thread. An exception of
    ``source`` is raised here, where the item it failed to produce would have been."""
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    ready: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: T | _End) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def pull() -> None:
        try:
            for item in source:
                if not offer(item):
                    return
        except BaseException as exc:  # handed to the consumer, who raises it
            offer(_End(exc))
            return
        offer(_End())

    reader = threading.Thread(target=pull, name="dualdraw-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item = ready.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        stop.set()
        reader.join()
