"""DualdrawClient against fake servicers on a real gRPC server: errors, paging, metadata, import streaming."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator

import grpc
import pytest

from dualdraw.v1 import directory_pb2, items_pb2, tasks_pb2
from dualdraw_client import (
    AlreadyExistsError,
    DeadlineExceededError,
    DualdrawClient,
    DualdrawError,
    FailedPreconditionError,
    FieldViolation,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnavailableError,
    from_rpc_error,
)
from dualdraw_client.dates import date_text
from dualdraw_client.decimals import decimal_pb
from dualdraw_client.records import RecordError, chunk_records
from tests.unit.test_client_fakes import Fake, make_objects, rich_status, serve, unused_target


@pytest.fixture
def fake() -> Fake:
    return Fake()


@pytest.fixture
def client(fake: Fake) -> Iterator[DualdrawClient]:
    with serve(fake) as target, DualdrawClient(target, actor="alice", timeout=10) as client:
        yield client


# -- errors --------------------------------------------------------------------------------------------


def test_invalid_argument_unpacks_error_info_and_field_violations(fake: Fake, client: DualdrawClient) -> None:
    fake.fail["CreateTask"] = rich_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        "the task is invalid",
        "INVALID_TASK",
        [("task.ratio", "must be in (0, 1]"), ("task.team_size", "must be at least 2")],
        {"task": "t-1"},
    )
    with pytest.raises(InvalidArgumentError) as caught:
        client.create_task(tasks_pb2.Task(ratio=decimal_pb("2")))
    error = caught.value
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    assert error.message == "the task is invalid"
    assert error.reason == "INVALID_TASK"
    assert error.domain == "dualdraw.v1"
    assert error.metadata == {"task": "t-1"}
    assert error.field_violations == [
        FieldViolation("task.ratio", "must be in (0, 1]"),
        FieldViolation("task.team_size", "must be at least 2"),
    ]
    assert len(error.details) == 2
    assert str(error).splitlines() == [
        "the task is invalid [INVALID_TASK]",
        "  task.ratio: must be in (0, 1]",
        "  task.team_size: must be at least 2",
    ]


@pytest.mark.parametrize(
    ("code", "cls", "reason"),
    [
        (grpc.StatusCode.NOT_FOUND, NotFoundError, "TASK_NOT_FOUND"),
        (grpc.StatusCode.ALREADY_EXISTS, AlreadyExistsError, "DRAW_EXISTS"),
        (grpc.StatusCode.FAILED_PRECONDITION, FailedPreconditionError, "TOO_FEW_INSPECTORS"),
        (grpc.StatusCode.PERMISSION_DENIED, PermissionDeniedError, "NOT_ALLOWED"),
        (grpc.StatusCode.UNAUTHENTICATED, UnauthenticatedError, "NO_ACTOR"),
        (grpc.StatusCode.UNAVAILABLE, UnavailableError, "RULES_ENGINE_DOWN"),
        (grpc.StatusCode.INTERNAL, InternalError, "BUG"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, DualdrawError, "TOO_MANY"),
    ],
)
def test_each_code_maps_to_its_class(
    fake: Fake, client: DualdrawClient, code: grpc.StatusCode, cls: type[DualdrawError], reason: str
) -> None:
    fake.fail["Draw"] = rich_status(code, "no", reason)
    with pytest.raises(DualdrawError) as caught:
        client.draw("t-1")
    assert type(caught.value) is cls
    assert caught.value.code is code
    assert caught.value.reason == reason
    assert caught.value.field_violations == []


def test_error_from_hand_made_rpc_error_without_details() -> None:
    error = from_rpc_error(_PlainRpcError(grpc.StatusCode.NOT_FOUND, "task 't-9' not found"))
    assert isinstance(error, NotFoundError)
    assert (error.message, error.reason, error.metadata, error.field_violations) == (
        "task 't-9' not found",
        "",
        {},
        [],
    )
    assert str(error) == "task 't-9' not found"


class _PlainRpcError(grpc.RpcError):
    """An RpcError as grpc raises it when the server aborted without rich details."""

    def __init__(
        self, code: grpc.StatusCode, details: str, trailers: tuple[tuple[str, object], ...] = ()
    ) -> None:
        super().__init__()
        self._code, self._details, self._trailers = code, details, trailers

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple[tuple[str, object], ...]:
        return self._trailers


def test_from_rpc_error_tolerates_garbage_and_bare_errors() -> None:
    garbage = _PlainRpcError(
        grpc.StatusCode.INTERNAL, "boom", (("grpc-status-details-bin", b"\xff\xff\xff"),)
    )
    error = from_rpc_error(garbage)
    assert isinstance(error, InternalError)
    assert error.message == "boom"
    bare = from_rpc_error(grpc.RpcError())
    assert type(bare) is DualdrawError
    assert bare.code is grpc.StatusCode.UNKNOWN


def test_server_abort_without_details_through_grpc(fake: Fake, client: DualdrawClient) -> None:
    fake.fail["GetDraw"] = (grpc.StatusCode.FAILED_PRECONDITION, "not yet")
    with pytest.raises(FailedPreconditionError) as caught:
        client.get_draw("d-1")
    assert caught.value.message == "not yet"
    assert caught.value.reason == ""
    assert caught.value.details == []


def test_unavailable_server() -> None:
    with DualdrawClient(unused_target(), timeout=5) as client, pytest.raises(UnavailableError):
        client.get_task("t-1")


def test_deadline(fake: Fake, client: DualdrawClient) -> None:
    fake.delay["GetTask"] = 1.0
    client.timeout = 0.1
    with pytest.raises(DeadlineExceededError):
        client.get_task("t-1")


def test_actor_must_be_ascii() -> None:
    with pytest.raises(ValueError, match="ASCII"):
        DualdrawClient(unused_target(), actor="张三")


# -- metadata and request ids --------------------------------------------------------------------------


def test_actor_metadata_and_fresh_request_ids(fake: Fake, client: DualdrawClient) -> None:
    client.create_item(items_pb2.InspectionItem(code="SE-009"))
    client.create_task(tasks_pb2.Task(item_code="SE-009"))
    client.draw("t-1", as_of=datetime.date(2025, 3, 1))
    ids = []
    for method in ("CreateInspectionItem", "CreateTask", "Draw"):
        (call,) = fake.calls_to(method)
        assert call.metadata["x-dualdraw-actor"] == "alice"
        ids.append(call.request.request_id)
        assert uuid.UUID(ids[-1]).version == 4
    assert len(set(ids)) == 3
    assert date_text(fake.calls_to("Draw")[0].request.as_of) == "2025-03-01"


def test_given_request_id_and_as_of_are_sent(fake: Fake, client: DualdrawClient) -> None:
    draw = client.draw("t-7", as_of="2025-02-28", request_id="req-1")
    request = fake.calls_to("Draw")[0].request
    assert (request.task_id, date_text(request.as_of), request.request_id) == ("t-7", "2025-02-28", "req-1")
    assert draw.task_id == "t-7"


def test_no_actor_no_header(fake: Fake) -> None:
    with serve(fake) as target, DualdrawClient(target) as client:
        client.get_task("t-1")
    assert "x-dualdraw-actor" not in fake.calls[0].metadata


def test_external_channel_is_not_closed(fake: Fake) -> None:
    with serve(fake) as target, grpc.insecure_channel(target) as channel:
        with DualdrawClient(channel=channel) as client:
            client.get_task("t-1")
        assert DualdrawClient(channel=channel).get_task("t-2").id == "t-2"


# -- paging --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "args", "rpc", "expected"),
    [
        ("iter_departments", (), "ListDepartments", 3),
        ("iter_objects", (), "ListObjects", 5),
        ("iter_inspectors", (), "ListInspectors", 4),
        ("iter_complaints", (), "ListComplaints", 3),
        ("iter_campaigns", (), "ListCampaigns", 3),
        ("iter_risk_assessments", (), "ListRiskAssessments", 3),
        ("iter_statutory_designations", (), "ListStatutoryDesignations", 3),
        ("iter_items", (), "ListInspectionItems", 3),
        ("iter_tasks", (), "ListTasks", 3),
        ("iter_draws", (), "ListDraws", 1),
        ("iter_assignments", ("d-1",), "ListAssignments", 3),
        ("iter_exclusions", ("d-1",), "ListExclusions", 1),
        ("iter_audit_events", (), "ListAuditEvents", 3),
    ],
)
def test_iterators_follow_page_tokens(
    fake: Fake, client: DualdrawClient, method: str, args: tuple[str, ...], rpc: str, expected: int
) -> None:
    results = list(getattr(client, method)(*args))
    assert len(results) == expected
    tokens = [c.request.page_token for c in fake.calls_to(rpc)]
    assert tokens == ["", *[str(n) for n in range(2, expected, 2)]]


def test_iterator_passes_filters_and_page_size(fake: Fake, client: DualdrawClient) -> None:
    codes = [o.credit_code for o in client.iter_objects(department_id="130203-GXQ", page_size=3)]
    assert codes == [o.credit_code for o in make_objects()]
    requests = [c.request for c in fake.calls_to("ListObjects")]
    assert [(r.department_id, r.page_size, r.page_token) for r in requests] == [
        ("130203-GXQ", 3, ""),
        ("130203-GXQ", 3, "3"),
    ]


def test_list_returns_one_page(client: DualdrawClient) -> None:
    page = client.list_objects(page_size=2)
    assert len(page.objects) == 2
    assert page.next_page_token == "2"


def test_iterator_stops_on_repeated_token(fake: Fake, client: DualdrawClient) -> None:
    fake.repeat_token = True
    with pytest.raises(DualdrawError, match="page token"):
        list(client.iter_objects())


def test_iterator_raises_typed_error_mid_way(fake: Fake, client: DualdrawClient) -> None:
    fake.fail["ListAuditEvents"] = rich_status(
        grpc.StatusCode.PERMISSION_DENIED, "auditors only", "NOT_AUDITOR"
    )
    with pytest.raises(PermissionDeniedError):
        next(client.iter_audit_events())


def test_getters(fake: Fake, client: DualdrawClient) -> None:
    assert client.get_department("1302").display_name == "唐山市市场监督管理局"
    assert client.get_object("91130200MA00000001").credit_code == "91130200MA00000001"
    assert client.get_object("objects/91130200MA00000001").credit_code == "91130200MA00000001"
    assert [c.request.name for c in fake.calls_to("GetObject")] == ["objects/91130200MA00000001"] * 2
    assert client.get_inspector("B001").display_name == "张三"
    assert client.get_complaint("c-1").id == "c-1"
    assert client.get_campaign("cp-2").id == "cp-2"
    assert client.get_risk_assessment("ra-0").id == "ra-0"
    assert client.get_statutory_designation("sd-1").id == "sd-1"
    assert client.get_item("SE-002").code == "SE-002"
    assert client.get_task("t-3").id == "t-3"
    assert client.get_draw("d-1").seed
    with pytest.raises(NotFoundError):
        client.get_draw("d-404")


# -- import streaming ----------------------------------------------------------------------------------


def test_import_chunks_and_request_id(fake: Fake, client: DualdrawClient) -> None:
    records = [*make_objects(5), directory_pb2.Department(id="9"), directory_pb2.Inspector(badge_number="B9")]
    result = client.import_records(records, max_chunk_records=2, request_id="imp-1")
    assert (result.objects, result.departments, result.inspectors) == (5, 1, 1)
    assert len(fake.import_chunks) == 4
    assert [c.request_id for c in fake.import_chunks] == ["imp-1", "", "", ""]
    assert fake.calls_to("ImportDirectory")[0].metadata["x-dualdraw-actor"] == "alice"
    assert fake.import_committed


def test_import_fills_request_id_and_sends_one_chunk_when_empty(fake: Fake, client: DualdrawClient) -> None:
    result = client.import_directory([])
    assert result.objects == 0
    (chunk,) = fake.import_chunks
    assert uuid.UUID(chunk.request_id).version == 4


def test_import_keeps_callers_first_chunk_untouched(fake: Fake, client: DualdrawClient) -> None:
    first = directory_pb2.ImportDirectoryRequest(objects=make_objects(1))
    client.import_directory([first])
    assert first.request_id == ""
    assert fake.import_chunks[0].request_id


def test_import_iterator_failure_cancels_without_commit(fake: Fake, client: DualdrawClient) -> None:
    def chunks() -> Iterator[directory_pb2.ImportDirectoryRequest]:
        yield directory_pb2.ImportDirectoryRequest(objects=make_objects(2))
        raise RecordError("objects.csv", 7, "credit_code", "bad")

    with pytest.raises(RecordError, match=r"objects\.csv:7: credit_code: bad"):
        client.import_directory(chunks())
    fake.import_aborted.wait(2)  # the cancel may even arrive before the handler starts: then nothing ran
    assert not fake.import_committed
    assert not any(chunk.last_chunk for chunk in fake.import_chunks)


def test_import_server_error(fake: Fake, client: DualdrawClient) -> None:
    fake.fail["ImportDirectory.commit"] = rich_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        "2 invalid records",
        "INVALID_CREDIT_CODE",
        [("objects[1].credit_code", "check character mismatch")],
    )
    with pytest.raises(InvalidArgumentError) as caught:
        client.import_records(make_objects(3))
    assert caught.value.field_violations[0].field == "objects[1].credit_code"


def test_chunking_respects_byte_limit() -> None:
    objects = make_objects(5)
    size = objects[0].ByteSize()
    chunks = list(chunk_records(objects, max_bytes=2 * (size + 3)))
    assert [len(c.objects) for c in chunks] == [2, 2, 1]
    assert all(c.ByteSize() <= 2 * (size + 3) for c in chunks)
    assert list(chunk_records([])) == []
    with pytest.raises(TypeError):
        list(chunk_records([tasks_pb2.Task()]))


# -- retries -------------------------------------------------------------------------------------------


def test_unavailable_is_retried_by_grpc_with_the_same_request(fake: Fake, client: DualdrawClient) -> None:
    fake.fail["CreateTask"] = (grpc.StatusCode.UNAVAILABLE, "starting up")
    fake.first_only["CreateTask"] = 2
    assert client.create_task(tasks_pb2.Task(item_code="SE-001")).id == "t-new"
    calls = fake.calls_to("CreateTask")
    assert len(calls) == 3
    assert len({c.request.request_id for c in calls}) == 1


def test_unavailable_retries_are_bounded(fake: Fake, client: DualdrawClient) -> None:
    fake.fail["GetTask"] = (grpc.StatusCode.UNAVAILABLE, "down for good")
    with pytest.raises(UnavailableError):
        client.get_task("t-1")
    assert len(fake.calls_to("GetTask")) == 4  # SERVICE_CONFIG maxAttempts


def test_a_write_whose_deadline_passed_is_sent_again_with_the_same_request_id(
    fake: Fake, client: DualdrawClient
) -> None:
    fake.delay["Draw"] = 0.6
    fake.first_only["Draw"] = 1
    client.timeout = 0.2
    assert client.draw("t-1", request_id="req-slow").task_id == "t-1"
    assert [c.request.request_id for c in fake.calls_to("Draw")] == ["req-slow", "req-slow"]


def test_unknown_outcomes_are_retried_a_bounded_number_of_times_and_name_the_request_id(
    fake: Fake, client: DualdrawClient
) -> None:
    fake.delay["Draw"] = 0.5
    client.timeout = 0.1
    with pytest.raises(DeadlineExceededError) as caught:
        client.draw("t-1")
    calls = fake.calls_to("Draw")
    assert len(calls) == 3  # the default attempts
    request_id = calls[0].request.request_id
    assert {c.request.request_id for c in calls} == {request_id}
    assert caught.value.metadata["request_id"] == request_id
    assert f"retry with request_id {request_id}" in str(caught.value)


def test_a_deadline_of_the_overall_budget_is_not_retried(fake: Fake) -> None:
    fake.delay["Draw"] = 1.0
    with (
        serve(fake) as target,
        DualdrawClient(target, timeout=10, budget=0.3) as client,
        pytest.raises(DeadlineExceededError),
    ):
        client.draw("t-1")
    assert len(fake.calls_to("Draw")) == 1


def test_reads_and_specific_server_answers_are_not_retried(fake: Fake, client: DualdrawClient) -> None:
    fake.delay["GetTask"] = 0.5
    client.timeout = 0.1
    with pytest.raises(DeadlineExceededError):
        client.get_task("t-1")
    assert len(fake.calls_to("GetTask")) == 1
    fake.fail["Draw"] = rich_status(grpc.StatusCode.DEADLINE_EXCEEDED, "stopped", "DRAW_TIMEOUT")
    client.timeout = 10
    with pytest.raises(DeadlineExceededError) as caught:
        client.draw("t-1")
    assert caught.value.reason == "DRAW_TIMEOUT"
    assert len(fake.calls_to("Draw")) == 1


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempts"):
        DualdrawClient(unused_target(), attempts=0)
