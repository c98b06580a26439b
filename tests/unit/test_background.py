"""Work started in the background: its result, or its error, at every call; the caller goes on meanwhile.
Calls handed to a thread in order: run in that order, the rest skipped after an error."""

from __future__ import annotations

import threading

import pytest

from dualdraw.runtime.background import InOrder, in_background


def test_the_result_comes_at_every_call_once_computed() -> None:
    calls: list[str] = []
    result = in_background(lambda: calls.append(threading.current_thread().name) or 42, "test-answer")
    assert result() == 42
    assert result() == 42
    assert calls == ["test-answer"]  # computed once, in its own thread


def test_the_error_is_raised_at_every_call() -> None:
    def fail() -> int:
        raise ValueError("no")

    result = in_background(fail, "test-failure")
    for _ in range(2):
        with pytest.raises(ValueError, match="no"):
            result()


def test_the_caller_goes_on_while_the_work_waits() -> None:
    go = threading.Event()
    result = in_background(lambda: go.wait(10), "test-waiting")
    go.set()  # reached while the work still waits: the call above did not block
    assert result() is True


def test_calls_run_in_the_order_handed_over_in_their_own_thread_while_the_caller_goes_on() -> None:
    ran: list[tuple[int, str]] = []
    go = threading.Event()

    def run(n: int) -> None:
        ran.append((n, threading.current_thread().name))

    in_order = InOrder([lambda: go.wait(10), lambda: run(1)], "t-order")
    in_order.add(lambda: run(2))
    in_order.add(lambda: run(3))
    assert ran == []  # the first call still waits: adding did not block
    go.set()
    assert in_order.close() is None
    assert ran == [(1, "t-order"), (2, "t-order"), (3, "t-order")]


def test_after_an_error_the_rest_are_skipped_and_close_returns_it() -> None:
    ran: list[int] = []

    def fail() -> None:
        raise ValueError("no")

    in_order = InOrder([lambda: ran.append(1), fail], "t-error")
    in_order.add(lambda: ran.append(3))
    error = in_order.close()
    assert isinstance(error, ValueError)
    assert ran == [1]


def test_once_the_rest_are_skipped_close_waits_only_for_the_call_running() -> None:
    ran: list[int] = []
    started, go = threading.Event(), threading.Event()

    def first() -> None:
        started.set()
        go.wait(10)
        ran.append(1)

    in_order = InOrder([first, lambda: ran.append(2)], "t-skip")
    started.wait(10)
    in_order.skip_rest()
    go.set()
    assert in_order.close() is None
    assert ran == [1]
