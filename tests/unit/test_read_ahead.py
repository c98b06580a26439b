"""Reading a stream's next batches in a thread while the caller works on the last one."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from dualdraw.runtime.read_ahead import read_ahead


def test_items_come_in_order_and_all() -> None:
    assert list(read_ahead(iter(range(1000)))) == list(range(1000))
    assert list(read_ahead([])) == []


def test_the_source_is_read_ahead_at_most_depth_items_while_the_caller_works() -> None:
    pulled: list[int] = []

    def source() -> Iterator[int]:
        for n in range(10):
            pulled.append(n)
            yield n

    items = read_ahead(source(), depth=2)
    assert next(items) == 0
    deadline = time.monotonic() + 10
    while len(pulled) < 4 and time.monotonic() < deadline:  # the thread reads ahead meanwhile
        time.sleep(0.01)
    time.sleep(0.2)  # ... and stops when the queue is full
    assert pulled == [0, 1, 2, 3]  # one handed over, two waiting, one held until there is room
    assert list(items) == list(range(1, 10))


def test_an_error_of_the_source_is_raised_where_its_item_would_have_been() -> None:
    def source() -> Iterator[int]:
        yield 1
        raise LookupError("the cursor broke")

    items = read_ahead(source())
    assert next(items) == 1
    with pytest.raises(LookupError, match="the cursor broke"):
        next(items)


def test_a_caller_that_stops_early_stops_the_thread_before_it_goes_on() -> None:
    finished = threading.Event()

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            finished.set()

    source = endless()
    items = read_ahead(source)
    assert next(items) == 0
    before = threading.active_count()
    items.close()  # as when the loop over the batches raises
    assert threading.active_count() == before - 1  # the reader thread has ended: the source is free
    assert not finished.is_set()  # the source itself is left to its owner
    assert next(source) > 0


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match="depth must be at least 1"):
        next(read_ahead([1], depth=0))
