"""``DrawProcess``: the server's draws (and bundles) run in one long-lived child process, so reads stay fast.

A draw over a million objects is minutes of Python work (loading objects, Merkle commitments, sorting,
persisting), and long C calls inside it (``sorted`` of a million tuples, unpickling, psycopg row conversion)
hold the GIL for hundreds of milliseconds at a time. In the server process that work stalled every other
call (``GetObject`` p99 429 ms during a 1M-object draw). Here the server's ``Draw`` and ``CommitDraw`` send
their request to a child started with ``spawn`` (like the rules-engine worker,
``dualdraw.adapters.rules_engine.engine``)
and wait on a pipe, which releases the GIL; the child has its own ``Store`` (same database URL, same audit
signer) and its own ``ExclusionEngine`` (same shard size and time limit).

What the child honours, so that a draw behaves exactly as it did in the server process:

- the idempotency claim of the call (``dualdraw.adapters.store.ledger.CLAIM``): the child writes it in the
draw's
  transaction and reports back that it did;
- the call's deadline (``dualdraw.runtime.deadlines``): passed as a ``time.monotonic()`` value, one clock for
all
  processes of the machine;
- crash points (``dualdraw.runtime.crashpoints``, tests only): the child tells the parent before it kills
itself,
  the parent waits for its death and then kills itself too, so the server dies at the same point;
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
exits after replying, so that an idle server does not keep the memory of its last big draw.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import pickle
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeVar

from dualdraw.adapters.rules_engine.engine import ExclusionEngine
from dualdraw.adapters.store.ledger import CLAIM, Claim
from dualdraw.adapters.store.unit_of_work import Store
from dualdraw.domain import model
from dualdraw.domain.audit.checkpoints import CheckpointSigner
from dualdraw.domain.errors import DeadlineExceeded, DomainError, Unavailable
from dualdraw.domain.exclusions.model import RuleSet
from dualdraw.runtime import crashpoints, deadlines
from dualdraw.runtime.telemetry import (
    RULE_SECONDS,
    configure_logging,
    current_request_id,
    request_id_bound,
)
from dualdraw.service_layer.bundles import BundleContent
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.draw_runner import DrawRunner, InProcessDraws
from dualdraw.service_layer.draw_state import repeated_request as _repeated_request
from dualdraw.service_layer.ports import UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")

STARTUP_TIMEOUT_S = 60.0
"""How long a fresh child may take to import, connect nothing yet, and say it is ready."""
RESTART_AFTER_S = 30.0
"""After a child failed to start, draws run in the server process this long before the next attempt."""
RETIRE_ABOVE_MB = 512
"""A child whose resident memory exceeds this after a draw exits once it has replied, so that the memory of
a big draw (1.2 GB at a million objects) goes back to the system; the next draw starts a fresh child."""
STOP_TIMEOUT_S = 10.0
PARENT_CHECK_S = 1.0
DEADLINE_GRACE_S = 5.0
"""How long past the call's own deadline the server waits for the child to say so before stopping it."""

UseCase = Literal["run_draw", "commit_draw"]


@dataclass(frozen=True)
class ChildSettings:
    """What the child is built from: the server's database, audit signer and rules-engine tuning."""

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
    retiring: bool = False
    """The child exits after this reply (it grew above ``RETIRE_ABOVE_MB``)."""


class DrawProcessFailure(RuntimeError):
    """The child raised something other than a domain error (a bug): the call fails as INTERNAL."""


class _ChildGone(Exception):
    """The child could not start, died, or stopped answering; it must be discarded."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class DrawProcess:
    """A ``DrawRunner`` that runs draws in a child process (see the module docstring); thread-safe.

    ``unit_of_work`` and ``engine`` are the server's own: they run draws in-process when no child can be
    started, and ``unit_of_work`` reads what a child that died left behind.
    """

    def __init__(
        self,
        settings: ChildSettings,
        unit_of_work: Callable[[], UnitOfWork],
        engine: ExclusionEngine,
    ) -> None:
        self._settings = settings
        self._unit_of_work = unit_of_work
        self._in_process: DrawRunner = InProcessDraws(unit_of_work, engine)
        self._lock = threading.Lock()
        self._child: _Child | None = None
        self._next_start = 0.0
        self._closed = False

    @property
    def pid(self) -> int | None:
        """The child's process id; ``None`` while no child runs."""
        child = self._child
        return child.process.pid if child is not None else None

    def start(self) -> None:
        """Starts the child now instead of at the first draw; a failure is logged, draws then run here."""
        with self._lock:
            self._running_child()

    def close(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stops the child once the draw in flight (if any) has finished, or kills it after ``timeout_s``."""
        idle = self._lock.acquire(timeout=timeout_s)
        try:
            self._closed = True
            child, self._child = self._child, None
            if child is not None:
                if idle:
                    child.stop()
                else:
                    log.warning("draw process %s still busy at shutdown: killed", child.process.pid)
                    child.kill()
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

    def build_bundle(self, draw_id: str, *, variant: str, chunk_bytes: int) -> BundleContent:
        """``bundles.build_bundle`` in the child (its reads hold the child's GIL, not the server's); same
        errors. A child that dies meanwhile gives ``Unavailable``: nothing was written, retry."""

        def gone_while_building(gone: _ChildGone) -> NoReturn:
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
            BundleJob(draw_id, variant, chunk_bytes, deadlines.current(), current_request_id()),
            lambda: self._in_process.build_bundle(draw_id, variant=variant, chunk_bytes=chunk_bytes),
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
        after_death: Callable[[_ChildGone], T],
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
            try:
                reply = child.ask(job, self._wait_until(job))
            except _ChildGone as gone:
                self._discard()
                return after_death(gone)
            if reply.retiring:
                log.info("draw process %s retires to give its memory back", child.process.pid)
                self._child = None
                child.stop()
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

    def _running_child(self) -> _Child | None:
        if self._child is not None and not self._child.process.is_alive():
            log.error("draw process %s died while idle (%s)", self._child.process.pid, self._child.status())
            self._discard()
        if self._child is None and time.monotonic() >= self._next_start:
            try:
                self._child = _Child(self._settings)
            except _ChildGone as gone:
                self._next_start = time.monotonic() + RESTART_AFTER_S
                log.error(
                    "DRAW PROCESS COULD NOT START (%s): draws now run in the server process, where they slow"
                    " down every other call; next attempt in %.0f s",
                    gone,
                    RESTART_AFTER_S,
                )
        return self._child

    def _discard(self) -> None:
        if self._child is not None:
            self._child.kill()
            self._child = None

    def _after_death(self, job: DrawJob, gone: _ChildGone) -> model.Draw:
        """The answer for a call whose child died: read from the database what its transaction left."""
        log.error("draw process gone during %s of task %s: %s", job.use_case, job.task_id, gone)
        with self._unit_of_work() as uow:
            task = uow.tasks.get(job.task_id)
            draw_id = task.draw_id if task is not None else ""
            repeated = _repeated_request(uow, draw_id, job.caller) if draw_id else None
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


class _Child:
    """One child process and its end of the pipe; every failure surfaces as ``_ChildGone``."""

    def __init__(self, settings: ChildSettings) -> None:
        started = time.monotonic()
        context = get_context("spawn")  # the parent is a gRPC server with threads: never fork it
        self._conn, child_end = context.Pipe()
        # Not a daemon: daemonic processes may not start children, and this one starts its rules worker.
        # ``kill`` at interpreter exit (atexit) and the child's own parent check keep it from outliving us.
        self.process: BaseProcess = context.Process(
            target=serve, args=(child_end, settings, os.getpid()), name="dualdraw-draw-process"
        )
        try:
            self.process.start()
        except OSError as exc:
            raise _ChildGone(f"cannot start: {exc}") from exc
        finally:
            child_end.close()  # so that the child's death reads as end of file here
        atexit.register(self.kill)
        try:
            self._receive(started + STARTUP_TIMEOUT_S)
        except _ChildGone:
            self.kill()
            raise
        log.info("draw process %s started in %.2f s", self.process.pid, time.monotonic() - started)

    def ask(self, job: DrawJob | BundleJob, wait_until: float | None) -> DrawReply:
        """The child's reply to ``job``, waiting until ``wait_until`` (``time.monotonic()``; ``None``: as
        long as the draw takes). Raises ``_ChildGone`` (``timed_out``) when it has not answered by then."""
        try:
            self._conn.send(job)
        except (OSError, ValueError) as exc:
            raise _ChildGone(f"cannot reach it ({self.status()}): {exc}") from exc
        reply = self._receive(wait_until)
        if isinstance(reply, tuple) and reply[0] == "crash":
            self.process.join(timeout=STOP_TIMEOUT_S)
            crashpoints.crash_point(reply[1])  # dies here as the child did, as the crash tests expect
            raise _ChildGone(f"it stopped at crash point {reply[1]}")
        if not isinstance(reply, DrawReply):
            raise _ChildGone(f"it answered {reply!r}")
        return reply

    def _receive(self, deadline: float | None) -> object:
        try:
            if deadline is not None and not self._conn.poll(max(0.0, deadline - time.monotonic())):
                raise _ChildGone("it did not answer in time and was stopped", timed_out=True)
            reply: object = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise _ChildGone(f"it died ({self.status()})") from exc
        return reply

    def status(self) -> str:
        self.process.join(timeout=1.0)
        code = self.process.exitcode
        if code is None:
            return "still running"
        return f"killed by signal {-code}" if code < 0 else f"exit code {code}"

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # already gone: nothing to stop
            self._conn.send(None)
        self.process.join(timeout=STOP_TIMEOUT_S)
        self.kill()

    def kill(self) -> None:
        """Kills the child and the processes it started (its rules worker, which may be the one stuck)."""
        atexit.unregister(self.kill)
        if self.process.is_alive():
            started = child_pids(self.process.pid) if self.process.pid else []
            self.process.kill()
            for pid in started:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        self.process.join(timeout=STOP_TIMEOUT_S)
        self._conn.close()


def child_pids(pid: int) -> list[int]:
    """The child processes of ``pid``, sorted (Linux ``/proc``; none where it cannot be read)."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        return sorted({int(c) for task in tasks for c in (task / "children").read_text().split()})
    except OSError:
        return []


# --- the child ----------------------------------------------------------------------------------------------


def serve(conn: Connection, settings: ChildSettings, parent_pid: int) -> None:
    """Child process entry point: runs ``DrawJob``s from ``conn`` one at a time until ``None`` or EOF.

    Replies: ``("ready", pid)`` once; a ``DrawReply`` per job, or ``("crash", name)`` just before dying
    at a crash point.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # decides, and lets the draw in flight finish first
    configure_logging(settings.log_format, settings.log_level)  # as the server logs, with its request ids
    threading.Thread(target=_exit_without_parent, args=(parent_pid,), daemon=True).start()
    if settings.niceness:
        os.nice(settings.niceness)  # batch work, if so configured: other work gets the CPU first
    store = Store.from_url(settings.database_url, signer=settings.signer)
    engine = ExclusionEngine(shard_size=settings.rule_shard_size, timeout_s=settings.rule_timeout_s)
    rule_seconds: list[float] = []
    evaluate = engine.evaluate

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return evaluate(*args, **kwargs)
        finally:
            rule_seconds.append(time.perf_counter() - started)

    setattr(engine, "evaluate", timed)  # noqa: B010 -- as observability.time_rule_evaluation does
    try:
        engine.start()  # now, not in the first draw: its worker takes a few hundred ms to start
    except Unavailable as exc:
        log.warning("%s; the first draw tries again", exc)
    draws = InProcessDraws(store.unit_of_work, engine)
    crashpoints.tell_before_crashing(lambda name: conn.send(("crash", name)))
    conn.send(("ready", os.getpid()))
    try:
        while True:
            try:
                job = conn.recv()
            except EOFError:
                break
            if job is None:
                break
            rule_seconds.clear()
            reply = _build(draws, job) if isinstance(job, BundleJob) else _carry_out(draws, job, rule_seconds)
            retiring = _resident_mb() > settings.retire_above_mb
            try:
                conn.send(dataclasses.replace(reply, retiring=retiring))
            except (TypeError, AttributeError, ValueError, pickle.PicklingError) as exc:
                failure = f"its reply cannot be sent: {exc!r}"  # odd error attributes
                conn.send(DrawReply(failure=failure, retiring=retiring))
            if retiring:
                break
    finally:
        engine.close()
        store.dispose()


def _build(draws: DrawRunner, job: BundleJob) -> DrawReply:
    try:
        with deadlines.until(job.deadline), request_id_bound(job.request_id):
            built = draws.build_bundle(job.draw_id, variant=job.variant, chunk_bytes=job.chunk_bytes)
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


def _resident_mb() -> float:
    """This process's resident memory (Linux ``/proc``; 0 elsewhere: never retires)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            resident_pages = int(statm.read().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def _written(claim: Claim | None) -> bool:
    return claim is not None and claim.written


def _exit_without_parent(parent_pid: int) -> None:
    """Ends this process once the parent is gone (killed with SIGKILL, say), so no draw process is orphaned;
    an open transaction is rolled back by the database."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)
