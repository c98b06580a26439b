"""HTTP/JSON beside gRPC: the demo draw path with ``curl`` and with ``urllib``, and the same refusals,
idempotency, deadlines and error details as the gRPC port, on both databases.

The server runs with ``http_address`` set, as ``dualdraw serve --http-address`` does; every call here is
plain HTTP (Connect protocol, protobuf's JSON mapping), never dualdraw's client, except where a test
compares the two ports.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2  # type: ignore[import-untyped]  # no py.typed
from grpc_status import rpc_status

from dualdraw.entrypoints.grpc.security.tokens import Principal, Role, mint_token
from dualdraw.entrypoints.grpc.server import SERVICE_NAMES, RunningServer, create_server
from dualdraw.entrypoints.http.openapi import document_json
from dualdraw.runtime.crashpoints import PAUSE_ENV
from dualdraw.service_layer.demo_directory import HIGH_TECH_ZONE, LUNAN
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.v1 import tasks_pb2, tasks_pb2_grpc
from dualdraw_client import DualdrawClient
from dualdraw_client.decimals import decimal_pb
from dualdraw_client.errors import DualdrawError
from tests.e2e.conftest import RULES
from tests.e2e.http_calls import Reply, curl, frame, frames, post, post_stream
from tests.e2e.test_deadlines_e2e import _draw_calls, _reached
from tests.security.conftest import KEYS, secured_settings

TASK = {"itemCode": "TS-SE-01", "departmentId": HIGH_TECH_ZONE, "ratio": {"value": "0.1"}, "teamSize": 2}
AS_OF = {"year": 2026, "month": 12, "day": 1}  # google.type.Date in proto JSON
BROWSER_ORIGIN = "http://127.0.0.1:9"  # an origin allowed to call (no page is served from it here)


@dataclass
class Http:
    running: RunningServer
    base: str  # http://127.0.0.1:PORT
    target: str  # the gRPC port, to compare


def _start(settings: object) -> Iterator[Http]:
    running = create_server(settings)  # type: ignore[arg-type]  # a Settings
    assert running.http is not None
    try:
        load_demo(running.services.unit_of_work)
        yield Http(running, f"http://127.0.0.1:{running.http.port}", f"127.0.0.1:{running.port}")
    finally:
        running.stop(grace=1)


def _development(database_url: str) -> object:
    from dualdraw.settings import Settings

    return Settings(
        database_url=database_url,
        rules_path=RULES,
        address="127.0.0.1:0",
        rule_timeout_s=60,
        auth="off",
        allow_local_entropy=True,
        draw_process="off",
        http_address="127.0.0.1:0",
        http_cors_origins=BROWSER_ORIGIN,
    )


@pytest.fixture
def http(database_url: str) -> Iterator[Http]:
    """Development mode (auth off, local entropy), HTTP on a free port, the demo loaded."""
    yield from _start(_development(database_url))


@pytest.fixture
def paused_http(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Http, Path]]:
    """Like ``http``, but draws wait right before their commit until the returned path exists."""
    release = tmp_path / "release"
    monkeypatch.setenv(PAUSE_ENV, f"draw.before_commit={release}")
    try:
        for served in _start(_development(database_url)):
            yield served, release
    finally:
        release.touch()


@pytest.fixture
def secured_http(database_url: str) -> Iterator[Http]:
    """Authentication on (HMAC tokens), HTTP on a free port, the demo loaded."""
    yield from _start(secured_settings(database_url, http_address="127.0.0.1:0", draw_process="off"))


def test_the_demo_draw_runs_with_curl(http: Http) -> None:
    status, task = curl(http.base, "dualdraw.v1.TaskService/CreateTask", {"task": TASK, "requestId": "c-1"})
    assert status == 200, task
    assert task["itemCode"] == "TS-SE-01"
    assert task["teamSize"] == 2
    drawn = []
    for n in range(2):
        body = {"taskId": task["id"] if n == 0 else _task(http)["id"], "asOf": AS_OF, "requestId": f"d-{n}"}
        status, drew = curl(http.base, "dualdraw.v1.DrawService/Draw", body, "x-dualdraw-actor: curl-user")
        assert status == 200, drew
        draw = drew["draw"]  # DrawResponse
        assert isinstance(draw["inScopeCount"], str)
        assert int(draw["inScopeCount"]) > 0
        drawn.append(draw["id"])
    status, got = curl(http.base, "dualdraw.v1.DrawService/GetDraw", {"name": f"draws/{drawn[0]}"})
    assert status == 200
    assert got["id"] == drawn[0]
    assert got["taskId"] == task["id"]
    status, first = curl(http.base, "dualdraw.v1.DrawService/ListDraws", {"pageSize": 1})
    assert status == 200
    assert len(first["draws"]) == 1
    assert first["nextPageToken"]
    status, second = curl(
        http.base, "dualdraw.v1.DrawService/ListDraws", {"pageSize": 1, "pageToken": first["nextPageToken"]}
    )
    assert status == 200
    assert len(second["draws"]) == 1
    assert {first["draws"][0]["id"], second["draws"][0]["id"]} == set(drawn)
    status, assignments = curl(http.base, "dualdraw.v1.DrawService/ListAssignments", {"drawId": drawn[0]})
    assert status == 200
    assert assignments["assignments"][0]["team"]


def _task(http: Http) -> dict[str, str]:
    reply = post(http.base, "dualdraw.v1.TaskService/CreateTask", {"task": TASK})
    assert reply.status == 200, reply.body
    return dict(reply.body)


def test_a_plain_http_client_imports_draws_and_replays_a_draw_by_its_request_id(http: Http) -> None:
    imported = post_stream(
        http.base,
        "dualdraw.v1.DirectoryService/ImportDirectory",
        [
            {
                "departments": [
                    {
                        "id": "130299-HTTP",
                        "displayName": "经开区分局",
                        "level": "DEPARTMENT_LEVEL_DISTRICT",
                        "regionCode": "130200",
                    }
                ]
            },
            {"requestId": "import-1", "lastChunk": True},
        ],
    )
    assert imported.status == 200
    (flags, counts), (end, trailer) = frames(imported.body)
    assert flags == 0
    assert counts["departments"] == "1"
    assert end == 2
    assert "error" not in trailer
    department = post(
        http.base, "dualdraw.v1.DirectoryService/GetDepartment", {"name": "departments/130299-HTTP"}
    )
    assert department.status == 200
    assert (department.body["name"], department.body["displayName"]) == (
        "departments/130299-HTTP",
        "经开区分局",
    )

    task = _task(http)
    request = {"taskId": task["id"], "asOf": AS_OF, "requestId": "draw-once"}
    first = post(http.base, "dualdraw.v1.DrawService/Draw", request)
    again = post(http.base, "dualdraw.v1.DrawService/Draw", request)
    assert first.status == again.status == 200
    assert again.body == first.body  # the first response, replayed: one draw
    other = post(http.base, "dualdraw.v1.DrawService/Draw", {**request, "requestId": "draw-twice"})
    assert other.status == 409
    assert other.body["code"] == "already_exists"
    assert other.reason() == "DRAW_EXISTS"
    assert other.detail("google.rpc.ErrorInfo")["metadata"]["draw_id"] == first.body["draw"]["id"]
    listed = post(http.base, "dualdraw.v1.DrawService/ListDraws", {"taskId": task["id"]})
    assert [d["id"] for d in listed.body["draws"]] == [first.body["draw"]["id"]]


def test_a_validation_error_carries_the_same_field_violations_as_grpc(http: Http) -> None:
    bad = {**TASK, "ratio": {"value": "7"}}
    reply = post(http.base, "dualdraw.v1.TaskService/CreateTask", {"task": bad})
    assert reply.status == 400
    assert reply.body["code"] == "invalid_argument"
    violations = reply.detail("google.rpc.BadRequest")["fieldViolations"]
    assert [v["field"] for v in violations] == ["task.ratio"]
    with DualdrawClient(http.target, actor="grpc-user") as client, pytest.raises(DualdrawError) as caught:
        client.create_task(
            tasks_pb2.Task(
                item_code="TS-SE-01", department_id=HIGH_TECH_ZONE, ratio=decimal_pb("7"), team_size=2
            )
        )
    assert reply.reason() == caught.value.reason
    assert [v.field for v in caught.value.field_violations] == ["task.ratio"]
    assert [v.description for v in caught.value.field_violations] == [v["description"] for v in violations]


def test_a_request_that_does_not_parse_is_refused_before_the_server(http: Http) -> None:
    unknown = post(http.base, "dualdraw.v1.TaskService/CreateTask", {"task": TASK, "colour": "red"})
    assert unknown.status == 400
    assert unknown.reason() == "MALFORMED_REQUEST"
    violation = unknown.detail("google.rpc.BadRequest")["fieldViolations"][0]
    assert violation.get("field", "") == ""  # the whole message
    broken = post(http.base, "dualdraw.v1.TaskService/CreateTask", None, raw=b"{not json")
    assert broken.status == 400
    assert broken.reason() == "MALFORMED_REQUEST"
    missing = post(http.base, "dualdraw.v1.TaskService/Nothing", {})
    assert missing.status == 404
    assert missing.reason() == "METHOD_NOT_FOUND"
    text = post(http.base, "dualdraw.v1.TaskService/ListTasks", {}, {"Content-Type": "text/plain"})
    assert text.status == 415
    assert text.reason() == "CONTENT_TYPE_NOT_SUPPORTED"


def test_the_deadline_header_is_the_calls_deadline(http: Http) -> None:
    task = _task(http)
    request = {"taskId": task["id"], "asOf": AS_OF, "requestId": "late"}
    late = post(http.base, "dualdraw.v1.DrawService/Draw", request, {"Connect-Timeout-Ms": "1"})
    assert late.status == 504
    assert late.body["code"] == "deadline_exceeded"
    retried = post(http.base, "dualdraw.v1.DrawService/Draw", request)  # outcome unknown: retry, same id
    assert retried.status == 200
    bad = post(http.base, "dualdraw.v1.DrawService/ListDraws", {}, {"Connect-Timeout-Ms": "soon"})
    assert bad.status == 400
    assert bad.reason() == "TIMEOUT_HEADER_INVALID"


def test_a_bundle_streams_as_connect_frames_equal_to_the_grpc_export(http: Http) -> None:
    task = _task(http)
    draw = post(http.base, "dualdraw.v1.DrawService/Draw", {"taskId": task["id"], "asOf": AS_OF}).body["draw"]
    reply = post_stream(
        http.base, "dualdraw.v1.VerifiableDrawService/StreamDrawBundle", [{"drawId": draw["id"]}]
    )
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/connect+json"
    *chunks, (end, trailer) = frames(reply.body)
    assert end == 2
    assert "error" not in trailer
    assert trailer["metadata"]["x-request-id"]
    content = b"".join(base64.b64decode(chunk["data"]) for _, chunk in chunks)
    assert int(chunks[0][1]["totalSizeBytes"]) == len(content)
    with DualdrawClient(http.target, actor="grpc-user") as client:
        assert client.export_draw_bundle_unary(draw["id"]).content == content

    unknown = post_stream(
        http.base, "dualdraw.v1.VerifiableDrawService/StreamDrawBundle", [{"drawId": "nope"}]
    )
    [(end, trailer)] = frames(unknown.body)
    assert unknown.status == 200
    assert end == 2
    assert trailer["error"]["code"] == "not_found"
    assert [
        d["debug"]["reason"] for d in trailer["error"]["details"] if d["type"] == "google.rpc.ErrorInfo"
    ] == ["NOT_FOUND"]


def test_cors_admits_the_configured_origin_only(http: Http) -> None:
    def preflight(origin: str) -> tuple[int, dict[str, str]]:
        request = urllib.request.Request(
            f"{http.base}/dualdraw.v1.DrawService/ListDraws",
            method="OPTIONS",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers)

    status, headers = preflight(BROWSER_ORIGIN)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == BROWSER_ORIGIN
    assert "content-type" in headers["Access-Control-Allow-Headers"]
    status, headers = preflight("http://evil.example")
    assert status == 403
    assert "Access-Control-Allow-Origin" not in headers
    before = post(http.base, "dualdraw.v1.TaskService/ListTasks", {}).body.get("tasks", [])
    refused = post(
        http.base, "dualdraw.v1.TaskService/CreateTask", {"task": TASK}, {"Origin": "http://evil.example"}
    )
    assert refused.status == 403
    assert refused.reason() == "ORIGIN_NOT_ALLOWED"
    assert post(http.base, "dualdraw.v1.TaskService/ListTasks", {}).body.get("tasks", []) == before
    allowed = post(http.base, "dualdraw.v1.TaskService/ListTasks", {}, {"Origin": BROWSER_ORIGIN})
    assert allowed.status == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == BROWSER_ORIGIN


def test_the_openapi_document_is_served(http: Http) -> None:
    with urllib.request.urlopen(f"{http.base}/openapi.json", timeout=30) as response:
        served = response.read()
    assert served == document_json(SERVICE_NAMES)
    assert "/dualdraw.v1.DrawService/Draw" in json.loads(served)["paths"]


def test_a_call_without_a_token_is_refused_with_the_grpc_reason(secured_http: Http) -> None:
    refused = post(secured_http.base, "dualdraw.v1.TaskService/ListTasks", {})
    assert refused.status == 401
    assert refused.body["code"] == "unauthenticated"
    with grpc.insecure_channel(secured_http.target) as channel, pytest.raises(grpc.RpcError) as caught:
        tasks_pb2_grpc.TaskServiceStub(channel).ListTasks(tasks_pb2.ListTasksRequest(), timeout=30)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    grpc_status = rpc_status.from_call(caught.value)
    assert grpc_status is not None
    info = error_details_pb2.ErrorInfo()
    assert grpc_status.details[0].Unpack(info)
    assert refused.reason() == info.reason == "TOKEN_MISSING"
    forged = post(
        secured_http.base, "dualdraw.v1.TaskService/ListTasks", {}, {"Authorization": "Bearer forged"}
    )
    assert forged.status == 401
    assert forged.reason() == "TOKEN_INVALID"

    token = mint_token(KEYS, Principal("op-http", Role.DRAW_OPERATOR, LUNAN))
    admitted = post(
        secured_http.base, "dualdraw.v1.TaskService/ListTasks", {}, {"Authorization": f"Bearer {token}"}
    )
    assert admitted.status == 200
    outside = post(
        secured_http.base,
        "dualdraw.v1.TaskService/CreateTask",
        {"task": {**TASK, "departmentId": HIGH_TECH_ZONE}},
        {"Authorization": f"Bearer {token}"},
    )
    assert outside.status == 403
    assert outside.body["code"] == "permission_denied"
    public = post(secured_http.base, "dualdraw.v1.PublicService/ListPublishedDraws", {})
    assert public.status == 200  # a public method needs no token, over HTTP as over gRPC

    assert secured_http.running.denials is not None
    secured_http.running.denials.flush()
    with secured_http.running.services.reader() as uow:
        from dualdraw.service_layer.ports import PageRequest

        events = [e for e in uow.audit.list(PageRequest(size=1000)).items if e.action == "access.denied"]
    peers = {json.loads(e.after_json).get("peer") for e in events}
    assert "http:127.0.0.1" in peers  # HTTP callers are counted by their own address


def test_a_caller_that_hangs_up_before_the_commit_cancels_the_draw(paused_http: tuple[Http, Path]) -> None:
    http, release = paused_http
    task = _task(http)
    request = json.dumps({"taskId": task["id"], "asOf": AS_OF, "requestId": "hang-up"})
    cancelled_before = _draw_calls("CANCELLED")
    connection = HTTPConnection(http.base.removeprefix("http://"), timeout=60)
    connection.request("POST", "/dualdraw.v1.DrawService/Draw", request, {"Content-Type": "application/json"})
    _reached(release)  # everything is written but not committed
    connection.close()  # the caller goes away
    time.sleep(1)  # the gateway notices within 0.1 s and cancels the call over its socket
    release.touch()
    give_up = time.monotonic() + 30
    while _draw_calls("CANCELLED") == cancelled_before:  # the server ended the call as cancelled
        assert time.monotonic() < give_up, "the server did not end the call as cancelled"
        time.sleep(0.02)
    assert (
        post(http.base, "dualdraw.v1.DrawService/ListDraws", {"taskId": task["id"]}).body.get("draws", [])
        == []
    )
    retried = post(http.base, "dualdraw.v1.DrawService/Draw", json.loads(request))
    assert retried.status == 200
    assert retried.body["draw"]["taskId"] == task["id"]


def test_a_read_over_a_kept_alive_connection_is_not_held_back_by_nagle(http: Http) -> None:
    draw = post(http.base, "dualdraw.v1.DrawService/Draw", {"taskId": _task(http)["id"], "asOf": AS_OF}).body[
        "draw"
    ]
    connection = HTTPConnection(http.base.removeprefix("http://"), timeout=30)
    body = json.dumps({"name": draw["name"]})
    took = []
    for _ in range(15):
        started = time.perf_counter()
        connection.request(
            "POST", "/dualdraw.v1.DrawService/GetDraw", body, {"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        assert response.status == 200
        response.read()
        took.append(time.perf_counter() - started)
    connection.close()
    assert sorted(took)[len(took) // 2] < 0.030  # a delayed-ACK stall is 40 ms on every call


def test_bodies_arrive_chunked_or_by_length_and_a_cut_off_one_is_never_forwarded(http: Http) -> None:
    chunks = [
        frame(
            {
                "departments": [
                    {
                        "id": "130298-CHUNK",
                        "displayName": "chunked",
                        "level": "DEPARTMENT_LEVEL_DISTRICT",
                        "regionCode": "130200",
                    }
                ]
            }
        ),
        frame({"requestId": "import-chunked", "lastChunk": True}),
    ]
    connection = HTTPConnection(http.base.removeprefix("http://"), timeout=60)
    connection.request(
        "POST",
        "/dualdraw.v1.DirectoryService/ImportDirectory",
        iter(chunks),
        {"Content-Type": "application/connect+json"},
        encode_chunked=True,  # what a streaming client sends over HTTP/1.1
    )
    (_, counts), (_, trailer) = frames(connection.getresponse().read())
    connection.close()
    assert counts["departments"] == "1"
    assert "error" not in trailer
    body = json.dumps({"task": TASK, "requestId": "cut-off"}).encode()
    host, port = http.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as raw:
        head = (
            "POST /dualdraw.v1.TaskService/CreateTask HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body) + 100}\r\n\r\n"
        )
        raw.sendall(head.encode() + body)
        raw.shutdown(socket.SHUT_WR)  # the caller stops sending 100 bytes early
        reply = raw.makefile("rb").read()
    assert reply.startswith(b"HTTP/1.1 400")
    assert b"MALFORMED_REQUEST" in reply
    listed = post(http.base, "dualdraw.v1.TaskService/ListTasks", {}).body.get("tasks", [])
    assert len(listed) == 0  # the complete JSON before the cut was not sent on


def test_a_call_in_flight_when_the_server_stops_is_answered_within_the_grace(
    paused_http: tuple[Http, Path],
) -> None:
    http, release = paused_http
    task = _task(http)
    answers: list[Reply] = []
    request = {"taskId": task["id"], "asOf": AS_OF, "requestId": "in-flight"}
    caller = threading.Thread(
        target=lambda: answers.append(post(http.base, "dualdraw.v1.DrawService/Draw", request))
    )
    caller.start()
    _reached(release)
    stopping = threading.Thread(target=http.running.stop, kwargs={"grace": 30})
    stopping.start()
    time.sleep(0.5)  # the gateway stops accepting; the draw waits at its pause point
    release.touch()
    caller.join(60)
    stopping.join(60)
    assert [a.status for a in answers] == [200]
    assert answers[0].body["draw"]["taskId"] == task["id"]
