"""Request bytes that do not parse as the method's message answer INVALID_ARGUMENT (MALFORMED_REQUEST) on
every method of every service, unary and streaming, instead of grpc's INTERNAL."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.rpc import error_details_pb2  # type: ignore[import-untyped]  # googleapis-common-protos has no py.typed
from grpc_status import rpc_status

from dualdraw.entrypoints.grpc.server import REGISTRATIONS
from dualdraw.v1 import directory_pb2, evidence_pb2
from tests.e2e.conftest import Served

BAD_UTF8 = b"\x0a\x02\xff\xfe"  # field 1, a string: two bytes that are not UTF-8
TOO_DEEP = b"\x0b" * 200 + b"\x0c" * 200  # 200 nested groups, past the parser's depth limit
TRUNCATED = b"\x08\xff\xff"  # field 1, a varint whose last byte is missing
MALFORMED = {"bad-utf8": BAD_UTF8, "too-deep": TOO_DEEP, "truncated": TRUNCATED}
# A valid first message of a client stream whose first message must say something (an empty one is refused
# for what it lacks before the bad second message is read); others start with an empty message.
FIRST_MESSAGES = {
    "/dualdraw.v1.EvidenceService/UploadEvidence": evidence_pb2.UploadEvidenceRequest(
        metadata=evidence_pb2.EvidenceUpload(sha256="ab" * 32, size_bytes=3, content_type="application/pdf")
    ).SerializeToString(),
}


def _methods() -> list[tuple[str, bool, bool]]:
    """(path, client streaming, server streaming) of every method the server registers."""
    pool = directory_pb2.DESCRIPTOR.pool
    return [
        (f"/{r.full_name}/{m.name}", m.client_streaming, m.server_streaming)
        for r in REGISTRATIONS
        for m in pool.FindServiceByName(r.full_name).methods
    ]


def _call(
    channel: grpc.Channel, path: str, client_streaming: bool, server_streaming: bool, body: bytes
) -> None:
    """Sends ``body`` as raw request bytes (no serializer) and drains the answer."""
    metadata = (("x-dualdraw-actor", "e2e-tester"),)
    if client_streaming:
        chunks: Iterator[bytes] = iter([FIRST_MESSAGES.get(path, b""), body])  # a valid one, then the bad one
        if server_streaming:
            list(channel.stream_stream(path)(chunks, metadata=metadata, timeout=20))
        else:
            channel.stream_unary(path)(chunks, metadata=metadata, timeout=20)
    elif server_streaming:
        list(channel.unary_stream(path)(body, metadata=metadata, timeout=20))
    else:
        channel.unary_unary(path)(body, metadata=metadata, timeout=20)


def _assert_malformed(error: grpc.RpcError) -> None:
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    status = rpc_status.from_call(error)  # type: ignore[arg-type]  # a failed call is a grpc.Call
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    assert any(d.Unpack(info) for d in status.details)
    assert info.reason == "MALFORMED_REQUEST"
    assert "not a valid" in error.details()


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_every_method_answers_invalid_argument_to_malformed_bytes(served: Served, kind: str) -> None:
    methods = _methods()
    assert any(c for _, c, _ in methods), "ImportDirectory streams its requests"
    body = MALFORMED[kind]
    with grpc.insecure_channel(served.target) as channel:
        for path, client_streaming, server_streaming in methods:
            if kind == "bad-utf8":
                # invalid UTF-8 fails only where field 1 is a string; ImportDirectory nests it in a department
                if path.endswith("/ImportDirectory"):
                    body = b"\x0a" + bytes([len(BAD_UTF8)]) + BAD_UTF8
                elif not path.endswith(("/GetTask", "/GetDraw")):
                    continue
            with pytest.raises(grpc.RpcError) as caught:
                _call(channel, path, client_streaming, server_streaming, body)
            try:
                _assert_malformed(caught.value)
            except AssertionError as failure:
                raise AssertionError(f"{path}: {failure}") from failure
        # the server still answers well-formed calls afterwards
        answer = channel.unary_unary("/dualdraw.v1.AuditService/ListAuditEvents")(
            b"", metadata=(("x-dualdraw-actor", "e2e-tester"),), timeout=20
        )
        assert isinstance(answer, bytes)
