"""``DrawProcess``: the server's draws (and bundles) run in one long-lived child process, so reads stay fast.

A draw over a million objects is minutes of Python work (loading objects, Merkle commitments, sorting,
persisting), and long C calls inside it (``sorted`` of a million tuples, unpickling, psycopg row conversion)
hold the GIL for hundreds of milliseconds at a time. In the server process that work stalled every other
call (``GetObject`` p99 429 ms during a 1M-object draw). Here the server's ``Draw`` and ``CommitDraw`` send
their request to a child (started and supervised by ``dualdraw.adapters.worker_process``, as the rules
worker is) and wait on a pipe, which releases the GIL; the child has its own store (same database URL,
same audit signer) and its own rules engine (same shard size and time limit), wired by ``dualdraw.bootstrap``.

What the child honours, so that a draw behaves exactly as it did in the server process:

- the idempotency claim of the call (``dualdraw.adapters.store.ledger.CLAIM``): the child writes it in the
  draw's transaction and reports back that it did;
- the call's deadline (``dualdraw.runtime.deadlines``): passed as a ``time.monotonic()`` value, one clock
  for all processes of the machine;
- the call's cancellation: while it waits, the parent looks every ``CANCEL_LOOK_S`` whether the caller
  is still there and, once it is not, sets a flag shared with the child (a ``multiprocessing.Event``);
  the child checks it, with the deadline, right before its commit and then writes nothing;
- crash points (``dualdraw.runtime.crashpoints``, tests only): the child tells the parent before it kills
  itself, the parent waits for its death and then kills itself too, so the server dies at the same point;
- domain errors travel as class, arguments and attributes and are raised again in the parent, so the
  client sees the same status code, reason, metadata and field violations.

Draws are serialised anyway (one audit-log head), so one child and a lock are enough. When the child dies
during a draw, the call in flight is answered from the database once the child is gone: its transaction
either committed (the draw exists; a call whose request id created it gets the draw, any other an
``Unavailable`` naming the draw) or vanished (``Unavailable``: nothing was written, retry). The call is
never run a second time here. A later call starts a fresh child; when no child can be started, draws run
in the server process (logged as an error) and a new child is tried after ``RESTART_AFTER_S``.

``DUALDRAW_DRAW_PROCESS=off`` (``Settings.draw_process``) keeps draws in the server process. The child
ignores SIGINT and SIGTERM (the server's graceful shutdown lets its draw finish, then stops it) and exits
by itself when its parent is gone. A child that grew above ``ChildSettings.retire_above_mb`` during a draw
is stopped after replying, so that an idle server does not keep the memory of its last big draw.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import pickle
import signal
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from typing import Any, Literal, NoReturn, TypeVar

from dualdraw.adapters.store.ledger import CLAIM, Claim
from dualdraw.adapters.worker_process import RestartPolicy, Supervisor, WorkerFailure, WorkerProcess
from dualdraw.domain import model
from dualdraw.domain.audit.checkpoints import CheckpointSigner
from dualdraw.domain.errors import DeadlineExceeded, DomainError, Unavailable
from dualdraw.domain.exclusions.model import RuleSet
from dualdraw.runtime import collection_pause, crashpoints, deadlines
from dualdraw.runtime.telemetry import RULE_SECONDS, configure_logging, current_request_id, request_id_bound
from dualdraw.service_layer.bundles import BUNDLE_FORMAT, BundleContent
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.draw_runner import DrawRunner, InProcessDraws
from dualdraw.service_layer.draw_state import repeated_request
from dualdraw.service_layer.entropy_policy import EntropyPolicy
from dualdraw.service_layer.ports import ExclusionMatcher, UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")

STARTUP_TIMEOUT_S = 60.0
"""How long a fresh child may take to import, connect nothing yet, and say it is ready."""
RESTART_AFTER_S = 30.0
"""After a child failed to start, draws run in the server process this long before the next attempt."""
RETIRE_ABOVE_MB = 512
"""A child whose resident memory exceeds this after a draw is stopped once it has replied, so that the
memory of a big draw (1.2 GB at a million objects) goes back to the system; the next draw starts a fresh
child."""
STOP_TIMEOUT_S = 10.0
PARENT_CHECK_S = 1.0
DEADLINE_GRACE_S = 5.0
"""How long past the call's own deadline the server waits for the child to say so before stopping it."""
CANCEL_LOOK_S = 0.1
"""How often the server, waiting for the child, looks whether the caller has cancelled the call."""

UseCase = Literal["run_draw", "commit_draw"]


@dataclass(frozen=True)
class ChildSettings:
    """What the child is built from (the server's database, audit signer and rules-engine tuning) and how
    it is supervised."""

    database_url: str
    signer: CheckpointSigner | None
    rule_shard_size: int
    rule_timeout_s: float
    log_level: int = logging.INFO
    log_format: str = "json"
    retire_above_mb: float = RETIRE_ABOVE_MB
    draw_timeout_s: float = 0.0
    """The longest a draw may take in the child (0: no limit of its own); the server then stops the child
    and answers from the database, as when it dies."""
    niceness: int = 0
    """Added to the child's niceness before it starts work (its rules worker inherits it)."""
    entropy: EntropyPolicy = field(default_factory=EntropyPolicy)
    """Which entropy the draws may use (a local secret only in development), in the child as here."""


@dataclass(frozen=True)
class DrawJob:
    """One call of a draw use case, with the call's context the child must honour."""

    use_case: UseCase
    rule_set: RuleSet
    task_id: str
    as_of: dt.date | None
    caller: Caller
    declaration: dict[str, Any] | None
    claim: Claim | None
    deadline: float | None
    request_id: str = ""
    """The call's request id (``x-request-id``), so that the child's log lines carry it."""


@dataclass(frozen=True)
class BundleJob:
    """Building the bundle of one draw (``bundles.build_bundle``), with the call's deadline and request id."""

    draw_id: str
    variant: str
    chunk_bytes: int
    deadline: float | None
    request_id: str = ""
    form: str = BUNDLE_FORMAT


@dataclass(frozen=True)
class DrawReply:
    """The child's answer to one ``DrawJob``: the draw, or the domain error (class, arguments, attributes),
    or the traceback of any other exception; whether the claim was written; the rule evaluations' seconds
    (for the server's ``dualdraw_rule_evaluation_seconds``)."""

    draw: model.Draw | None = None
    bundle: BundleContent | None = None
    error: tuple[type[DomainError], tuple[Any, ...], dict[str, Any]] | None = None
    failure: str = ""
    claim_written: bool = False
    rule_seconds: tuple[float, ...] = ()


class DrawProcessFailure(RuntimeError):
    """The child raised something other than a domain error (a bug): the call fails as INTERNAL."""


ChildWiring = Callable[[ChildSettings, Callable[[float], None]], AbstractContextManager[DrawRunner]]
"""Builds the child's ``DrawRunner`` from its settings, with a store and a rules engine of its own, and
reports the seconds of each rule evaluation to the callback (``dualdraw.bootstrap.draw_process_draws``).
A module-level function: the child receives it by name."""


class DrawProcess:
    """A ``DrawRunner`` that runs draws in a child process (see the module docstring); thread-safe.

    ``unit_of_work`` and ``engine`` are the server's own: they run draws in-process when no child can be
    started, and ``unit_of_work`` reads what a child that died left behind. ``wiring`` builds the child's
    own runner, in the child.
    """

    def __init__(
        self,
        settings: ChildSettings,
        unit_of_work: Callable[[], UnitOfWork],
        engine: ExclusionMatcher,
        wiring: ChildWiring,
    ) -> None:
        self._settings = settings
        self._unit_of_work = unit_of_work
        self._in_process: DrawRunner = InProcessDraws(unit_of_work, engine, settings.entropy)
        self._lock = threading.Lock()
        self._cancelled = get_context("spawn").Event()
        """Set while the caller of the job in flight has gone; shared with every child started here."""
        # Restart on the next call (never retry a draw), hold back after a failed start, retire when grown.
        policy = RestartPolicy(start_backoff_s=RESTART_AFTER_S, retire_above_mb=settings.retire_above_mb)
        self._children = Supervisor(lambda: _start_child(self._settings, wiring, self._cancelled), policy)
        self._closed = False

    @property
    def pid(self) -> int | None:
        """The child's process id; ``None`` while no child runs."""
        return self._children.pid

    def start(self) -> None:
        """Starts the child now instead of at the first draw; a failure is logged, draws then run here."""
        with self._lock:
            self._running_child()

    def close(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stops the child once the draw in flight (if any) has finished, or kills it after ``timeout_s``."""
        idle = self._lock.acquire(timeout=timeout_s)
        try:
            self._closed = True
            if idle:
                self._children.stop()
            elif self._children.pid is not None:
                log.warning("draw process %s still busy at shutdown: killed", self._children.pid)
                self._children.discard()
        finally:
            if idle:
                self._lock.release()

    def run_draw(
        self, rule_set: RuleSet, *, task_id: str, as_of: dt.date | None, caller: Caller
    ) -> model.Draw:
        """``draws.run_draw`` in the child; same errors."""
        job = _job("run_draw", rule_set, task_id, as_of, caller, None)
        return self._run(
            job, lambda: self._in_process.run_draw(rule_set, task_id=task_id, as_of=as_of, caller=caller)
        )

    def commit_draw(
        self,
        rule_set: RuleSet,
        *,
        task_id: str,
        as_of: dt.date | None,
        caller: Caller,
        declaration: dict[str, Any],
    ) -> model.Draw:
        """``draw_lifecycle.commit_draw`` in the child; same errors."""
        job = _job("commit_draw", rule_set, task_id, as_of, caller, declaration)
        return self._run(
            job,
            lambda: self._in_process.commit_draw(
                rule_set, task_id=task_id, as_of=as_of, caller=caller, declaration=declaration
            ),
        )

    def build_bundle(
        self, draw_id: str, *, variant: str, chunk_bytes: int, form: str = BUNDLE_FORMAT
    ) -> BundleContent:
        """``bundles.build_bundle`` in the child (its reads hold the child's GIL, not the server's); same
        errors. The child writes the spool file, the caller reads and discards it. A child that dies
        meanwhile gives ``Unavailable``: nothing was written, retry."""

        def gone_while_building(gone: WorkerFailure) -> NoReturn:
            log.error("draw process gone while building the bundle of draw %s: %s", draw_id, gone)
            if gone.timed_out:
                raise DeadlineExceeded(
                    f"the bundle of draw {draw_id} was not built in time ({gone})", reason="DRAW_TIMEOUT"
                )
            raise Unavailable(
                f"the draw process died ({gone}) while building the bundle of draw {draw_id}; retry",
                reason="DRAW_PROCESS_DIED",
                metadata={"draw_id": draw_id},
            )

        def built(reply: DrawReply) -> BundleContent:
            if reply.error is not None:
                raise _rebuilt(*reply.error)
            if reply.bundle is None:
                raise DrawProcessFailure(f"the draw process failed: {reply.failure}")
            return reply.bundle

        return self._in_child(
            BundleJob(draw_id, variant, chunk_bytes, deadlines.current(), current_request_id(), form),
            lambda: self._in_process.build_bundle(
                draw_id, variant=variant, chunk_bytes=chunk_bytes, form=form
            ),
            gone_while_building,
            built,
        )

    def _run(self, job: DrawJob, in_process: Callable[[], model.Draw]) -> model.Draw:
        return self._in_child(
            job, in_process, lambda gone: self._after_death(job, gone), lambda r: _answer(r, CLAIM.get())
        )

    def _in_child(
        self,
        job: DrawJob | BundleJob,
        in_process: Callable[[], T],
        after_death: Callable[[WorkerFailure], T],
        answer: Callable[[DrawReply], T],
    ) -> T:
        """``answer`` of the child's reply to ``job``; ``in_process()`` when no child runs; ``after_death``
        when the child died or was stopped meanwhile. One job at a time (draws are serialised anyway)."""
        with self._lock:
            if self._closed:
                raise Unavailable("the server is shutting down", reason="SHUTTING_DOWN")
            child = self._running_child()
            if child is None:
                return in_process()
            self._cancelled.clear()  # a flag of an earlier job is none of this one's business
            try:
                reply = _asked(child, job, self._wait_until(job), self._cancelled.set)
            except WorkerFailure as gone:
                self._children.discard()
                return after_death(gone)
            self._children.after_call(child, reply)
        return answer(reply)

    def _wait_until(self, job: DrawJob | BundleJob) -> float | None:
        """When the server stops waiting for the child: the call's deadline (plus a grace, the child
        honours it itself) or the draw time limit, whichever comes first; ``None``: no limit."""
        limits = []
        if job.deadline is not None:
            limits.append(job.deadline + DEADLINE_GRACE_S)
        if self._settings.draw_timeout_s > 0:
            limits.append(time.monotonic() + self._settings.draw_timeout_s)
        return min(limits, default=None)

    def _running_child(self) -> WorkerProcess | None:
        try:
            return self._children.worker()
        except WorkerFailure as gone:
            log.error(
                "DRAW PROCESS COULD NOT START (%s): draws now run in the server process, where they slow"
                " down every other call; next attempt in %.0f s",
                gone,
                RESTART_AFTER_S,
            )
            return None

    def _after_death(self, job: DrawJob, gone: WorkerFailure) -> model.Draw:
        """The answer for a call whose child died: read from the database what its transaction left."""
        log.error("draw process gone during %s of task %s: %s", job.use_case, job.task_id, gone)
        with self._unit_of_work() as uow:
            task = uow.tasks.get(job.task_id)
            draw_id = task.draw_id if task is not None else ""
            repeated = repeated_request(uow, draw_id, job.caller) if draw_id else None
        if repeated is not None:  # committed, and the audit log says by this very request
            claim = CLAIM.get()
            if claim is not None:
                claim.written = True
            return repeated.draw
        if draw_id:
            raise Unavailable(
                f"the draw process died ({gone}); task {job.task_id} has draw {draw_id} now: read it before"
                " drawing again",
                reason="DRAW_PROCESS_DIED",
                metadata={"task_id": job.task_id, "draw_id": draw_id},
            )
        if gone.timed_out:
            raise DeadlineExceeded(
                f"the draw did not finish in time ({gone}); it was stopped and nothing was written",
                reason="DRAW_TIMEOUT",
                metadata={"task_id": job.task_id},
            )
        raise Unavailable(
            f"the draw process died ({gone}) before the draw committed; nothing was written, retry",
            reason="DRAW_PROCESS_DIED",
            metadata={"task_id": job.task_id},
        )


def _job(
    use_case: UseCase,
    rule_set: RuleSet,
    task_id: str,
    as_of: dt.date | None,
    caller: Caller,
    declaration: dict[str, Any] | None,
) -> DrawJob:
    return DrawJob(
        use_case,
        rule_set,
        task_id,
        as_of,
        caller,
        declaration,
        CLAIM.get(),
        deadlines.current(),
        current_request_id(),
    )


def _answer(reply: DrawReply, claim: Claim | None) -> model.Draw:
    """The draw of the reply, or its error raised here as the child raised it."""
    for seconds in reply.rule_seconds:
        RULE_SECONDS.observe(seconds)
    if claim is not None and reply.claim_written:
        claim.written = True
    if reply.error is not None:
        raise _rebuilt(*reply.error)
    if reply.draw is None:
        raise DrawProcessFailure(f"the draw process failed: {reply.failure}")
    return reply.draw


def _rebuilt(cls: type[DomainError], args: tuple[Any, ...], attributes: dict[str, Any]) -> DomainError:
    """The domain error the child raised: same class, message, reason, metadata and field violations.

    Pickling the exception itself would call ``cls(*args)``, which fails for errors whose constructor
    does not take the message (``NotFound(resource, key)``, ``InvalidArgument(violations)``).
    """
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(attributes)
    return error


def _start_child(settings: ChildSettings, wiring: ChildWiring, cancelled: Event) -> WorkerProcess:
    # Not a daemon: daemonic processes may not start children, and this one starts its rules worker.
    # ``kill`` at interpreter exit (atexit) and the child's own parent check keep it from outliving us.
    return WorkerProcess(
        serve,
        (settings, os.getpid(), wiring, cancelled),
        name="dualdraw-draw-process",
        startup_timeout_s=STARTUP_TIMEOUT_S,
        daemon=False,
        stop_message=None,
        stop_timeout_s=STOP_TIMEOUT_S,
    )


def _asked(
    child: WorkerProcess, job: DrawJob | BundleJob, wait_until: float | None, cancel: Callable[[], None]
) -> DrawReply:
    """The child's reply to ``job``, waiting until ``wait_until`` (``time.monotonic()``; ``None``: as long
    as the draw takes). Raises ``WorkerFailure`` (``timed_out``) when it has not answered by then. Calls
    ``cancel()`` (the child then commits nothing) once the caller of the current call has gone."""
    child.send(job)
    while True:
        look_until = time.monotonic() + CANCEL_LOOK_S
        if child.answered_by(look_until if wait_until is None else min(look_until, wait_until)):
            break
        if deadlines.cancelled():
            cancel()
        if wait_until is not None and time.monotonic() >= wait_until:
            raise WorkerFailure("it did not answer in time and was stopped", timed_out=True)
    reply = child.receive(None)
    if isinstance(reply, tuple) and reply[0] == "crash":
        child.join(STOP_TIMEOUT_S)
        crashpoints.crash_point(reply[1])  # dies here as the child did, as the crash tests expect
        raise WorkerFailure(f"it stopped at crash point {reply[1]}")
    if not isinstance(reply, DrawReply):
        raise WorkerFailure(f"it answered {reply!r}")
    return reply


# --- the child ----------------------------------------------------------------------------------------------


def serve(
    conn: Connection, settings: ChildSettings, parent_pid: int, wiring: ChildWiring, cancelled: Event
) -> None:
    """Child process entry point: runs ``DrawJob``s and ``BundleJob``s from ``conn`` one at a time until
    ``None`` or EOF, on the runner ``wiring`` builds; a job whose caller has gone (``cancelled`` is set)
    commits nothing.

    Replies: ``("ready", pid)`` once; a ``DrawReply`` per job, or ``("crash", name)`` just before dying
    at a crash point.
    """
    # Stopping is the server's decision (systemd, say, signals every process of the service): it lets the
    # draw in flight finish first, then stops this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    configure_logging(settings.log_format, settings.log_level)  # as the server logs, with its request ids
    threading.Thread(target=_exit_without_parent, args=(parent_pid,), daemon=True).start()
    if settings.niceness:
        os.nice(settings.niceness)  # batch work, if so configured: other work gets the CPU first
    rule_seconds: list[float] = []
    with wiring(settings, rule_seconds.append) as draws:
        crashpoints.tell_before_crashing(lambda name: conn.send(("crash", name)))
        conn.send(("ready", os.getpid()))
        while True:
            try:
                job = conn.recv()
            except EOFError:
                break
            if job is None:
                break
            rule_seconds.clear()
            # The cyclic collector stays off until the reply is sent: by then reference counting has freed
            # what the job built, so the collection that follows walks what is left. A draw that turned it
            # back on itself had its million entries walked before it could answer (0.13 s at 1M).
            with collection_pause.paused():
                with deadlines.watched(lambda: not cancelled.is_set()):
                    reply = (
                        _build(draws, job)
                        if isinstance(job, BundleJob)
                        else _carry_out(draws, job, rule_seconds)
                    )
                try:
                    conn.send(reply)
                except (TypeError, AttributeError, ValueError, pickle.PicklingError) as exc:
                    conn.send(DrawReply(failure=f"its reply cannot be sent: {exc!r}"))  # odd error attributes


def _build(draws: DrawRunner, job: BundleJob) -> DrawReply:
    try:
        with deadlines.until(job.deadline), request_id_bound(job.request_id):
            built = draws.build_bundle(
                job.draw_id, variant=job.variant, chunk_bytes=job.chunk_bytes, form=job.form
            )
        return DrawReply(bundle=built)
    except DomainError as error:
        return DrawReply(error=(type(error), error.args, dict(vars(error))))
    except Exception:
        log.exception("draw process: the bundle of draw %s failed", job.draw_id)
        return DrawReply(failure=traceback.format_exc())


def _carry_out(draws: DrawRunner, job: DrawJob, rule_seconds: list[float]) -> DrawReply:
    claim_token = CLAIM.set(job.claim)
    try:
        with deadlines.until(job.deadline), request_id_bound(job.request_id):
            if job.use_case == "run_draw":
                draw = draws.run_draw(job.rule_set, task_id=job.task_id, as_of=job.as_of, caller=job.caller)
            else:
                draw = draws.commit_draw(
                    job.rule_set,
                    task_id=job.task_id,
                    as_of=job.as_of,
                    caller=job.caller,
                    declaration=job.declaration or {},
                )
        return DrawReply(draw=draw, claim_written=_written(job.claim), rule_seconds=tuple(rule_seconds))
    except DomainError as error:
        return DrawReply(
            error=(type(error), error.args, dict(vars(error))),
            claim_written=_written(job.claim),
            rule_seconds=tuple(rule_seconds),
        )
    except Exception:
        log.exception("draw process: %s of task %s failed", job.use_case, job.task_id)
        return DrawReply(failure=traceback.format_exc(), rule_seconds=tuple(rule_seconds))
    finally:
        CLAIM.reset(claim_token)


def _written(claim: Claim | None) -> bool:
    return claim is not None and claim.written


def _exit_without_parent(parent_pid: int) -> None:
    """Ends this process once the parent is gone (killed with SIGKILL, say), so no draw process is orphaned;
    an open transaction is rolled back by the database."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)
