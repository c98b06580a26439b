"""A flood of refused calls writes a bounded number of audit entries, is counted exactly, and cannot starve
draws (``dualdraw.entrypoints.grpc.security.denials``; real server, tokens on, both databases)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator

import grpc
import pytest
from google.rpc import error_details_pb2  # type: ignore[import-untyped]  # no py.typed
from grpc_status import rpc_status
from prometheus_client import REGISTRY

from dualdraw.adapters.store.unit_of_work import Store
from dualdraw.entrypoints.grpc.security.tokens import Principal, Role, mint_token
from dualdraw.entrypoints.grpc.server import RunningServer, create_server
from dualdraw.service_layer.demo_directory import LUNAN, PROVINCE
from dualdraw.service_layer.ports import PageRequest
from dualdraw.settings import Settings
from dualdraw.v1 import draws_pb2, items_pb2, items_pb2_grpc, tasks_pb2, tasks_pb2_grpc
from dualdraw_client import DualdrawClient
from dualdraw_client.decimals import decimal_pb
from tests.security.conftest import KEYS, Secured, bearer, denial_count, secured_settings

GET_TASK = "/dualdraw.v1.TaskService/GetTask"
BAD_TOKEN = bearer("not-a-token")
REFUSED = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.RESOURCE_EXHAUSTED)
DEFAULTS = Settings(database_url="sqlite://", token_keys=KEYS)
# What one window may write, whatever the flood (security/denials.py): a first entry and a summary per key.
WINDOW_BOUND = 2 * (DEFAULTS.denial_max_keys + 1)


def secured_token(role: Role, subject: str = "tester") -> str:
    return mint_token(KEYS, Principal(subject, role, LUNAN))


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _refusals_metered(method: str) -> float:
    return sum(_metric("dualdraw_rpc_seconds_count", method=method, code=code.name) for code in REFUSED)


def _flood(target: str, seconds: float, threads: int = 4) -> Counter[grpc.StatusCode]:
    """Calls GetTask with a bad token from ``threads`` channels for ``seconds``; the status codes seen."""
    codes: Counter[grpc.StatusCode] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def caller() -> None:
        seen: Counter[grpc.StatusCode] = Counter()
        with grpc.insecure_channel(target) as channel:
            stub = tasks_pb2_grpc.TaskServiceStub(channel)
            while time.monotonic() < deadline:
                try:
                    stub.GetTask(tasks_pb2.GetTaskRequest(name="tasks/t"), metadata=BAD_TOKEN, timeout=30)
                    seen[grpc.StatusCode.OK] += 1
                except grpc.RpcError as error:
                    seen[error.code()] += 1
        with lock:
            codes.update(seen)

    workers = [threading.Thread(target=caller) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return codes


def test_a_bad_token_flood_is_aggregated_counted_and_does_not_starve_draws(secured: Secured) -> None:
    counted_before = secured.denials()  # flushes: the flood starts a fresh window
    entries_before = len(secured.denial_entries())
    metered_before = _refusals_metered(GET_TASK)
    denials_before = sum(
        _metric("dualdraw_denials_total", reason="unauthenticated", throttled=t) for t in ("yes", "no")
    )
    codes: Counter[grpc.StatusCode] = Counter()
    flood = threading.Thread(target=lambda: codes.update(_flood(secured.target, 3.0)))
    flood.start()
    try:
        time.sleep(0.5)
        operator = secured.token(Role.DRAW_OPERATOR, department=LUNAN, subject="operator")
        with DualdrawClient(secured.target, token=operator, timeout=60) as client:
            task = client.create_task(
                tasks_pb2.Task(
                    item_code="TS-PQ-01", department_id=LUNAN, ratio=decimal_pb("0.1"), team_size=2
                )
            )
            drawn = client.draw(task.id, "2026-12-01")
        assert drawn.task_id == task.id
        # With authentication on, the draw commits to a beacon round after the commit and awaits its value.
        assert drawn.state == draws_pb2.DRAW_STATE_COMMITTED
        assert drawn.eligible_count > 0
        # A real denial shows up in the log at once, flood or not.
        editor = secured.token(Role.POLICY_EDITOR, department=LUNAN, subject="editor-during-flood")
        with secured.channel() as channel, pytest.raises(grpc.RpcError) as caught:
            tasks_pb2_grpc.TaskServiceStub(channel).GetTask(
                tasks_pb2.GetTaskRequest(name=f"tasks/{secured.inside.task_id}"),
                metadata=bearer(editor),
                timeout=30,
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        (written,) = [e for e in secured.denial_entries() if e.actor == "editor-during-flood"]
        assert json.loads(written.after_json)["why"] == "role"
        assert written.resource == f"rpc:{GET_TASK}"
    finally:
        flood.join()
    sent = sum(codes.values())
    assert set(codes) <= set(REFUSED), codes
    assert sent > 200, codes

    # During the window: one entry for the flood's key, one for the editor's denial.
    assert len(secured.denial_entries()) - entries_before == 2
    # Closing the window adds one summary; every refused call is accounted for, exactly.
    assert secured.denials() - counted_before == sent + 1
    entries = secured.denial_entries()[entries_before:]
    assert len(entries) == 3 <= WINDOW_BOUND
    flood_entries = [e for e in entries if e.actor == "anonymous"]
    assert [json.loads(e.after_json)["peer"] for e in flood_entries] == ["ipv4:127.0.0.1"] * 2
    assert sum(denial_count(e) for e in flood_entries) == sent
    # The metrics count every call, refused ones included.
    assert _refusals_metered(GET_TASK) - metered_before == sent
    denials_after = sum(
        _metric("dualdraw_denials_total", reason="unauthenticated", throttled=t) for t in ("yes", "no")
    )
    assert denials_after - denials_before == sent
    # The log still verifies.
    auditor = secured.token(Role.AUDITOR, department=PROVINCE, subject="auditor")
    with DualdrawClient(secured.target, token=auditor, timeout=60) as client:
        verified = client.verify_log()
    assert verified.ok, verified.problem


@pytest.fixture
def strict(database_url: str) -> Iterator[RunningServer]:
    """A server with a small refusal budget (3, then one per 10 s) and at most 2 keys per window."""
    running = create_server(
        secured_settings(database_url, denial_rate_per_s=0.1, denial_burst=3, denial_max_keys=2)
    )
    try:
        yield running
    finally:
        running.stop(grace=1)


def _entries(running: RunningServer) -> list[tuple[str, dict[str, object]]]:
    with running.services.reader() as uow:
        events = uow.audit.list(PageRequest(size=10_000)).items
    return [(e.actor, json.loads(e.after_json)) for e in events if e.action == "access.denied"]


def test_a_caller_over_its_refusal_rate_is_told_when_to_retry_and_good_calls_still_pass(
    strict: RunningServer,
) -> None:
    target = f"127.0.0.1:{strict.port}"
    with grpc.insecure_channel(target) as channel:
        stub = tasks_pb2_grpc.TaskServiceStub(channel)
        codes = []
        for _ in range(5):
            with pytest.raises(grpc.RpcError) as caught:
                stub.GetTask(tasks_pb2.GetTaskRequest(name="tasks/t"), metadata=BAD_TOKEN, timeout=30)
            codes.append(caught.value.code())
        assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 3 + [grpc.StatusCode.RESOURCE_EXHAUSTED] * 2
        status = rpc_status.from_call(caught.value)
        assert status is not None
        retry = error_details_pb2.RetryInfo()
        assert any(d.Unpack(retry) for d in status.details)
        assert 0 < retry.retry_delay.ToTimedelta().total_seconds() <= 10
        assert len(_entries(strict)) == 1  # throttled refusals only count
        # A caller with a good token at the same address is not throttled.
        token = secured_token(Role.AUDITOR)
        items_pb2_grpc.InspectionItemServiceStub(channel).ListInspectionItems(
            items_pb2.ListInspectionItemsRequest(), metadata=bearer(token), timeout=30
        )
    assert strict.denials is not None
    strict.denials.flush()
    entries = _entries(strict)
    assert [after["count"] for _, after in entries] == [1, 4]


def test_callers_past_the_key_bound_share_one_overflow_entry(strict: RunningServer) -> None:
    target = f"127.0.0.1:{strict.port}"
    with grpc.insecure_channel(target) as channel:
        stub = tasks_pb2_grpc.TaskServiceStub(channel)
        for n in range(10):  # ten subjects, each denied by role: ten keys, but two are kept
            token = secured_token(Role.POLICY_EDITOR, subject=f"editor-{n}")
            with pytest.raises(grpc.RpcError) as caught:
                stub.GetTask(tasks_pb2.GetTaskRequest(name="tasks/t"), metadata=bearer(token), timeout=30)
            assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert [actor for actor, _ in _entries(strict)] == ["editor-0", "editor-1", "*"]
    assert strict.denials is not None
    strict.denials.flush()
    entries = _entries(strict)
    assert len(entries) == 4 <= 2 * (2 + 1)
    assert entries[-1][0] == "*"
    assert entries[-1][1]["count"] == 7
    assert sum(int(str(after["count"])) for _, after in entries) == 10


def test_the_window_closes_by_itself_and_at_server_stop(database_url: str) -> None:
    running = create_server(secured_settings(database_url, denial_window_s=0.5))
    target = f"127.0.0.1:{running.port}"
    try:
        codes = _flood(target, 1.2, threads=2)
        time.sleep(1.5)  # past the last window's end: its summary is written without a flush
        written = _entries(running)
        assert sum(int(str(after["count"])) for _, after in written) == sum(codes.values())
        assert any("window_end" in after for _, after in written)
        with grpc.insecure_channel(target) as channel:
            for _ in range(3):
                with pytest.raises(grpc.RpcError):
                    tasks_pb2_grpc.TaskServiceStub(channel).GetTask(
                        tasks_pb2.GetTaskRequest(name="tasks/t"), metadata=BAD_TOKEN, timeout=30
                    )
    finally:
        running.stop(grace=1)
    store = Store.from_url(database_url)
    try:
        with store.read_unit_of_work() as uow:
            events = [
                e for e in uow.audit.list(PageRequest(size=10_000)).items if e.action == "access.denied"
            ]
    finally:
        store.dispose()
    assert sum(denial_count(e) for e in events) == sum(codes.values()) + 3
