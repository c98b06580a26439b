"""CPU seconds of the processes a benchmark runs beside: a process tree, and the PostgreSQL server.

On a machine of two cores a draw cannot take less wall time than the CPU seconds of everything it keeps
busy (the draw's processes and the database's) over two: these say how far from that bound a run is, and
how much work the one-query SQL draw does against dualdraw's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from dualdraw.adapters.worker_process import child_pids


@dataclass(frozen=True)
class ProcessTicks:
    """One reading of a process's ``/proc/<pid>/stat``, in clock ticks."""

    started: int  # the process's start time: tells a reused pid from the process read before
    own: int  # utime + stime
    reaped: int  # cutime + cstime: the children it has waited for


def read_ticks(pid: int) -> ProcessTicks | None:
    """The process's ticks now; None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None  # a process that ended between listing and reading
    return ProcessTicks(int(fields[19]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]))


def _unchanged(before: ProcessTicks, now: ProcessTicks | None) -> bool:
    """The same process, still there, and it has waited for no child since ``before``."""
    return now is not None and now.started == before.started and now.reaped == before.reaped


def settled_ticks(
    pids: Callable[[], Iterable[int]],
    read: Callable[[int], ProcessTicks | None] = read_ticks,
    attempts: int = 50,
) -> int:
    """Own and reaped ticks summed over the processes ``pids()`` lists, from one reading in which none of
    them ended or waited for a child.

    A process's time moves into its parent's reaped ticks when the parent waits for it. Read one at a
    time, a process that is reaped between its own reading and its parent's counts twice; one reaped
    after its parent's reading and before its own, not at all (pids wrap around at ``pid_max``, so a child
    may be read before or after its parent). Each reading is checked by reading every process again:
    all still there, the same processes, none having reaped; otherwise it is taken again. Raises
    RuntimeError when processes keep ending through ``attempts`` readings."""
    for _ in range(attempts):
        first = {pid: ticks for pid in pids() if (ticks := read(pid)) is not None}
        if all(_unchanged(ticks, read(pid)) for pid, ticks in first.items()):
            return sum(ticks.own + ticks.reaped for ticks in first.values())
    raise RuntimeError(f"processes kept ending while their CPU time was read ({attempts} readings)")


def _tree(pid: int) -> list[int]:
    """``pid`` and its live descendants."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(child_pids(current))
    return found


def _postgres_processes() -> list[int]:
    """Every process of this machine named ``postgres``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name = (entry / "comm").read_text().strip()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if name == "postgres":
                found.append(int(entry.name))
    return found


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user and system) of ``pid`` and its live descendants, each with the children it has
    waited for: a process's time moves into its parent's when it is reaped, so the sum keeps it."""
    return settled_ticks(lambda: _tree(pid)) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_s() -> float:
    """CPU seconds (user and system) of every process of this machine named ``postgres`` so far, with the
    children each has waited for: the server's backends and background writers, and through the postmaster
    the backends and parallel workers that have ended. Take the difference across what is measured."""
    return settled_ticks(_postgres_processes) / os.sysconf("SC_CLK_TCK")
