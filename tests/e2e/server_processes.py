"""``dualdraw serve`` as real subprocesses on one database: free ports, waiting for health, shutting down."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from dualdraw.runtime.crashpoints import ENV as CRASH_ENV
from tests.e2e.conftest import RULES

STOP_WAIT_S = 60  # a graceful stop takes ~2 s; a CI machine under load has been seen past 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_serving(target: str, timeout: float = 60) -> None:
    """Returns once ``target`` answers health checks with SERVING; ``TimeoutError`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with grpc.insecure_channel(target) as channel:
                status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
            if status.status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.RpcError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{target} did not start serving")
        time.sleep(0.2)


@contextmanager
def server_process(
    database_url: str, settings: dict[str, str], *, crash_at: str = "", args: tuple[str, ...] = ()
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """One ``dualdraw serve`` (auth off, local entropy, the shipped rules, plus ``settings`` as environment
    variables and ``args`` on its command line) on a free port, crashing at ``crash_at`` when given; yields
    the process and its address once it serves (a crashing one may die first: not waited for) and stops it
    (SIGTERM) if it still runs. A server that has not ended STOP_WAIT_S after SIGTERM fails the test with
    the end of its log (it is killed first)."""
    env = {
        **os.environ,
        "DUALDRAW_DATABASE_URL": database_url,
        "DUALDRAW_RULES_PATH": str(RULES),
        "DUALDRAW_AUTH": "off",
        "DUALDRAW_ALLOW_LOCAL_ENTROPY": "1",
        **settings,
    }
    env.pop(CRASH_ENV, None)
    if crash_at:
        env[CRASH_ENV] = crash_at
    target = f"127.0.0.1:{free_port()}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "dualdraw.entrypoints.cli.main", "serve", "--address", target, *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            if not crash_at:
                wait_serving(target)
            yield process, target
        finally:
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
                log.seek(0)
                tail = log.read().decode(errors="replace")[-4000:]
                problem = f"the server did not stop {STOP_WAIT_S} s after SIGTERM; its log ends:\n{tail}"
                raise AssertionError(problem) from None


@contextmanager
def server_processes(database_url: str, count: int) -> Iterator[list[str]]:
    """``count`` servers (auth off, the shipped rules) on ``database_url``; yields their addresses and
    stops them all (SIGTERM, then a 30 s wait) afterwards."""
    env = {
        **os.environ,
        "DUALDRAW_DATABASE_URL": database_url,
        "DUALDRAW_RULES_PATH": str(RULES),
        "DUALDRAW_AUTH": "off",
        "DUALDRAW_ALLOW_LOCAL_ENTROPY": "1",
    }
    targets = [f"127.0.0.1:{free_port()}" for _ in range(count)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "dualdraw.entrypoints.cli.main", "serve", "--address", target],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for target in targets
    ]
    try:
        for target in targets:
            wait_serving(target)
        yield targets
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
