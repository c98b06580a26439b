"""CPU seconds of the processes a benchmark runs beside: a process tree, and the PostgreSQL server.

On a machine of two cores a draw cannot take less wall time than the CPU seconds of everything it keeps
busy (the draw's processes and the database's) over two: these say how far from that bound a run is, and
how much work the one-query SQL draw does against dualdraw's.
"""

from __future__ import annotations

import os
from pathlib import Path

from dualdraw.adapters.worker_process import child_pids


def _ticks(pid: int, with_reaped: bool) -> int:
    """utime + stime of ``pid`` (and, ``with_reaped``, of the children it has waited for); 0 when gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0  # a process that ended between listing and reading
    return sum(int(x) for x in fields[11 : 15 if with_reaped else 13])


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user and system) of ``pid`` and its live descendants, each with the children it has
    waited for: a process's time moves into its parent's when it is reaped, so the sum keeps it."""
    ticks, pending = 0, [pid]
    while pending:
        current = pending.pop()
        ticks += _ticks(current, with_reaped=True)
        pending.extend(child_pids(current))
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu_s() -> float:
    """CPU seconds (user and system) of every process of this machine named ``postgres`` so far, with the
    children each has waited for: the server's backends and background writers, and through the postmaster
    the backends and parallel workers that have ended. Take the difference across what is measured."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name = (entry / "comm").read_text().strip()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if name == "postgres":
                ticks += _ticks(int(entry.name), with_reaped=True)
    return ticks / os.sysconf("SC_CLK_TCK")
