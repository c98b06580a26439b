"""The commitments of a draw's object plan, computed in a worker process while the draw goes on.

A draw of a million objects hashes its object plan — a salt and a leaf per eligible object, then their
sorted Merkle root (``object_plan.plan_commitments``, DRAW-ALGORITHM.md §14.8) — for about two seconds,
while it has other work of that length which does not depend on the plan's root (the eligible set's
root, the exclusions' roots, the staffing check). ``CommitmentWorker`` hands the plan to a worker process
(on the one machine for spawned processes, ``worker_process``) and returns at once: both cores work.

The plan travels in pieces of ``PIECE_ROWS`` rows (codes as one text, departments and offices as their
small numbers), sent by a thread of the draw's process that waits on the pipe with the GIL released; the
worker hashes each piece as it comes and keeps only the packed leaves, 32 bytes a row, as the draw would.
Whatever goes wrong — the worker cannot start, dies, reports an error or does not answer within
``timeout_s``, or a code holds a newline (the pieces could not carry it) — the plan is hashed where the
draw runs instead and the next plan gets a fresh worker: the result is the same bytes either way.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, Final, Self

from dualdraw.adapters.worker_process import RestartPolicy, Supervisor, WorkerFailure, WorkerProcess
from dualdraw.domain.draw.commitments import TextColumn
from dualdraw.domain.draw.object_plan import (
    Badges,
    ObjectPlan,
    PlanRows,
    commitments_of,
    iter_plan_leaf_hashes,
    plan_commitments,
)
from dualdraw.service_layer.ports import PlanCommitter

log = logging.getLogger(__name__)

PIECE_ROWS: Final = 65_536
"""Plan rows sent at a time: 1.3 MB of codes, hashed by the worker while the next piece travels."""

MAX_ROWS: Final = 4_000_000
"""Plans of more rows are hashed where the draw runs. The worker holds its plan's packed leaves while it
sorts them, ~60 bytes a row (106 MB at a million, measured), at the time the draw process holds its
own peak: at ten million that would be ~600 MB more at once for a draw whose process tree must stay
within 4 GB, where in place the plan's leaves replace what the draw process has already let go."""

STARTUP_TIMEOUT_S: Final = 60.0
START_BACKOFF_S: Final = 30.0
"""After a failed start, the plans of this long are hashed where the draw runs, without trying again."""

Commitments = dict[str, Any]


class CommitmentWorker:
    """``PlanCommitter`` with a worker process. Thread-safe: one plan at a time in the worker; a plan
    begun while another is in it is hashed by its caller. ``start()`` starts the worker now (otherwise the
    first plan does); ``close()`` stops it. Usable as a context manager."""

    def __init__(self, timeout_s: float = 600.0, max_rows: int = MAX_ROWS) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.timeout_s = timeout_s
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._workers = Supervisor(_start_worker, RestartPolicy(start_backoff_s=START_BACKOFF_S))
        self._busy = False

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        """Starts the worker now; a failure is logged (the plans are then hashed by their callers)."""
        with self._lock:
            try:
                self._workers.worker()
            except WorkerFailure as failure:
                log.warning("the commitment worker could not start (plans are hashed in place): %s", failure)

    def close(self) -> None:
        with self._lock:
            self._workers.stop()

    @property
    def worker_pid(self) -> int | None:
        """The worker's process id, ``None`` when none runs."""
        return self._workers.pid

    def begin(self, plan: ObjectPlan, salt_key: bytes) -> Callable[[], Commitments]:
        """``PlanCommitter.begin``: the plan goes to the worker when it is a ``PlanRows`` (a draw's) of at
        most ``max_rows`` rows and the worker is free; otherwise, and after any failure, the call returned
        hashes it in place."""
        rows = plan.rows
        if not isinstance(rows, PlanRows) or not 0 < len(rows) <= self.max_rows:
            return _once(lambda: plan_commitments(plan, salt_key))
        with self._lock:
            worker = None if self._busy else self._free_worker()
            if worker is not None:
                header = (
                    "plan",
                    salt_key,
                    rows.departments.values,
                    rows.offices.values,
                    dict(rows.conflicts),
                    dict(rows.recent),
                    dict(plan.raised or {}),
                    len(rows),
                )
                try:
                    worker.send(header)
                    self._busy = True
                except WorkerFailure as failure:
                    log.warning("the commitment worker failed (this plan is hashed in place): %s", failure)
                    self._workers.discard()
                    worker = None
        if worker is None:
            return _once(lambda: plan_commitments(plan, salt_key))
        failures: list[WorkerFailure] = []
        sender = threading.Thread(
            target=_send_pieces, args=(worker, rows, failures), name="dualdraw-plan-pieces", daemon=True
        )
        sender.start()
        deadline = time.monotonic() + self.timeout_s

        def answer() -> Commitments:
            sender.join(max(0.0, deadline - time.monotonic()))
            with self._lock:
                self._busy = False
                try:
                    if sender.is_alive():
                        raise WorkerFailure("it did not take the whole plan in time", timed_out=True)
                    if failures:
                        raise failures[0]
                    reply = worker.receive(deadline)
                    if isinstance(reply, tuple) and len(reply) == 2 and reply[0] == "ok":
                        commitments: Commitments = reply[1]
                        return commitments
                    raise WorkerFailure(f"it answered {reply!r}")
                except WorkerFailure as failure:
                    log.warning("the commitment worker failed (this plan is hashed in place): %s", failure)
                    self._workers.discard()
            sender.join()  # its worker is gone: a send still under way fails at once
            return plan_commitments(plan, salt_key)

        return _once(answer)

    def _free_worker(self) -> WorkerProcess | None:
        try:
            return self._workers.worker()
        except WorkerFailure as failure:
            log.warning("the commitment worker could not start (this plan is hashed in place): %s", failure)
            return None


def _once(compute: Callable[[], Commitments]) -> Callable[[], Commitments]:
    """``compute``, run at the first call only: later calls give its result (or raise its error) again."""
    outcome: list[Commitments] = []
    error: list[BaseException] = []

    def call() -> Commitments:
        if not outcome and not error:
            try:
                outcome.append(compute())
            except BaseException as exc:  # kept, and raised at every call
                error.append(exc)
        if error:
            raise error[0]
        return outcome[0]

    return call


def _send_pieces(worker: WorkerProcess, rows: PlanRows, failures: list[WorkerFailure]) -> None:
    """Sends ``rows`` piece by piece, then ``None``; a failure (or a code the pieces cannot carry) is put
    in ``failures`` and nothing more is sent."""
    codes, departments, offices = rows.codes, rows.departments.indices, rows.offices.indices
    try:
        for start in range(0, len(codes), PIECE_ROWS):
            piece = codes[start : start + PIECE_ROWS]
            text = "\n".join(piece)
            if text.count("\n") != len(piece) - 1:
                raise WorkerFailure("a credit code holds a newline: the plan is not sent in pieces")
            end = start + len(piece)
            worker.send((text, departments[start:end], offices[start:end]))
        worker.send(None)
    except WorkerFailure as failure:
        failures.append(failure)


def _start_worker() -> WorkerProcess:
    # Not a group of its own: it starts nothing, and in a draw process it must die with that process.
    return WorkerProcess(
        serve,
        name="dualdraw-commitment-worker",
        startup_timeout_s=STARTUP_TIMEOUT_S,
        stop_message=("stop",),
        own_group=False,
    )


# --- the worker ---------------------------------------------------------------------------------------------


def serve(conn: Connection) -> None:
    """Worker process entry point: answers plans on ``conn`` until ``stop`` or end of file. A plan is a
    header (``"plan"``, salt key, department and office values, conflicts, recent, raised rows, row
    count), its pieces (codes text, department numbers, office numbers), then ``None``; the answer is
    ``("ok", commitments)`` or ``("error", text)``, after which the worker ends (pieces may be unread)."""
    conn.send(("ready", os.getpid()))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request[0] == "stop":
            return
        try:
            if request[0] != "plan":
                raise ValueError(f"unknown request {request[0]!r}")
            _, salt_key, departments, offices, conflicts, recent, raised, count = request
            received = [0]
            leaves = _leaf_hashes(conn, salt_key, departments, offices, conflicts, recent, received)
            commitments = commitments_of(count, leaves, raised, salt_key)
            if received[0] != count:
                raise ValueError(f"{received[0]} plan rows came for {count}")
            conn.send(("ok", commitments))
        except Exception as exc:  # reported to the parent, which hashes in place and discards this worker
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            return


def _leaf_hashes(
    conn: Connection,
    salt_key: bytes,
    departments: tuple[str, ...],
    offices: tuple[str, ...],
    conflicts: Mapping[str, Badges],
    recent: Mapping[str, Badges],
    received: list[int],
) -> Iterator[bytes]:
    """The plan leaf hashes of each piece as it comes, until ``None``; counts the rows in ``received``."""
    while (piece := conn.recv()) is not None:
        text, department_at, office_at = piece
        codes = text.split("\n")
        received[0] += len(codes)
        rows = PlanRows(
            codes, TextColumn(departments, department_at), TextColumn(offices, office_at), conflicts, recent
        )
        yield from iter_plan_leaf_hashes(rows.values(), salt_key)


def _conforms(worker: CommitmentWorker) -> PlanCommitter:
    return worker  # mypy checks here that CommitmentWorker implements the PlanCommitter port
