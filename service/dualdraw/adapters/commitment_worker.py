"""A draw's commitments hashed in a worker process while the draw goes on (the ``Committer`` port).

A draw of a million objects spends seconds on SHA-256 for its commitments (DRAW-ALGORITHM.md §6.1,
§14.8): a salt and a leaf per in-scope object for the eligible set, and a salt, a leaf and a tree node per
eligible object for the object plan. None of it decides anything, and the draw has other work of that
length meanwhile: building the rules worker's shards, then the exclusions' roots, the staffing check and
the stored form of its rows. ``CommitmentWorker`` gives each draw's hashing to a worker process (on the one
machine for spawned processes, ``worker_process``): both cores work.

Per draw, on one pipe, in order: the in-scope codes and risk classes as soon as they are loaded (``leaves``),
then the eligible flags and the plan (``roots``), answered with the eligible set's root and the plan's
commitments. Rows travel in pieces of ``PIECE_ROWS`` (codes as one text, other columns as small numbers),
sent by a thread that waits on the pipe with the GIL released; the worker hashes each piece as it comes and
keeps only packed leaves, 32 bytes a row, as the draw would. Whatever goes wrong — the worker cannot start,
dies, reports an error or does not answer within ``timeout_s``, a code holds a newline (the pieces could
not carry it) — the draw hashes in place instead (``commitment_hashing.HashedInPlace``) and the next draw
gets a fresh worker: the same bytes either way. One draw at a time: a draw that finds the worker taken, or
more than ``max_rows`` objects in scope, hashes in place.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import chain
from multiprocessing.connection import Connection
from typing import Any, Final

from dualdraw.adapters.worker_process import (
    RestartPolicy,
    WorkerFailure,
    WorkerHolder,
    WorkerProcess,
    leaf_worker,
)
from dualdraw.domain.draw.commitments import EligibleEntries, LeafSet, TextColumn
from dualdraw.domain.draw.object_plan import (
    Badges,
    ObjectPlan,
    PlanRows,
    commitments_of,
    packed_plan_leaf_hashes,
    plan_commitments,
)
from dualdraw.service_layer.commitment_hashing import HashedInPlace, once
from dualdraw.service_layer.ports import Committer, DrawHashing, Roots

log = logging.getLogger(__name__)

PIECE_ROWS: Final = 65_536
"""Rows sent at a time: 1.3 MB of codes, hashed by the worker while the next piece travels."""

MAX_ROWS: Final = 4_000_000
"""Draws with more objects in scope hash in place. The worker holds the packed leaves and their order
while it sorts, ~100 bytes an object in all (in-scope leaves, then the plan's: 123 MB at a million,
measured), at the time the draw process holds its own peak: at ten million that would
be ~1 GB more at once for a draw whose process tree must stay within 4 GB, where in place the leaves take
the room of what the draw process has already let go."""

STARTUP_TIMEOUT_S: Final = 60.0
START_BACKOFF_S: Final = 30.0
"""After a failed start, the draws of this long hash in place without trying again."""


class CommitmentWorker(WorkerHolder):
    """``Committer`` with a worker process; thread-safe. ``start()`` starts the worker now (otherwise the
    first draw does); ``close()`` stops it. Usable as a context manager."""

    def __init__(self, timeout_s: float = 600.0, max_rows: int = MAX_ROWS) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        super().__init__(_start_worker, RestartPolicy(start_backoff_s=START_BACKOFF_S))
        self.timeout_s = timeout_s
        self.max_rows = max_rows
        self._held_by: object | None = None  # the token of the draw whose hashing holds the worker
        self._stale = False  # a draw let its hashing go unfinished: the worker's pipe holds its leftovers

    def start(self) -> None:
        """Starts the worker now; a failure is logged (draws then hash in place)."""
        with self._lock:
            try:
                self._workers.worker()
            except WorkerFailure as failure:
                log.warning("the commitment worker could not start (draws hash in place): %s", failure)

    def draw_hashing(self, codes: Sequence[str], risk_classes: Sequence[str], salt_key: bytes) -> DrawHashing:
        """``Committer.draw_hashing``: in the worker when it is free and at most ``max_rows`` objects are in
        scope, else (and after any failure) in place."""
        if len(codes) > self.max_rows:
            return HashedInPlace(codes, risk_classes, salt_key)
        classes = risk_classes if isinstance(risk_classes, TextColumn) else TextColumn.of(risk_classes)
        with self._lock:
            worker = self._claim()
            if worker is None:
                return HashedInPlace(codes, risk_classes, salt_key)
            hashing = _HashedInWorker(self, worker, codes, classes, salt_key)
            self._held_by = hashing.token
            weakref.finalize(hashing, self._let_go, hashing.token)
            try:
                worker.send(("leaves", salt_key, classes.values, len(codes)))
            except WorkerFailure as failure:
                self._fail(hashing.token, failure)
                return HashedInPlace(codes, risk_classes, salt_key)
        hashing.send(chain(_code_pieces(codes, classes.indices), (None,)))
        return hashing

    def _claim(self) -> WorkerProcess | None:
        """The worker for a new draw (lock held): ``None`` while another draw holds it or none can start."""
        if self._held_by is not None:
            return None
        if self._stale:
            self._stale = False
            self._workers.discard()
        try:
            return self._workers.worker()
        except WorkerFailure as failure:
            log.warning("the commitment worker could not start (this draw hashes in place): %s", failure)
            return None

    def release(self, token: object) -> None:
        """The draw of ``token`` took its answer: the worker is free."""
        with self._lock:
            if self._held_by is token:
                self._held_by = None

    def fail(self, token: object, failure: WorkerFailure) -> None:
        """The draw of ``token`` hashes in place from now on: its worker is discarded."""
        with self._lock:
            self._fail(token, failure)

    def _fail(self, token: object, failure: WorkerFailure) -> None:
        log.warning("the commitment worker failed (this draw hashes in place): %s", failure)
        if self._held_by is token:
            self._held_by = None
            self._workers.discard()

    def _let_go(self, token: object) -> None:
        """A draw's hashing was dropped: if it never took its answer, the worker's pipe is out of step."""
        with self._lock:
            if self._held_by is token:
                self._held_by = None
                self._stale = True


class _Token:
    """Identifies one draw's hold on the worker (the hashing object itself must be collectable)."""


class _HashedInWorker:
    """``DrawHashing`` in the worker, with the codes and classes kept to hash in place after a failure."""

    def __init__(
        self,
        committer: CommitmentWorker,
        worker: WorkerProcess,
        codes: Sequence[str],
        classes: TextColumn,
        salt_key: bytes,
    ) -> None:
        self._committer = committer
        self._worker = worker
        self._codes = codes
        self._classes = classes
        self._salt_key = salt_key
        self.token = _Token()
        self.pending: Iterator[object] = iter(())
        self._senders: list[threading.Thread] = []
        self._failures: list[WorkerFailure] = []

    def send(self, pieces: Iterable[object]) -> None:
        """Sends ``pieces`` in a thread of its own, after those sent before. The thread holds no reference
        to this object: a draw that drops it is noticed at once (``CommitmentWorker._let_go``)."""
        earlier, worker, failures = list(self._senders), self._worker, self._failures

        def run() -> None:
            for sender in earlier:
                sender.join()
            if failures:
                return
            try:
                for piece in pieces:
                    worker.send(piece)
            except WorkerFailure as failure:
                failures.append(failure)
            except Exception as exc:  # the pipe closed under a send, as the worker was discarded
                failures.append(WorkerFailure(f"cannot send to it: {exc!r}"))

        sender = threading.Thread(target=run, name="dualdraw-commitment-pieces", daemon=True)
        self._senders.append(sender)
        sender.start()

    def roots(self, keep: Sequence[bool] | None, plan: ObjectPlan) -> Callable[[], Roots]:
        """Sends the plan, then takes the in-scope leaves back and the eligible set's root from them here
        (the worker hashes the plan meanwhile); the call returned waits for the plan's commitments."""
        rows = plan.rows
        deadline = time.monotonic() + self._committer.timeout_s
        if isinstance(rows, PlanRows):
            header = (
                "plan",
                self._salt_key,
                rows.departments.values,
                rows.offices.values,
                dict(rows.conflicts),
                dict(rows.recent),
                dict(plan.raised or {}),
                len(rows),
            )
            self.send(chain((header,), _plan_pieces(rows), (None,)))
        else:
            self._failures.append(WorkerFailure("the plan is not a draw's columns"))
        try:
            packed, order = self._reply(deadline, self._senders[:1])
            eligible = LeafSet.of_packed(packed, order).subset_root(keep) if keep is not None else None
            del packed, order
        except WorkerFailure as failure:
            self._give_up(failure)
            return HashedInPlace(self._codes, self._classes, self._salt_key).roots(keep, plan)

        def answer() -> Roots:
            try:
                (commitments,) = self._reply(deadline, self._senders)
                self._committer.release(self.token)
                return eligible, commitments
            except WorkerFailure as failure:
                self._give_up(failure)
            return eligible, plan_commitments(plan, self._salt_key)

        return once(answer)

    def _reply(self, deadline: float, senders: Sequence[threading.Thread]) -> tuple[Any, ...]:
        """The worker's next answer (what follows ``"ok"``), once ``senders`` have sent everything."""
        for sender in senders:
            sender.join(max(0.0, deadline - time.monotonic()))
        if any(sender.is_alive() for sender in senders):
            raise WorkerFailure("it did not take the rows in time", timed_out=True)
        if self._failures:
            raise self._failures[0]
        reply = self._worker.receive(deadline)
        if isinstance(reply, tuple) and reply[:1] == ("ok",):
            return reply[1:]
        raise WorkerFailure(f"it answered {reply!r}")

    def _give_up(self, failure: WorkerFailure) -> None:
        """This draw hashes in place from now on: the worker is discarded (a send under way fails at once)."""
        self._committer.fail(self.token, failure)
        for sender in self._senders:
            sender.join()


def _code_pieces(codes: Sequence[str], classes: array[int]) -> Iterator[tuple[str, array[int]]]:
    """The in-scope rows in pieces: codes as one text, their risk classes as numbers."""
    for start in range(0, len(codes), PIECE_ROWS):
        yield _text(codes[start : start + PIECE_ROWS]), classes[start : start + PIECE_ROWS]


def _plan_pieces(rows: PlanRows) -> Iterator[tuple[str, array[int], array[int]]]:
    """The plan's rows in pieces: codes as one text, their departments and offices as numbers."""
    codes, departments, offices = rows.codes, rows.departments.indices, rows.offices.indices
    for start in range(0, len(codes), PIECE_ROWS):
        end = start + PIECE_ROWS
        yield _text(codes[start:end]), departments[start:end], offices[start:end]


def _text(codes: Sequence[str]) -> str:
    text = "\n".join(codes)
    if text.count("\n") != len(codes) - 1:
        raise WorkerFailure("a credit code holds a newline: the rows are not sent in pieces")
    return text


def _start_worker() -> WorkerProcess:
    return leaf_worker(serve, "dualdraw-commitment-worker", STARTUP_TIMEOUT_S)


def _conforms(worker: CommitmentWorker) -> Committer:
    return worker  # mypy checks here that CommitmentWorker implements the Committer port


# --- the worker ---------------------------------------------------------------------------------------------


def serve(conn: Connection) -> None:
    """Worker process entry point, until ``stop`` or end of file. Per draw: ``("leaves", salt key, risk
    class values, count)`` and its pieces (codes text, class numbers) then ``None``, answered ``("ok",
    packed leaf hashes, their ascending order)``; then ``("plan", salt key, department values, office
    values, conflicts, recent, raised, rows)`` and the plan's pieces (codes text, department numbers,
    office numbers) then ``None``, answered ``("ok", plan commitments)``. On any error the worker answers
    ``("error", text)`` if it can and ends: what was left in the pipe is not its to read."""
    conn.send(("ready", os.getpid()))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        op = request[0]
        if op == "stop":
            return
        try:
            if op == "leaves":
                _, salt_key, classes, count = request
                received = [0]
                leaf_set = LeafSet.of_pieces(_entries(conn, classes, received), salt_key)
                packed, order = leaf_set.packed()
                del leaf_set
                if received[0] != count:
                    raise ValueError(f"{received[0]} in-scope rows came for {count}")
                conn.send(("ok", packed, order))
                del packed, order
            elif op == "plan":
                _, salt_key, departments, offices, conflicts, recent, raised, count = request
                received = [0]
                plan_leaves = b"".join(
                    _plan_leaf_hashes(conn, salt_key, departments, offices, conflicts, recent, received)
                )
                commitments = commitments_of(count, plan_leaves, raised, salt_key)
                if received[0] != count:
                    raise ValueError(f"{received[0]} plan rows came for {count}")
                conn.send(("ok", commitments))
            else:
                raise ValueError(f"unknown request {op!r}")
        except Exception as exc:  # reported to the parent, which hashes in place and discards this worker
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            return


def _entries(conn: Connection, classes: tuple[str, ...], received: list[int]) -> Iterator[EligibleEntries]:
    """The in-scope rows of each piece as eligible entries (stratum = risk class), until ``None``."""
    while (piece := conn.recv()) is not None:
        text, class_at = piece
        codes = text.split("\n")
        received[0] += len(codes)
        column = TextColumn(classes, class_at)
        yield EligibleEntries(codes, column, column)


def _plan_leaf_hashes(
    conn: Connection,
    salt_key: bytes,
    departments: tuple[str, ...],
    offices: tuple[str, ...],
    conflicts: Mapping[str, Badges],
    recent: Mapping[str, Badges],
    received: list[int],
) -> Iterator[bytes]:
    """The plan leaf hashes of each piece as it comes (laid end to end), until ``None``; counts the rows in
    ``received``."""
    while (piece := conn.recv()) is not None:
        text, department_at, office_at = piece
        codes = text.split("\n")
        received[0] += len(codes)
        rows = PlanRows(
            codes, TextColumn(departments, department_at), TextColumn(offices, office_at), conflicts, recent
        )
        yield packed_plan_leaf_hashes(rows.values(), salt_key)
