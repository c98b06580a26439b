"""The worker machine (``dualdraw.adapters.worker_process``) against a tiny child: start-up and its timeout,
calls, deadlines, death mid-call, the kill of the child's process group, and the restart policy."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from dualdraw.adapters.worker_process import (
    RETRY_ONCE,
    RestartPolicy,
    Supervisor,
    WorkerFailure,
    WorkerProcess,
    child_pids,
)


def child(conn: Connection, start: str = "ready") -> None:
    """The tiny child: ``("echo", x)`` → ``x``; ``("sleep", s)`` sleeps, then ``"slept"``; ``("exit",
    code)`` ends the process; ``("spawn",)`` starts a ``sleep`` and answers its pid; ``None`` stops."""
    if start == "silent":
        time.sleep(60)
    if start == "exit":
        os._exit(3)
    conn.send(("ready", os.getpid()))
    while True:
        message = conn.recv()
        if message is None:
            return
        if message[0] == "echo":
            conn.send(message[1])
        elif message[0] == "sleep":
            time.sleep(message[1])
            conn.send("slept")
        elif message[0] == "exit":
            os._exit(message[1])
        elif message[0] == "spawn":
            conn.send(subprocess.Popen(["sleep", "60"]).pid)


def start(start: str = "ready", *, startup_timeout_s: float = 30.0, own_group: bool = True) -> WorkerProcess:
    return WorkerProcess(
        child, (start,), name="tiny", startup_timeout_s=startup_timeout_s, own_group=own_group
    )


def gone(pid: int, within_s: float = 5.0) -> bool:
    """Whether ``pid`` has ended (dead, or a zombie its reaper has not collected yet)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] == "Z":
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def worker() -> Iterator[WorkerProcess]:
    started = start()
    try:
        yield started
    finally:
        started.kill()


def test_a_started_child_is_ready_and_answers_calls(worker: WorkerProcess) -> None:
    assert worker.pid is not None
    assert worker.is_alive()
    assert worker.request(("echo", {"a": [1, 2]}), time.monotonic() + 10) == {"a": [1, 2]}
    assert worker.request(("echo", "again"), None) == "again"


def test_stop_ends_the_child_with_its_stop_message(worker: WorkerProcess) -> None:
    pid = worker.pid
    assert pid is not None
    worker.stop()
    assert worker.process.exitcode == 0  # it returned by itself: not killed
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # and was reaped


def test_a_call_past_its_deadline_fails_as_timed_out(worker: WorkerProcess) -> None:
    started = time.monotonic()
    with pytest.raises(WorkerFailure, match="did not answer in time") as caught:
        worker.request(("sleep", 30), time.monotonic() + 0.3)
    assert caught.value.timed_out
    assert 0.3 <= time.monotonic() - started < 5
    assert worker.is_alive()  # the owner decides: here the supervisor discards it


def test_a_child_that_dies_mid_call_fails_the_call_with_its_exit_status(worker: WorkerProcess) -> None:
    with pytest.raises(WorkerFailure, match=r"died \(exit code 70\)") as caught:
        worker.request(("exit", 70), time.monotonic() + 10)
    assert not caught.value.timed_out
    with pytest.raises(WorkerFailure, match=r"cannot reach it|died"):
        worker.request(("echo", 1), time.monotonic() + 10)


def test_a_child_killed_by_a_signal_says_so(worker: WorkerProcess) -> None:
    assert worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)
    with pytest.raises(WorkerFailure, match=r"killed by signal 9"):
        worker.request(("echo", 1), time.monotonic() + 10)


def test_a_child_that_is_not_ready_in_time_is_killed() -> None:
    before = set(child_pids(os.getpid()))
    started = time.monotonic()
    with pytest.raises(WorkerFailure, match="did not answer in time") as caught:
        start("silent", startup_timeout_s=1.0)
    assert caught.value.timed_out
    assert 1.0 <= time.monotonic() - started < 10
    assert all(gone(pid) for pid in set(child_pids(os.getpid())) - before)


def test_a_child_that_dies_at_start_up_fails_the_start() -> None:
    with pytest.raises(WorkerFailure, match=r"died \(exit code 3\)"):
        start("exit")


def test_kill_takes_the_childs_whole_process_group(worker: WorkerProcess) -> None:
    assert worker.pid is not None
    assert os.getpgid(worker.pid) == worker.pid  # the child leads a group of its own
    grandchild = worker.request(("spawn",), time.monotonic() + 10)
    assert isinstance(grandchild, int)
    assert os.getpgid(grandchild) == worker.pid
    worker.kill()
    assert gone(grandchild)
    with pytest.raises(ProcessLookupError):
        os.kill(worker.pid, 0)


def test_kill_takes_what_a_dead_child_left_in_its_group(worker: WorkerProcess) -> None:
    grandchild = worker.request(("spawn",), time.monotonic() + 10)
    assert isinstance(grandchild, int)
    with pytest.raises(WorkerFailure, match="died"):
        worker.request(("exit", 1), time.monotonic() + 10)
    assert not gone(grandchild, within_s=0.2)  # orphaned, still running
    worker.kill()
    assert gone(grandchild)


def test_a_child_outside_its_own_group_stays_in_its_parents() -> None:
    worker = start(own_group=False)
    try:
        assert worker.pid is not None
        assert os.getpgid(worker.pid) == os.getpgrp()
        grandchild = worker.request(("spawn",), time.monotonic() + 10)
        assert isinstance(grandchild, int)
    finally:
        worker.kill()
    assert not gone(grandchild, within_s=0.2)  # only the child was killed
    os.kill(grandchild, signal.SIGKILL)


# -- the restart policy ---------------------------------------------------------------------------------


def test_retry_once_gives_a_failed_call_a_fresh_child() -> None:
    supervisor = Supervisor(start, RETRY_ONCE)
    pids: list[int | None] = []

    def first_dies(worker: WorkerProcess) -> object:
        pids.append(worker.pid)
        return worker.request(("exit", 70) if len(pids) == 1 else ("echo", "fine"), time.monotonic() + 10)

    try:
        assert supervisor.call(first_dies) == "fine"
        assert len(pids) == 2
        assert pids[0] != pids[1]
        assert supervisor.pid == pids[1]
    finally:
        supervisor.discard()


def test_retry_once_kills_a_child_past_its_deadline_and_raises_the_second_failure() -> None:
    supervisor = Supervisor(start, RETRY_ONCE)
    pids: list[int] = []

    def hangs(worker: WorkerProcess) -> object:
        assert worker.pid is not None
        pids.append(worker.pid)
        return worker.request(("sleep", 30), time.monotonic() + 0.3)

    with pytest.raises(WorkerFailure, match="did not answer in time"):
        supervisor.call(hangs)
    assert len(set(pids)) == 2
    assert all(gone(pid) for pid in pids)
    assert supervisor.pid is None
    try:
        assert supervisor.call(lambda worker: worker.request(("echo", 1), time.monotonic() + 10)) == 1
    finally:
        supervisor.discard()


def test_one_attempt_and_a_start_backoff_hold_starts_back_after_a_failed_one() -> None:
    starts: list[float] = []

    def cannot_start() -> WorkerProcess:
        starts.append(time.monotonic())
        raise WorkerFailure("cannot start: no processes left")

    supervisor = Supervisor(cannot_start, RestartPolicy(start_backoff_s=0.5))
    with pytest.raises(WorkerFailure, match="no processes left"):
        supervisor.worker()
    assert supervisor.worker() is None  # held back: the caller runs the work elsewhere
    with pytest.raises(WorkerFailure, match="so soon"):
        supervisor.call(lambda worker: "never")
    assert len(starts) == 1
    time.sleep(0.6)
    with pytest.raises(WorkerFailure):
        supervisor.worker()
    assert len(starts) == 2


def test_a_child_that_died_while_idle_is_replaced_at_the_next_call() -> None:
    supervisor = Supervisor(start, RestartPolicy())
    try:
        first = supervisor.worker()
        assert first is not None
        assert first.pid is not None
        os.kill(first.pid, signal.SIGKILL)
        first.join(5)
        second = supervisor.worker()
        assert second is not None
        assert second.pid not in (None, first.pid)
    finally:
        supervisor.discard()


@pytest.mark.parametrize(("limit", "retires"), [(0.0, True), (1e9, False), (None, False)])
def test_a_child_grown_above_the_memory_limit_retires_after_its_call(
    limit: float | None, retires: bool
) -> None:
    supervisor = Supervisor(start, RestartPolicy(retire_above_mb=limit))
    try:
        worker = supervisor.worker()
        assert worker is not None
        assert worker.pid is not None
        assert worker.resident_mb() > 0
        pid = worker.pid
        reply = supervisor.after_call(worker, worker.request(("echo", "done"), time.monotonic() + 10))
        assert reply == "done"
        assert (supervisor.pid is None) == retires
        if retires:
            assert worker.process.exitcode == 0  # stopped, not killed: it finished its work
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        supervisor.discard()
