"""``DrawQueue``: a bound on the calls that wait for the draw process, so that reads keep their threads.

The draw process runs one job at a time; every other ``Draw``, ``CommitDraw`` and bundle export waits for
it on a thread of the server's gRPC pool (``Settings.max_workers``). When many departments draw at once
(the district load bench: 200 draws through three servers, 67 a server), the waiting draws took every
thread, and a ``GetObject`` queued behind them for up to 24 s. ``DrawQueue`` admits at most ``limit`` such
calls at once and refuses the next one at once with ``Unavailable`` (``DRAW_QUEUE_FULL``): nothing was
written, the client's channel retries it after a short back-off, a caller retries with the same
``request_id`` later or through another server. The pool keeps ``max_workers - limit`` threads for the
other calls.

Draws of one task take turns: a ``Draw`` or ``CommitDraw`` of a task whose earlier call is still inside
waits for that call to leave, without taking a slot, and then enters like any other call. Of such calls
only one can write (the task has one live draw); the others are answered once the first is done
(``DRAW_EXISTS``, or the first's response for a repeated ``request_id``) instead of being refused for
a full queue that only they filled.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dualdraw.domain import model
from dualdraw.domain.errors import Unavailable
from dualdraw.domain.exclusions.model import RuleSet
from dualdraw.service_layer.bundles import BUNDLE_FORMAT, BundleContent
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.draw_runner import DrawRunner

THREADS_KEPT_FOR_OTHER_CALLS = 4
"""Threads of the gRPC pool that waiting draws never take (reads, imports, task creation)."""


def queue_limit(max_workers: int) -> int:
    """How many draw-process calls a server with ``max_workers`` threads admits at once (at least one)."""
    return max(1, max_workers - THREADS_KEPT_FOR_OTHER_CALLS)


class DrawQueue:
    """A ``DrawRunner`` that admits at most ``limit`` calls into ``runner`` at once; same errors otherwise."""

    def __init__(self, runner: DrawRunner, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._runner = runner
        self._limit = limit
        self._admitted = 0
        self._lock = threading.Lock()
        self._turns: dict[str, tuple[threading.Lock, int]] = {}
        """task id → (the task's turn, calls holding or waiting for it)"""

    @property
    def admitted(self) -> int:
        """The calls inside now (running or waiting for the draw process)."""
        return self._admitted

    @contextmanager
    def _slot(self, what: str) -> Iterator[None]:
        with self._lock:
            if self._admitted >= self._limit:
                raise Unavailable(
                    f"{self._limit} draws and bundle exports are already queued on this server; {what} was"
                    " not started, nothing was written: retry with the same request_id, later or through"
                    " another server",
                    reason="DRAW_QUEUE_FULL",
                    metadata={"queued": str(self._admitted)},
                )
            self._admitted += 1
        try:
            yield
        finally:
            with self._lock:
                self._admitted -= 1

    @contextmanager
    def _turn(self, task_id: str) -> Iterator[None]:
        """Waits until no other call of ``task_id`` is inside; holds the task's turn until the block ends."""
        with self._lock:
            turn, users = self._turns.get(task_id, (threading.Lock(), 0))
            self._turns[task_id] = (turn, users + 1)
        try:
            with turn:
                yield
        finally:
            with self._lock:
                turn, users = self._turns[task_id]
                if users == 1:
                    del self._turns[task_id]
                else:
                    self._turns[task_id] = (turn, users - 1)

    @contextmanager
    def _task_slot(self, task_id: str, what: str) -> Iterator[None]:
        with self._turn(task_id), self._slot(what):
            yield

    def run_draw(
        self, rule_set: RuleSet, *, task_id: str, as_of: dt.date | None, caller: Caller
    ) -> model.Draw:
        with self._task_slot(task_id, f"the draw of task {task_id}"):
            return self._runner.run_draw(rule_set, task_id=task_id, as_of=as_of, caller=caller)

    def commit_draw(
        self,
        rule_set: RuleSet,
        *,
        task_id: str,
        as_of: dt.date | None,
        caller: Caller,
        declaration: dict[str, Any],
    ) -> model.Draw:
        with self._task_slot(task_id, f"the commit of task {task_id}"):
            return self._runner.commit_draw(
                rule_set, task_id=task_id, as_of=as_of, caller=caller, declaration=declaration
            )

    def build_bundle(
        self, draw_id: str, *, variant: str, chunk_bytes: int, form: str = BUNDLE_FORMAT
    ) -> BundleContent:
        with self._slot(f"the bundle of draw {draw_id}"):
            return self._runner.build_bundle(draw_id, variant=variant, chunk_bytes=chunk_bytes, form=form)
