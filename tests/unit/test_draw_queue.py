"""The draw queue: at most ``limit`` calls wait for the draw process at once; the next is refused at once
(``DRAW_QUEUE_FULL``, nothing run), so waiting draws never take every thread of the server's pool."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest

from dualdraw.adapters.draw_queue import THREADS_KEPT_FOR_OTHER_CALLS, DrawQueue, queue_limit
from dualdraw.domain import model
from dualdraw.domain.errors import Unavailable
from dualdraw.domain.exclusions.model import RuleSet
from dualdraw.service_layer.bundles import BundleContent
from dualdraw.service_layer.context import Caller

CALLER = Caller(actor="tester")


class BlockedRunner:
    """A draw runner whose calls wait until ``release`` is set; counts what it ran."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)
        self.ran: list[str] = []
        self.inside = 0
        self.most_inside = 0
        self._count = threading.Lock()

    def _wait(self, what: str) -> Any:
        with self._count:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        self.entered.release()
        self.release.wait(10)
        with self._count:
            self.inside -= 1
            self.ran.append(what)
        return what

    def run_draw(
        self, rule_set: RuleSet, *, task_id: str, as_of: dt.date | None, caller: Caller
    ) -> model.Draw:
        return self._wait(task_id)  # type: ignore[no-any-return]  # a stand-in for the draw

    def commit_draw(
        self,
        rule_set: RuleSet,
        *,
        task_id: str,
        as_of: dt.date | None,
        caller: Caller,
        declaration: dict[str, Any],
    ) -> model.Draw:
        return self._wait(task_id)  # type: ignore[no-any-return]  # a stand-in for the draw

    def build_bundle(self, draw_id: str, *, variant: str, chunk_bytes: int, form: str = "") -> BundleContent:
        return self._wait(draw_id)  # type: ignore[no-any-return]  # a stand-in for the bundle


def test_a_call_beyond_the_limit_is_refused_at_once_and_runs_nothing() -> None:
    runner = BlockedRunner()
    queue = DrawQueue(runner, limit=2)
    rules: Any = None
    waiting = [
        threading.Thread(target=lambda: queue.run_draw(rules, task_id="t-1", as_of=None, caller=CALLER)),
        threading.Thread(target=lambda: queue.build_bundle("d-1", variant="full", chunk_bytes=1)),
    ]
    for t in waiting:
        t.start()
    for _ in waiting:
        assert runner.entered.acquire(timeout=10)
    assert queue.admitted == 2
    for refused in (
        lambda: queue.run_draw(rules, task_id="t-2", as_of=None, caller=CALLER),
        lambda: queue.commit_draw(rules, task_id="t-3", as_of=None, caller=CALLER, declaration={}),
        lambda: queue.build_bundle("d-2", variant="full", chunk_bytes=1),
    ):
        with pytest.raises(Unavailable) as full:
            refused()
        assert full.value.reason == "DRAW_QUEUE_FULL"
        assert full.value.metadata == {"queued": "2"}
    runner.release.set()
    for t in waiting:
        t.join(10)
    assert sorted(runner.ran) == ["d-1", "t-1"]
    assert queue.admitted == 0
    assert queue.run_draw(rules, task_id="t-2", as_of=None, caller=CALLER) == "t-2"  # type: ignore[comparison-overlap]  # the stand-in


def test_a_failing_call_gives_its_slot_back() -> None:
    class Failing(BlockedRunner):
        def build_bundle(
            self, draw_id: str, *, variant: str, chunk_bytes: int, form: str = ""
        ) -> BundleContent:
            raise Unavailable("the draw process died", reason="DRAW_PROCESS_DIED")

    queue = DrawQueue(Failing(), limit=1)
    for _ in range(3):
        with pytest.raises(Unavailable) as died:
            queue.build_bundle("d-1", variant="full", chunk_bytes=1)
        assert died.value.reason == "DRAW_PROCESS_DIED"
    assert queue.admitted == 0


def test_calls_of_one_task_take_turns_without_taking_slots() -> None:
    """Twenty calls of one task on a queue of one slot: none refused, one inside at a time; another
    task's call is still refused while the slot is taken."""
    runner = BlockedRunner()
    queue = DrawQueue(runner, limit=1)
    rules: Any = None
    errors: list[BaseException] = []

    def draw(n: int) -> None:
        try:
            if n % 2:
                queue.run_draw(rules, task_id="t-1", as_of=None, caller=CALLER)
            else:
                queue.commit_draw(rules, task_id="t-1", as_of=None, caller=CALLER, declaration={})
        except BaseException as error:  # the test collects every failure of a thread
            errors.append(error)

    calls = [threading.Thread(target=draw, args=(n,)) for n in range(20)]
    for t in calls:
        t.start()
    assert runner.entered.acquire(timeout=10)
    with pytest.raises(Unavailable) as full:
        queue.run_draw(rules, task_id="t-2", as_of=None, caller=CALLER)
    assert full.value.reason == "DRAW_QUEUE_FULL"
    runner.release.set()
    for t in calls:
        t.join(10)
    assert errors == []
    assert runner.ran == ["t-1"] * 20
    assert runner.most_inside == 1
    assert queue.admitted == 0
    assert queue._turns == {}  # no turn outlives its calls


def test_the_pool_keeps_threads_for_the_other_calls() -> None:
    assert queue_limit(16) == 16 - THREADS_KEPT_FOR_OTHER_CALLS
    assert queue_limit(2) == 1
