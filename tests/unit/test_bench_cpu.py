"""The benchmarks' CPU counts read every process's ticks so that a process reaped during the reading is
counted once: through its parent, or while it lived, never both and never neither."""

from __future__ import annotations

import pytest
from bench.cpu import ProcessTicks, settled_ticks

PARENT, CHILD = 20, 10  # the child's pid below its parent's, as after pids wrap around


class ReapedWhileRead:
    """A parent and one child whose 40 ticks move into the parent when it is reaped, right after the
    ``reap_after``-th reading of any process."""

    def __init__(self, reap_after: int) -> None:
        self.reap_after, self.readings, self.reaped = reap_after, 0, False

    def read(self, pid: int) -> ProcessTicks | None:
        self.readings += 1
        ticks = self._now(pid)
        if self.readings == self.reap_after:
            self.reaped = True
        return ticks

    def _now(self, pid: int) -> ProcessTicks | None:
        if pid == CHILD:
            return None if self.reaped else ProcessTicks(started=7, own=40, reaped=0)
        return ProcessTicks(started=1, own=5, reaped=40 if self.reaped else 0)


@pytest.mark.parametrize(
    ("order", "reap_after"),
    [
        ((CHILD, PARENT), 1),  # read alive, then reaped before its parent is read: counted twice if naive
        ((PARENT, CHILD), 1),  # reaped after its parent was read, before its own reading: lost if naive
        ((CHILD, PARENT), 3),  # reaped while the first reading was being checked
        ((CHILD, PARENT), 100),  # not reaped while read
    ],
)
def test_a_child_reaped_while_the_processes_are_read_counts_once(
    order: tuple[int, int], reap_after: int
) -> None:
    machine = ReapedWhileRead(reap_after)
    assert settled_ticks(lambda: order, machine.read) == 45


def test_a_reused_pid_is_not_taken_for_the_process_read_before() -> None:
    started = iter([7, 8, 8, 8])  # the child's pid taken by a new process between the two readings

    def read(pid: int) -> ProcessTicks:
        return ProcessTicks(next(started), own=40, reaped=0) if pid == CHILD else ProcessTicks(1, 5, 0)

    readings: list[int] = []

    def pids() -> list[int]:
        readings.append(1)
        return [CHILD, PARENT]

    assert settled_ticks(pids, read) == 45
    assert len(readings) == 2  # the first reading was refused


def test_processes_that_keep_ending_are_an_error_not_a_number() -> None:
    count = iter(range(1_000_000))

    def read(pid: int) -> ProcessTicks:
        return ProcessTicks(1, own=5, reaped=next(count))  # reaps a child between any two readings

    with pytest.raises(RuntimeError, match="kept ending"):
        settled_ticks(lambda: [PARENT], read, attempts=5)
