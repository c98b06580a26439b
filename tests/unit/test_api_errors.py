"""The one error mapping: domain errors become statuses with ErrorInfo/BadRequest; anything else INTERNAL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest

from dualdraw.domain.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unavailable,
    Violations,
)
from dualdraw.entrypoints.grpc.errors import ErrorMappingInterceptor
from dualdraw.entrypoints.grpc.servicers import AuditServicer, Services
from dualdraw.v1 import audit_pb2_grpc
from dualdraw_client import DualdrawClient, DualdrawError


class Boom:
    """A unit of work that raises ``error`` as soon as it is entered."""

    def __init__(self, error: Exception):
        self.error = error

    def __enter__(self) -> Any:
        raise self.error

    def __exit__(self, *args: object) -> None:
        return None


@pytest.fixture
def serve_failing() -> Iterator[Callable[[Exception], DualdrawClient]]:
    servers: list[grpc.Server] = []
    clients: list[DualdrawClient] = []

    def start(error: Exception) -> DualdrawClient:
        services = Services(unit_of_work=lambda: Boom(error), engine=None, rule_book=None)  # type: ignore[arg-type]
        server = grpc.server(futures.ThreadPoolExecutor(2), interceptors=[ErrorMappingInterceptor()])
        audit_pb2_grpc.add_AuditServiceServicer_to_server(AuditServicer(services), server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        servers.append(server)
        clients.append(DualdrawClient(f"127.0.0.1:{port}", timeout=10))
        return clients[-1]

    yield start
    for c in clients:
        c.close()
    for s in servers:
        s.stop(0)


@pytest.mark.parametrize(
    ("error", "code", "reason"),
    [
        (
            InvalidArgument([FieldViolation("task.ratio", "must be in (0, 1]", reason="RATIO_OUT_OF_RANGE")]),
            grpc.StatusCode.INVALID_ARGUMENT,
            "RATIO_OUT_OF_RANGE",  # the one violation's reason
        ),
        (NotFound("task", "t-1"), grpc.StatusCode.NOT_FOUND, "NOT_FOUND"),
        (AlreadyExists("exists", reason="DRAW_EXISTS"), grpc.StatusCode.ALREADY_EXISTS, "DRAW_EXISTS"),
        (
            FailedPrecondition("too few", reason="TOO_FEW_INSPECTORS"),
            grpc.StatusCode.FAILED_PRECONDITION,
            "TOO_FEW_INSPECTORS",
        ),
        (
            Unavailable("engine down", reason="RULES_ENGINE_UNAVAILABLE"),
            grpc.StatusCode.UNAVAILABLE,
            "RULES_ENGINE_UNAVAILABLE",
        ),
    ],
)
def test_domain_errors_map_to_their_status_with_a_reason(
    serve_failing: Callable[[Exception], DualdrawClient],
    error: DomainError,
    code: grpc.StatusCode,
    reason: str,
) -> None:
    client = serve_failing(error)
    with pytest.raises(DualdrawError) as raised:
        client.list_audit_events()
    assert raised.value.code == code
    assert raised.value.reason == reason
    assert raised.value.domain == "dualdraw.v1"
    if isinstance(error, InvalidArgument):
        assert [(v.field, v.description, v.reason) for v in raised.value.field_violations] == [
            ("task.ratio", "must be in (0, 1]", "RATIO_OUT_OF_RANGE")
        ]


def test_unexpected_errors_are_internal_and_leak_nothing(
    serve_failing: Callable[[Exception], DualdrawClient],
) -> None:
    client = serve_failing(RuntimeError("password=hunter2 in a stack trace"))
    with pytest.raises(DualdrawError) as raised:
        client.list_audit_events()
    assert raised.value.code == grpc.StatusCode.INTERNAL
    assert raised.value.reason == "INTERNAL"
    assert "hunter2" not in str(raised.value)


def test_a_bad_page_token_is_an_invalid_argument_on_that_field(
    serve_failing: Callable[[Exception], DualdrawClient],
) -> None:
    client = serve_failing(RuntimeError("not reached"))
    with pytest.raises(DualdrawError) as raised:
        client.list_audit_events(page_token="%%%")
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in raised.value.field_violations] == ["page_token"]


def test_a_deadline_passed_inside_the_server_is_deadline_exceeded(
    serve_failing: Callable[[Exception], DualdrawClient],
) -> None:
    from dualdraw.domain.errors import DeadlineExceeded

    client = serve_failing(DeadlineExceeded("the caller's deadline passed"))
    with pytest.raises(DualdrawError) as raised:
        client.list_audit_events()
    assert raised.value.code == grpc.StatusCode.DEADLINE_EXCEEDED


def test_every_field_violation_carries_its_reason_on_the_wire(
    serve_failing: Callable[[Exception], DualdrawClient],
) -> None:
    """Violations of two kinds: the error is INVALID_ARGUMENT and each violation says its own reason."""
    v = Violations()
    v.add("objects[0].name", "is required", reason="FIELD_REQUIRED")
    v.add("objects[1].credit_code", "write it as 91130200MA0A000001", reason="CREDIT_CODE_NOT_CANONICAL")
    with pytest.raises(InvalidArgument) as built:
        v.raise_if_any()
    client = serve_failing(built.value)
    with pytest.raises(DualdrawError) as raised:
        client.list_audit_events()
    assert raised.value.reason == "INVALID_ARGUMENT"
    assert [(v.field, v.reason) for v in raised.value.field_violations] == [
        ("objects[0].name", "FIELD_REQUIRED"),
        ("objects[1].credit_code", "CREDIT_CODE_NOT_CANONICAL"),
    ]


def test_violations_of_one_kind_make_that_kind_the_error_reason(
    serve_failing: Callable[[Exception], DualdrawClient],
) -> None:
    v = Violations()
    for n in (0, 3):
        v.add(f"objects[{n}].credit_code", "wrong check character", reason="CREDIT_CODE_CHECK_CHARACTER")
    with pytest.raises(InvalidArgument) as built:
        v.raise_if_any()
    client = serve_failing(built.value)
    with pytest.raises(DualdrawError) as raised:
        client.list_audit_events()
    assert raised.value.reason == "CREDIT_CODE_CHECK_CHARACTER"
    assert {v.reason for v in raised.value.field_violations} == {"CREDIT_CODE_CHECK_CHARACTER"}
