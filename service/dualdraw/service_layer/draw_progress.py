"""How far a draw is: its stages, a log of them, and running a draw with the cyclic GC paused."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dualdraw.runtime import collection_pause

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: told as a draw goes; a stage has ended when ``done == total`` (the
items it went through: objects evaluated, eligible objects ranked, teams formed...). In this order:
``load`` (objects in scope), ``rules`` (after each shard), ``commitments`` (manifest and Merkle roots),
``store`` (the committed draw and its commit event written, not yet committed; in a one-step draw queued,
then written beside the selection and teams), then for an executed
draw ``selection``, ``teams`` (the assignments, a batch at a time as their teams are formed, queued to be
written behind), ``persist`` (every write queued so far done), ``audit`` (the execute event appended to the
audit log) and ``commit`` (the transaction)."""

DRAW_STAGES = ("load", "rules", "commitments", "store", "selection", "teams", "persist", "audit", "commit")


class StageLog:
    """A ``Progress`` that logs each stage of a draw as it ends, with how long it took (and the rules
    stage every ``every_s`` seconds while it runs), so that an operator sees where a long draw is.
    ``seconds`` keeps each ended stage's duration: the time since the previous stage ended."""

    def __init__(
        self, what: str, every_s: float = 5.0, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self._what = what
        self._every_s = every_s
        self._clock = clock
        self._since = self._reported = clock()
        self.seconds: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = self._clock()
        if done < total:
            if now - self._reported >= self._every_s:
                self._reported = now
                log.info("%s: %s %d of %d", self._what, stage, done, total)
            return
        self.seconds[stage] = now - self._since
        log.info("%s: %s done (%d) in %.2f s", self._what, stage, total, self.seconds[stage])
        self._since = self._reported = now


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """Runs the block without the cyclic garbage collector, restoring its previous state afterwards.

    A draw allocates millions of small objects that live until it ends (a 1M draw: objects, entries,
    leaves); each allocation burst triggers collections that walk all of them again, which cost more than
    half of loading a million objects. Reference counting still frees everything; cycles wait for the
    next collection after the block.
    """
    with collection_pause.paused():  # one counted pause, shared with concurrent imports
        yield
