"""The one machine for spawned worker processes: the rules worker and the draw process both run on it.

``WorkerProcess`` is one child: started with the ``spawn`` method (the parent is a gRPC server with
threads: never fork it), connected by a duplex pipe, ready once it has sent ``("ready", pid)`` within its
start-up timeout, asked with a per-call deadline, and killed together with its whole process group, so
that whatever it started (the draw process's rules worker, which may be the one stuck) dies with it. The
rules worker starts nothing and stays in its parent's group, so that it dies with a draw process too.
``Supervisor`` keeps one such child running under a ``RestartPolicy``: how often one call is tried on a
fresh child, how long to hold back after a failed start, and when a grown child retires.

What a message means and which errors cross the pipe belong to the code that runs on the machine; here a
message is any picklable object and every failure is a ``WorkerFailure``. As always with ``spawn``, the
program's main module must be importable without side effects (``if __name__ == "__main__":``).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

Main = Callable[..., None]
"""A child's entry point: ``main(conn, *args)``; it sends ``("ready", os.getpid())`` once it can work."""


class WorkerFailure(Exception):
    """The child could not start, died, did not answer in time (``timed_out``) or could not be reached;
    it must be discarded."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


@dataclass(frozen=True)
class RestartPolicy:
    """When a supervised child is replaced.

    ``attempts``: how often one call is tried; each failure discards the child and the next attempt gets
    a fresh one (2: retry once). ``start_backoff_s``: after a failed start no new start is tried for this
    long (0: at every call). ``retire_above_mb``: a child whose resident memory exceeds this after a call
    is stopped, so that its memory goes back to the system (``None``: never).
    """

    attempts: int = 1
    start_backoff_s: float = 0.0
    retire_above_mb: float | None = None


RETRY_ONCE = RestartPolicy(attempts=2)


class WorkerProcess:
    """One spawned child and the parent's end of its pipe; every failure surfaces as ``WorkerFailure``.

    ``daemon`` children are killed by ``multiprocessing`` at exit and may not start children of their own;
    other children are killed at interpreter exit (``atexit``) and must notice a dead parent themselves.
    ``own_group``: the child leads a process group of its own, inherited by whatever it starts, so that
    ``kill`` reaches them all; otherwise it stays in its parent's group (a child that starts nothing, and
    must die with a draw process that started it).
    """

    def __init__(
        self,
        main: Main,
        args: tuple[object, ...] = (),
        *,
        name: str,
        startup_timeout_s: float,
        daemon: bool = True,
        stop_message: object = None,
        stop_timeout_s: float = 5.0,
        own_group: bool = True,
    ) -> None:
        started = time.monotonic()
        self.name = name
        self._stop_message = stop_message
        self._stop_timeout_s = stop_timeout_s
        self._own_group = own_group
        context = get_context("spawn")
        self._conn, child_end = context.Pipe()
        self.process: BaseProcess = context.Process(
            target=_in_own_group if own_group else main,
            args=(main, child_end, *args) if own_group else (child_end, *args),
            name=name,
            daemon=daemon,
        )
        try:
            self.process.start()
        except OSError as exc:
            raise WorkerFailure(f"cannot start: {exc}") from exc
        finally:
            child_end.close()  # so that the child's death reads as end of file here
        atexit.register(self.kill)
        try:
            ready = self.receive(started + startup_timeout_s)
            if not (isinstance(ready, tuple) and ready[:1] == ("ready",)):
                raise WorkerFailure(f"it answered {ready!r} instead of being ready")
        except WorkerFailure:
            self.kill()
            raise
        log.info("%s %s started in %.2f s", name, self.process.pid, time.monotonic() - started)

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def is_alive(self) -> bool:
        return self.process.is_alive()

    def request(self, message: object, deadline: float | None) -> object:
        """``send(message)``, then ``receive(deadline)``."""
        self.send(message)
        return self.receive(deadline)

    def send(self, message: object) -> None:
        """Sends a message; its reply is read with ``receive``."""
        try:
            self._conn.send(message)
        except (OSError, ValueError) as exc:
            raise WorkerFailure(f"cannot reach it ({self.status()}): {exc}") from exc

    def answered_by(self, deadline: float) -> bool:
        """Whether the child's next message (or its death) is there to ``receive`` by ``deadline``
        (``time.monotonic()``); ``False``: not yet, the child is still at work."""
        try:
            return self._conn.poll(max(0.0, deadline - time.monotonic()))
        except (EOFError, OSError) as exc:
            raise WorkerFailure(f"it died ({self.status()})") from exc

    def receive(self, deadline: float | None) -> object:
        """The child's next message, waiting until ``deadline`` (``time.monotonic()``; ``None``: as long as
        it takes). Raises ``WorkerFailure`` (``timed_out``) when none came by then, or when it died."""
        try:
            if deadline is not None and not self._conn.poll(max(0.0, deadline - time.monotonic())):
                raise WorkerFailure("it did not answer in time and was stopped", timed_out=True)
            message: object = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise WorkerFailure(f"it died ({self.status()})") from exc
        return message

    def status(self) -> str:
        """How the child ended (``exit code 70``, ``killed by signal 9``), or ``still running``."""
        self.process.join(timeout=1.0)
        code = self.process.exitcode
        if code is None:
            return "still running"
        return f"killed by signal {-code}" if code < 0 else f"exit code {code}"

    def join(self, timeout_s: float) -> None:
        """Waits up to ``timeout_s`` for the child to end by itself."""
        self.process.join(timeout=timeout_s)

    def resident_mb(self) -> float:
        """The child's resident memory (Linux ``/proc``; 0 elsewhere or once it is gone)."""
        try:
            with open(f"/proc/{self.process.pid}/statm", encoding="ascii") as statm:
                resident_pages = int(statm.read().split()[1])
        except (OSError, IndexError, ValueError):
            return 0.0
        return resident_pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)

    def stop(self) -> None:
        """Asks the child to end (``stop_message``), waits ``stop_timeout_s``, then kills what is left."""
        with contextlib.suppress(OSError, ValueError):  # already gone: nothing to stop
            self._conn.send(self._stop_message)
        self.process.join(timeout=self._stop_timeout_s)
        self.kill()

    def kill(self) -> None:
        """Kills the child (with ``own_group``: its whole process group, the child and every process it
        started), then reaps it."""
        atexit.unregister(self.kill)
        pid = self.process.pid
        if pid is not None and self._own_group:
            # Also after the child itself died: what it started lives on in its group (a pid stays
            # reserved while it names a group with members).
            with contextlib.suppress(ProcessLookupError, PermissionError):  # no group (left), or not ours
                os.killpg(pid, signal.SIGKILL)
        if self.process.is_alive():  # not in a group of its own, or killed before it made one
            self.process.kill()
        self.process.join(timeout=self._stop_timeout_s)
        self._conn.close()


def _in_own_group(main: Main, conn: Connection, *args: object) -> None:
    """The child's first step: a process group of its own (its id is the child's pid), inherited by
    whatever it starts, so that ``WorkerProcess.kill`` reaches them all; then ``main``."""
    os.setpgid(0, 0)
    main(conn, *args)


class Supervisor:
    """Keeps one child of ``start()`` running under ``policy``. Not thread-safe: its owner serialises the
    calls (one exchange at a time on one pipe anyway)."""

    def __init__(self, start: Callable[[], WorkerProcess], policy: RestartPolicy) -> None:
        self._start = start
        self.policy = policy
        self._worker: WorkerProcess | None = None
        self._next_start = 0.0

    @property
    def pid(self) -> int | None:
        """The running child's process id; ``None`` while none runs."""
        worker = self._worker
        return worker.pid if worker is not None else None

    def worker(self) -> WorkerProcess | None:
        """The running child; a fresh one when none runs or it died while idle. ``None`` while starts are
        held back after a failed one (``policy.start_backoff_s``). Raises ``WorkerFailure`` when a start
        fails."""
        if self._worker is not None and not self._worker.is_alive():
            log.error(
                "%s %s died while idle (%s)", self._worker.name, self._worker.pid, self._worker.status()
            )
            self.discard()
        if self._worker is None:
            if time.monotonic() < self._next_start:
                return None
            try:
                self._worker = self._start()
            except WorkerFailure:
                self._next_start = time.monotonic() + self.policy.start_backoff_s
                raise
        return self._worker

    def call(self, exchange: Callable[[WorkerProcess], T]) -> T:
        """``exchange(child)``, tried ``policy.attempts`` times: a failure (also of the start) discards the
        child and the next attempt gets a fresh one; the last failure is raised."""
        for attempt in range(1, self.policy.attempts + 1):
            try:
                worker = self.worker()
                if worker is None:
                    raise WorkerFailure("no start is tried so soon after a failed one")
                return self.after_call(worker, exchange(worker))
            except WorkerFailure as failure:
                self.discard()
                if attempt == self.policy.attempts:
                    raise
                log.warning("attempt %d failed, a fresh process takes over: %s", attempt, failure)
        raise AssertionError("policy.attempts must be at least 1")

    def after_call(self, worker: WorkerProcess, result: T) -> T:
        """``result``, after stopping ``worker`` when it grew above ``policy.retire_above_mb``."""
        limit = self.policy.retire_above_mb
        if limit is not None and worker is self._worker and worker.resident_mb() > limit:
            log.info("%s %s retires to give its memory back", worker.name, worker.pid)
            self._worker = None
            worker.stop()
        return result

    def discard(self) -> None:
        """Kills the running child (if any); the next call starts a fresh one."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.kill()

    def stop(self) -> None:
        """Asks the running child (if any) to end; the next call starts a fresh one."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()


def leaf_worker(main: Main, name: str, startup_timeout_s: float) -> WorkerProcess:
    """A child that starts nothing: stopped by ``("stop",)``, and left in its parent's process group, so
    that in a draw process it dies with that process (the rules worker, the commitment worker)."""
    return WorkerProcess(
        main, name=name, startup_timeout_s=startup_timeout_s, stop_message=("stop",), own_group=False
    )


class WorkerHolder:
    """What holds one supervised child for its callers (the rules engine, the commitment worker), their
    calls serialised by ``_lock``: ``start()`` starts it now, ``close()`` stops it (a later call starts a
    new one); a ``with`` block does both."""

    def __init__(self, start: Callable[[], WorkerProcess], policy: RestartPolicy) -> None:
        self._lock = threading.Lock()
        self._workers = Supervisor(start, policy)

    def start(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Stops the worker; a later call starts a new one."""
        with self._lock:
            self._workers.stop()

    @property
    def worker_pid(self) -> int | None:
        """The worker's process id, ``None`` when none runs."""
        return self._workers.pid

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def child_pids(pid: int) -> list[int]:
    """The child processes of ``pid``, sorted (Linux ``/proc``; none where it cannot be read)."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        return sorted({int(c) for task in tasks for c in (task / "children").read_text().split()})
    except OSError:
        return []
