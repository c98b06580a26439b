"""Work started in the background: its result, or its error, at every call; the caller goes on meanwhile."""

from __future__ import annotations

import threading

import pytest

from dualdraw.runtime.background import in_background


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
