"""Callers that read through the API while a draw runs, as a bureau's other services would: ``GetObject``
every 10 ms and (unless ``BENCH_EXPLAIN=0``) ``ExplainExclusion`` four times a second, which evaluates the
rules for one object. ``reading`` runs them around a block and then gives their latencies as summary
figures (``figures``): count, p50 and p99 of each, the slowest explanation."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

READ_EVERY_S = 0.01
EXPLAIN_EVERY_S = 0.25


@dataclass
class Reads:
    """The seconds each call took, in the order they were made."""

    objects: list[float] = field(default_factory=list)
    explanations: list[float] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        """``reads_during_draw``, ``read_p50_ms``, ``read_p99_ms`` and the same for explanations
        (``explain_max_ms`` too); nothing for a kind that made no call."""
        out: dict[str, Any] = {}
        for name, kind, seconds in (
            ("reads", "read", self.objects),
            ("explains", "explain", self.explanations),
        ):
            if not seconds:
                continue
            ordered = sorted(seconds)
            out[f"{name}_during_draw"] = len(ordered)
            out[f"{kind}_p50_ms"] = round(1000 * ordered[len(ordered) // 2], 1)
            out[f"{kind}_p99_ms"] = round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1)
        if self.explanations:
            out["explain_max_ms"] = round(1000 * max(self.explanations), 1)
        return out


@contextmanager
def reading(target: str, credit_code: str, *, task_id: str, as_of: dt.date) -> Iterator[Reads]:
    """Readers of ``credit_code`` (and its exclusions for ``task_id`` on ``as_of``) against the server at
    ``target`` for the duration of the block, each on its own channel; stopped and joined when it ends."""
    from dualdraw_client import DualdrawClient

    reads = Reads()
    stop = threading.Event()

    def read_objects() -> None:
        with DualdrawClient(target, actor="bench-reader", timeout=30) as reader:
            while not stop.is_set():
                start = time.perf_counter()
                reader.get_object(credit_code)
                reads.objects.append(time.perf_counter() - start)
                time.sleep(READ_EVERY_S)

    def explain() -> None:
        with DualdrawClient(target, actor="bench-reader", timeout=30) as reader:
            while not stop.wait(EXPLAIN_EVERY_S):
                start = time.perf_counter()
                reader.explain_exclusion(credit_code, as_of=as_of, task_id=task_id)
                reads.explanations.append(time.perf_counter() - start)

    readers = [threading.Thread(target=read_objects)]
    if os.environ.get("BENCH_EXPLAIN", "1") != "0":
        readers.append(threading.Thread(target=explain))
    for reader in readers:
        reader.start()
    try:
        yield reads
    finally:
        stop.set()
        for reader in readers:
            reader.join()
