"""Operations: Prometheus metrics per RPC and JSON log lines carrying the request id."""

from __future__ import annotations

import io
import json
import logging
import urllib.request
from collections.abc import Iterator

import grpc
import pytest

from dualdraw.entrypoints.grpc.server import RunningServer, create_server
from dualdraw.runtime.telemetry import REQUEST_ID_METADATA_KEY, JsonFormatter
from dualdraw.settings import Settings
from dualdraw.v1 import directory_pb2, directory_pb2_grpc
from tests.e2e.server_processes import free_port

from .conftest import RULES


@pytest.fixture
def observed(database_url: str) -> Iterator[tuple[RunningServer, int]]:
    metrics_port = free_port()
    settings = Settings(
        database_url=database_url,
        rules_path=RULES,
        address="127.0.0.1:0",
        auth="off",  # access control is tested in tests/security
        allow_local_entropy=True,  # development: one-step draws use a local secret
        metrics_address=f"127.0.0.1:{metrics_port}",
    )
    running = create_server(settings)
    try:
        yield running, metrics_port
    finally:
        running.stop(grace=1)


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample line (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{"):
            got = ",".join(sorted(line[len(name) + 1 : line.index("}")].split(",")))
            if got == wanted:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_calls_and_errors_by_method_and_code(observed: tuple[RunningServer, int]) -> None:
    running, metrics_port = observed
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    get = "/dualdraw.v1.DirectoryService/GetObject"
    listing = "/dualdraw.v1.DirectoryService/ListDepartments"
    before = urllib.request.urlopen(url, timeout=10).read().decode()
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = directory_pb2_grpc.DirectoryServiceStub(channel)
        stub.ListDepartments(directory_pb2.ListDepartmentsRequest())
        with pytest.raises(grpc.RpcError):
            stub.GetObject(directory_pb2.GetObjectRequest(name="objects/91130273MA0NEW123C"))
    after = urllib.request.urlopen(url, timeout=10).read().decode()
    ok = {"method": listing, "code": "OK"}
    missing = {"method": get, "code": "NOT_FOUND"}
    assert (
        _sample(after, "dualdraw_rpc_seconds_count", **ok)
        == _sample(before, "dualdraw_rpc_seconds_count", **ok) + 1
    )
    assert (
        _sample(after, "dualdraw_rpc_errors_total", **missing)
        == _sample(before, "dualdraw_rpc_errors_total", **missing) + 1
    )
    assert "dualdraw_rule_evaluation_seconds" in after


def test_log_lines_are_json_with_the_callers_request_id(observed: tuple[RunningServer, int]) -> None:
    running, _ = observed
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("dualdraw")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = directory_pb2_grpc.DirectoryServiceStub(channel)
            _, call = stub.ListDepartments.with_call(
                directory_pb2.ListDepartmentsRequest(), metadata=((REQUEST_ID_METADATA_KEY, "req-7f3a"),)
            )
        echoed = dict(call.trailing_metadata() or ())
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    entries = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    calls = [e for e in entries if e.get("method") == "/dualdraw.v1.DirectoryService/ListDepartments"]
    assert calls, entries
    assert calls[-1]["request_id"] == "req-7f3a"
    assert calls[-1]["code"] == "OK"
    assert echoed[REQUEST_ID_METADATA_KEY] == "req-7f3a"
