"""The draw process (``dualdraw.adapters.draw_process``): draws run in a child of the server with the same
effects,
errors, idempotency and deadlines as in the server process; a child that dies or cannot start leaves the
service serving and never draws twice."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import grpc
import pytest
from prometheus_client import REGISTRY

from dualdraw.adapters import draw_process as draw_process_module
from dualdraw.adapters.rules_engine.worker import FAULT_ENV
from dualdraw.adapters.worker_process import WorkerFailure, child_pids
from dualdraw.domain.errors import DeadlineExceeded, Unavailable
from dualdraw.entrypoints.grpc.server import RunningServer, create_server
from dualdraw.runtime import crashpoints, deadlines
from dualdraw.runtime.crashpoints import ENV as CRASH_ENV
from dualdraw.service_layer import bundles
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.service_layer.draw_progress import DRAW_STAGES, StageLog
from dualdraw.settings import Settings
from dualdraw.v1 import draws_pb2, tasks_pb2, verification_pb2
from dualdraw.verifier.bundle import verify_bundle
from dualdraw_client import DualdrawClient
from dualdraw_client.dates import date_pb
from dualdraw_client.decimals import decimal_pb
from dualdraw_client.errors import DualdrawError
from tests.e2e.conftest import RULES, Served

TASK = tasks_pb2.Task(
    item_code="TS-SE-01",
    department_id="130273-GXQ",
    ratio=decimal_pb("0.1"),
    team_size=2,
    policy=tasks_pb2.TaskPolicy(no_frequency_cap=True),  # drawn again and again: no draw caps the next
)
AS_OF = "2026-12-01"


def _settings(database_url: str, draw_process: str) -> Settings:
    return Settings(
        database_url=database_url,
        rules_path=RULES,
        address="127.0.0.1:0",
        rule_timeout_s=60,
        auth="off",
        allow_local_entropy=True,  # development: one-step draws use a local secret
        draw_process=draw_process,
    )


@pytest.fixture
def in_process(demo_served: Served, database_url: str) -> Iterator[RunningServer]:
    """A second server on the same database that draws in its own process (``DUALDRAW_DRAW_PROCESS=off``)."""
    running = create_server(_settings(database_url, "off"))
    assert running.draw_process is None
    try:
        yield running
    finally:
        running.stop(grace=1)


def _gone(pids: list[int], within_s: float = 10.0) -> bool:
    """Whether every process of ``pids`` has ended (dead or a zombie awaiting its reaper)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        states = []
        for pid in pids:
            try:
                states.append(Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0])
            except FileNotFoundError:
                states.append("gone")
        if all(state in ("Z", "gone") for state in states):
            return True
        time.sleep(0.05)
    return False


def _client(running: RunningServer) -> DualdrawClient:
    return DualdrawClient(f"127.0.0.1:{running.port}", actor="e2e-tester", timeout=60)


def _error(call: Any) -> tuple[Any, ...]:
    with pytest.raises(DualdrawError) as caught:
        call()
    e = caught.value
    return (e.code, e.reason, e.metadata, [(v.field, v.description) for v in e.field_violations])


SUMMARY = (
    "algorithm_version",
    "rule_set_hash",
    "in_scope_count",
    "excluded_count",
    "eligible_count",
    "selected_count",
    "eligible_digest",
    "inspector_pool_digest",
    "team_size",
    "ratio",
)


def test_a_draw_in_the_draw_process_matches_one_in_the_server_process(
    demo_served: Served, client: DualdrawClient, in_process: RunningServer
) -> None:
    process = demo_served.running.draw_process
    assert process is not None
    evaluations = REGISTRY.get_sample_value("dualdraw_rule_evaluation_seconds_count") or 0
    child_drawn = client.draw(client.create_task(TASK).id, AS_OF)
    # The child's rule evaluations show in the server's metrics.
    assert REGISTRY.get_sample_value("dualdraw_rule_evaluation_seconds_count") == evaluations + 1
    assert process.pid not in (None, os.getpid())
    with _client(in_process) as other:
        here_drawn = other.draw(other.create_task(TASK).id, AS_OF)
    assert [getattr(child_drawn, f) for f in SUMMARY] == [getattr(here_drawn, f) for f in SUMMARY]
    assert len(list(client.iter_assignments(child_drawn.id))) == child_drawn.selected_count
    actions = [
        [e.action for e in client.iter_audit_events(resource=f"draws/{d.id}")]
        for d in (child_drawn, here_drawn)
    ]
    assert actions[0] == actions[1]
    assert actions[0]
    verdict = client.verify_log()
    assert verdict.ok, verdict.problem
    # The child signs with the server's own key (here the per-process development key).
    signer = demo_served.running.store.signer
    assert signer is not None
    assert client.get_checkpoint().public_key == signer.public_key


@pytest.mark.parametrize("niceness", [0, 10])
def test_the_draw_process_and_its_rules_worker_run_at_the_configured_niceness(
    database_url: str, niceness: int
) -> None:
    """DUALDRAW_DRAW_PROCESS_NICENESS is added to the child's niceness (default 0: the server's), and the
    rules worker it starts inherits it; the server keeps its own."""
    settings = dataclasses.replace(_settings(database_url, "on"), draw_process_niceness=niceness)
    running = create_server(settings)
    try:
        load_demo(running.services.unit_of_work)
        with _client(running) as other:
            other.draw(other.create_task(TASK).id, AS_OF)
        process = running.draw_process
        assert process is not None
        assert process.pid is not None
        server = os.getpriority(os.PRIO_PROCESS, 0)
        expected = min(19, server + niceness)
        assert os.getpriority(os.PRIO_PROCESS, process.pid) == expected
        workers = child_pids(process.pid)
        assert workers, "the draw process's rules worker"
        assert {os.getpriority(os.PRIO_PROCESS, pid) for pid in workers} == {expected}
    finally:
        running.stop(grace=1)


def test_a_draw_logs_each_stage_as_it_ends(
    in_process: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Progress on long work: every stage of a draw is logged with its duration, in pipeline order (the
    draw process logs the same lines to its own standard error)."""
    caplog.set_level(logging.INFO, logger="dualdraw.service_layer.draw_progress")
    with _client(in_process) as other:
        task = other.create_task(TASK)
        other.draw(task.id, AS_OF)
    ended = [
        r.getMessage().split(": ", 1)[1].split(" done")[0]
        for r in caplog.records
        if r.name == "dualdraw.service_layer.draw_progress" and f"task {task.id}" in r.getMessage()
    ]
    assert ended == list(DRAW_STAGES)


def test_the_draw_process_logs_json_lines_with_the_calls_request_id(
    database_url: str, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """The child logs as the server does (DUALDRAW_LOG_FORMAT, JSON by default), each line naming the
    process and carrying the request id of the call it serves."""
    caplog.set_level(logging.INFO)  # the child takes the server's level
    running = create_server(dataclasses.replace(_settings(database_url, "on"), log_format="json"))
    try:
        load_demo(running.services.unit_of_work)
        with _client(running) as other, grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            task = other.create_task(TASK)
            draw = channel.unary_unary(
                "/dualdraw.v1.DrawService/Draw",
                request_serializer=draws_pb2.DrawRequest.SerializeToString,
                response_deserializer=draws_pb2.DrawResponse.FromString,
            )
            draw(
                draws_pb2.DrawRequest(task_id=task.id, as_of=date_pb(AS_OF), request_id="idem-1"),
                metadata=[("x-request-id", "trace-draw-1"), ("x-dualdraw-actor", "e2e-tester")],
                timeout=60,
            )
    finally:
        running.stop(grace=1)
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    stages = [e for e in lines if e.get("logger") == "dualdraw.service_layer.draw_progress"]
    assert [e["message"].split(": ", 1)[1].split(" done")[0] for e in stages] == list(DRAW_STAGES)
    assert {(e["process"], e["request_id"]) for e in stages} == {("dualdraw-draw-process", "trace-draw-1")}


def test_stage_log_reports_a_long_stage_while_it_runs_and_times_each_stage() -> None:
    now = [0.0]
    stages = StageLog("draw of task t", every_s=5.0, clock=lambda: now[0])
    for at, stage, done, total in [
        (1.0, "load", 10, 10),
        (3.0, "rules", 4, 10),  # 2 s since the last report: quiet
        (7.0, "rules", 8, 10),  # 6 s: reported
        (8.0, "rules", 10, 10),
        (8.5, "commitments", 9, 9),
    ]:
        now[0] = at
        stages(stage, done, total)
    assert stages.seconds == {"load": 1.0, "rules": 7.0, "commitments": 0.5}


def test_domain_errors_from_the_draw_process_reach_the_client_as_from_the_server_process(
    demo_served: Served, client: DualdrawClient, in_process: RunningServer
) -> None:
    drawn_task = client.create_task(TASK)
    client.draw(drawn_task.id, AS_OF)
    bad_beacon = verification_pb2.EntropySource(
        kind=verification_pb2.ENTROPY_SOURCE_KIND_BEACON, beacon="", beacon_round=0
    )
    fresh = client.create_task(TASK)
    with _client(in_process) as other:
        calls = [
            (lambda c: c.draw("t-000000000000", AS_OF)),  # NotFound: resource and key in metadata
            (lambda c: c.draw(drawn_task.id, AS_OF)),  # AlreadyExists DRAW_EXISTS with draw_id
            (lambda c: c.commit_draw(fresh.id, bad_beacon, as_of=AS_OF)),  # InvalidArgument, field violations
        ]
        for call in calls:
            through_child = _error(lambda call=call: call(client))
            in_server = _error(lambda call=call: call(other))
            assert through_child == in_server
            assert through_child[1]  # a reason came through
    assert _error(lambda: client.draw("t-000000000000", AS_OF))[0] == grpc.StatusCode.NOT_FOUND
    violations = _error(lambda: client.commit_draw(fresh.id, bad_beacon, as_of=AS_OF))[3]
    assert violations
    assert violations[0][0].startswith("entropy_source")


def test_a_retried_draw_returns_the_first_response(demo_served: Served, client: DualdrawClient) -> None:
    task = client.create_task(TASK)
    first = client.draw(task.id, AS_OF, request_id="proc-draw-1")
    again = client.draw(task.id, AS_OF, request_id="proc-draw-1")
    assert again == first
    committed_task = client.create_task(TASK)
    committed = client.commit_draw(committed_task.id, as_of=AS_OF, request_id="proc-commit-1")
    assert client.commit_draw(committed_task.id, as_of=AS_OF, request_id="proc-commit-1") == committed
    assert _error(lambda: client.draw(task.id, AS_OF, request_id="proc-draw-2"))[1] == "DRAW_EXISTS"


def test_a_draw_process_killed_mid_draw_gives_a_clear_answer_and_the_next_draw_works(
    demo_served: Served, client: DualdrawClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    process = demo_served.running.draw_process
    assert process is not None
    task = client.create_task(TASK)
    monkeypatch.setenv(FAULT_ENV, "hang")  # the child's rules worker hangs: the draw is in flight
    outcome: list[Any] = []

    def draw() -> None:
        # The server's own answer, without gRPC's retry of UNAVAILABLE (which would draw in a fresh child).
        target = f"127.0.0.1:{demo_served.running.port}"
        with (
            grpc.insecure_channel(target, options=[("grpc.enable_retries", 0)]) as channel,
            DualdrawClient(channel=channel, actor="e2e-tester", timeout=60) as once,
        ):
            try:
                outcome.append(once.draw(task.id, AS_OF, request_id="killed-draw"))
            except DualdrawError as error:
                outcome.append(error)

    call = threading.Thread(target=draw)
    call.start()
    deadline = time.monotonic() + 30
    while process.pid is None and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = process.pid
    assert pid is not None
    time.sleep(1.0)  # the child is inside the draw, waiting for its rules worker
    monkeypatch.delenv(FAULT_ENV)  # the next child's workers are healthy
    hanging_worker = child_pids(pid)
    os.kill(pid, signal.SIGKILL)
    for worker in hanging_worker:  # it sleeps in its fault and would notice its parent's death only later
        os.kill(worker, signal.SIGKILL)
    call.join(60)
    error = outcome[0]
    assert isinstance(error, DualdrawError)
    assert (error.code, error.reason) == (grpc.StatusCode.UNAVAILABLE, "DRAW_PROCESS_DIED")
    assert "nothing was written" in error.message
    assert client.get_task(task.id).draw_id == ""  # nothing half-written
    assert client.get_object(client.list_objects(page_size=1).objects[0].credit_code)  # still serving
    drawn = client.draw(task.id, AS_OF, request_id="killed-draw")  # the retry, in a fresh child
    assert drawn.task_id == task.id
    assert process.pid not in (None, pid)
    assert len(client.list_draws(task_id=task.id).draws) == 1


def test_a_draw_process_that_dies_after_committing_answers_from_the_database_and_never_draws_twice(
    demo_served: Served, client: DualdrawClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    process = demo_served.running.draw_process
    assert process is not None
    rule_set = demo_served.running.services.rule_book.current()
    mine, anothers = client.create_task(TASK), client.create_task(TASK)
    # The child dies at the crash point right after its commit; the parent here must not die with it.
    monkeypatch.setenv(CRASH_ENV, "draw.after_commit")
    monkeypatch.setattr(crashpoints, "crash_point", lambda name: None)
    caller = Caller(actor="e2e-tester", request_id="dies-after-commit")
    draw = process.run_draw(rule_set, task_id=mine.id, as_of=None, caller=caller)
    assert client.get_task(mine.id).draw_id == draw.id  # this request's draw, read back from the database
    with pytest.raises(Unavailable) as caught:  # without a request id the draw cannot be claimed
        process.run_draw(rule_set, task_id=anothers.id, as_of=None, caller=Caller(actor="e2e-tester"))
    drawn = client.get_task(anothers.id).draw_id
    assert drawn
    assert caught.value.reason == "DRAW_PROCESS_DIED"
    assert caught.value.metadata["draw_id"] == drawn
    monkeypatch.delenv(CRASH_ENV)
    assert _error(lambda: client.draw(anothers.id, AS_OF))[1] == "DRAW_EXISTS"  # still one draw each
    assert len(client.list_draws(task_id=mine.id).draws) == 1


def test_the_deadline_of_the_call_is_honoured_in_the_draw_process(
    demo_served: Served, client: DualdrawClient
) -> None:
    process = demo_served.running.draw_process
    assert process is not None
    task = client.create_task(TASK)
    rule_set = demo_served.running.services.rule_book.current()
    with deadlines.until(time.monotonic() + 0.001), pytest.raises(DeadlineExceeded):
        process.run_draw(rule_set, task_id=task.id, as_of=None, caller=Caller(actor="e2e-tester"))
    assert client.get_task(task.id).draw_id == ""
    assert client.draw(task.id, AS_OF).task_id == task.id


def test_bundles_are_built_in_the_draw_process_and_its_errors_reach_the_client(
    demo_served: Served, client: DualdrawClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing a 1M draw's bundle is seconds of Python (GetObject p99 237 ms while the server did it): the
    draw process builds it. Here the server's own ``build_bundle`` fails, so a bundle that arrives, equal
    to the one the server would build and verifying offline, was built in the child."""
    process = demo_served.running.draw_process
    assert process is not None
    draw = client.draw(client.create_task(TASK).id, AS_OF)
    expected = bundles.export_bundle(demo_served.running.store.unit_of_work(), draw.id)

    def not_here(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("built in the server process")

    monkeypatch.setattr(bundles, "build_bundle", not_here)
    assert client.export_draw_bundle(draw.id) == expected
    assert verify_bundle(expected).ok
    assert client.export_draw_bundle_unary(draw.id).content == expected
    code, reason, _, _ = _error(lambda: client.export_draw_bundle("d-000000000000"))
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")


def test_a_draw_that_outruns_the_draw_time_limit_is_stopped_and_nothing_is_written(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child stuck in a draw (here its rules worker hangs; in life, say, a database lock) does not hold
    the server's draws forever: after DUALDRAW_DRAW_TIMEOUT_S it is stopped, the call gets
    DEADLINE_EXCEEDED (DRAW_TIMEOUT) with nothing written, and the next draw runs in a fresh child."""
    monkeypatch.setenv(FAULT_ENV, "hang")  # the first child's rules worker hangs on every shard
    settings = dataclasses.replace(_settings(database_url, "on"), draw_timeout_s=2.0)
    running = create_server(settings)
    try:
        load_demo(running.services.unit_of_work)
        process = running.draw_process
        assert process is not None
        process.start()
        assert process.pid is not None
        stuck = child_pids(process.pid)  # its rules worker, started with the child
        assert stuck
        with _client(running) as other:
            task = other.create_task(TASK)
            started = time.monotonic()
            code, reason, metadata, _ = _error(lambda: other.draw(task.id, AS_OF))
            assert time.monotonic() - started < 30
            assert (code, reason) == (grpc.StatusCode.DEADLINE_EXCEEDED, "DRAW_TIMEOUT")
            assert metadata["task_id"] == task.id
            assert other.get_task(task.id).draw_id == ""
            assert process.pid is None  # the stuck child was stopped, and the worker it started with it
            assert _gone(stuck)
            monkeypatch.delenv(FAULT_ENV)
            drawn = other.draw(task.id, AS_OF)
            assert drawn.task_id == task.id
            assert process.pid is not None
    finally:
        running.stop(grace=1)


def test_a_draw_process_grown_large_retires_after_its_draw_and_a_fresh_one_serves_the_next(
    demo_served: Served, client: DualdrawClient
) -> None:
    process = demo_served.running.draw_process
    assert process is not None
    children = process._children
    children.policy = dataclasses.replace(children.policy, retire_above_mb=0)  # every child retires
    first = client.draw(client.create_task(TASK).id, AS_OF)
    assert process.pid is None  # gone, and reaped
    second = client.draw(client.create_task(TASK).id, AS_OF)
    assert first.id != second.id
    assert second.selected_count == first.selected_count


@pytest.mark.draws_in_process
def test_with_the_draw_process_off_draws_run_in_the_server(
    demo_served: Served, client: DualdrawClient
) -> None:
    assert demo_served.running.draw_process is None
    drawn = client.draw(client.create_task(TASK).id, AS_OF)
    assert drawn.selected_count > 0


def test_when_no_draw_process_can_start_draws_run_in_the_server(
    demo_served: Served,
    client: DualdrawClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def cannot_start(*_args: Any) -> Any:
        raise WorkerFailure("cannot start: no processes left")

    monkeypatch.setattr(draw_process_module, "_start_child", cannot_start)
    with caplog.at_level(logging.ERROR, logger="dualdraw.adapters.draw_process"):
        drawn = client.draw(client.create_task(TASK).id, AS_OF)
    assert drawn.selected_count > 0
    assert "DRAW PROCESS COULD NOT START" in caplog.text
    assert demo_served.running.draw_process is not None
    assert demo_served.running.draw_process.pid is None


def test_stopping_the_server_stops_the_draw_process(database_url: str) -> None:
    running = create_server(_settings(database_url, "on"))
    load_demo(running.services.unit_of_work)
    process = running.draw_process
    assert process is not None
    with _client(running) as client:
        client.draw(client.create_task(TASK).id, AS_OF)
    pid = process.pid
    assert pid is not None
    running.stop(grace=5)
    assert process.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(Unavailable):
        process.run_draw(
            running.services.rule_book.current(), task_id="t", as_of=None, caller=Caller(actor="x")
        )
