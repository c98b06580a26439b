"""The pieces of the Connect protocol the HTTP gateway speaks: codes and HTTP statuses as the protocol's
table has them, error bodies with google.rpc details as JSON, stream frames, the timeout header, and whom a
forwarded call's refusals are counted against."""

from __future__ import annotations

import io
import struct

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]  # no py.typed

from dualdraw.entrypoints.grpc.security.denials import HTTP_PEER_METADATA_KEY, caller_address
from dualdraw.entrypoints.http import connect
from dualdraw.entrypoints.http.connect import ProtocolError


def test_every_grpc_code_but_ok_has_the_connect_code_and_http_status_of_the_protocol() -> None:
    assert set(connect.CODES) == set(grpc.StatusCode) - {grpc.StatusCode.OK}
    assert connect.CODES[grpc.StatusCode.CANCELLED] == ("canceled", 499)
    assert connect.CODES[grpc.StatusCode.INVALID_ARGUMENT] == ("invalid_argument", 400)
    assert connect.CODES[grpc.StatusCode.FAILED_PRECONDITION] == ("failed_precondition", 400)
    assert connect.CODES[grpc.StatusCode.UNAUTHENTICATED] == ("unauthenticated", 401)
    assert connect.CODES[grpc.StatusCode.RESOURCE_EXHAUSTED] == ("resource_exhausted", 429)
    assert connect.CODES[grpc.StatusCode.UNAVAILABLE] == ("unavailable", 503)


def test_an_error_carries_the_status_details_as_json() -> None:
    info, bad = any_pb2.Any(), any_pb2.Any()
    info.Pack(
        error_details_pb2.ErrorInfo(reason="DRAW_EXISTS", domain="dualdraw.v1", metadata={"draw_id": "d-1"})
    )
    violation = error_details_pb2.BadRequest.FieldViolation(field="task.ratio", description="at most 1")
    bad.Pack(error_details_pb2.BadRequest(field_violations=[violation]))
    status = status_pb2.Status(code=6, message="exists", details=[info, bad])
    trailers = [("x-request-id", "r-1"), (connect.STATUS_DETAILS_KEY, status.SerializeToString())]
    body = connect.error_json(grpc.StatusCode.ALREADY_EXISTS, "exists", trailers)
    assert body["code"] == "already_exists"
    assert body["message"] == "exists"
    assert [d["type"] for d in body["details"]] == ["google.rpc.ErrorInfo", "google.rpc.BadRequest"]
    assert body["details"][0]["debug"] == {
        "reason": "DRAW_EXISTS",
        "domain": "dualdraw.v1",
        "metadata": {"draw_id": "d-1"},
    }
    assert body["details"][1]["debug"]["fieldViolations"][0]["field"] == "task.ratio"
    assert connect.public_metadata(trailers) == [("x-request-id", "r-1")]


def test_a_refusal_of_the_gateway_has_its_reason_and_for_a_bad_request_a_violation() -> None:
    body = ProtocolError(grpc.StatusCode.INVALID_ARGUMENT, "no", reason="MALFORMED_REQUEST").body()
    assert body["details"][0]["debug"]["reason"] == "MALFORMED_REQUEST"
    assert body["details"][1]["debug"]["fieldViolations"] == [
        {"description": "no", "reason": "MALFORMED_REQUEST"}
    ]
    denied = ProtocolError(grpc.StatusCode.PERMISSION_DENIED, "no", reason="ORIGIN_NOT_ALLOWED").body()
    assert [d["type"] for d in denied["details"]] == ["google.rpc.ErrorInfo"]


def test_stream_frames_round_trip_and_bad_ones_are_refused() -> None:
    body = connect.envelope(0, b"{}") + connect.envelope(0, b'{"a":1}') + connect.end_stream(None, [])
    assert list(connect.read_envelopes(io.BytesIO(body), 100)) == [b"{}", b'{"a":1}']
    for bad, reason in (
        (connect.envelope(connect.COMPRESSED, b"x"), "ENCODING_NOT_SUPPORTED"),
        (connect.envelope(0, b"x" * 101), "REQUEST_TOO_LARGE"),
        (struct.pack(">BI", 0, 10) + b"short", "STREAM_FRAME_INVALID"),
        (b"\x00\x00", "STREAM_FRAME_INVALID"),
    ):
        with pytest.raises(ProtocolError) as caught:
            list(connect.read_envelopes(io.BytesIO(bad), 100))
        assert caught.value.reason == reason


def test_the_end_of_a_stream_holds_the_error_and_the_trailers() -> None:
    frame = connect.end_stream({"code": "not_found"}, [("x-request-id", "r-1")])
    assert frame[0] == connect.END_STREAM
    assert frame[5:] == b'{"error": {"code": "not_found"}, "metadata": {"x-request-id": ["r-1"]}}'


def test_the_timeout_header_is_milliseconds() -> None:
    assert connect.timeout_s(None) is None
    assert connect.timeout_s("1500") == 1.5
    for bad in ("-1", "1.5", "12345678901", "soon"):
        with pytest.raises(ProtocolError):
            connect.timeout_s(bad)


def test_refusals_of_a_forwarded_call_count_against_the_http_caller_only_from_the_private_socket() -> None:
    forwarded = {HTTP_PEER_METADATA_KEY: "203.0.113.7"}
    assert caller_address("unix:/tmp/dualdraw-http-x/grpc.sock", forwarded) == "http:203.0.113.7"
    assert caller_address("ipv4:127.0.0.1:5555", forwarded) == "ipv4:127.0.0.1:5555"  # a gRPC caller's claim
    assert caller_address("unix:", {}) == "unix:"
