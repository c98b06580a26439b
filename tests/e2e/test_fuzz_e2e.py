"""Random protobuf messages on every RPC: no crash, no UNKNOWN/INTERNAL, and every INVALID_ARGUMENT names
the bad field (a ``google.rpc.BadRequest`` field violation with a path and a reason; the error's reason is
theirs when they share one, else INVALID_ARGUMENT). Small, derandomized budgets."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.rpc import error_details_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dualdraw.entrypoints.grpc.security.policy import POLICIES
from tests.e2e.conftest import Served

INTERESTING = [
    "", " ", "0", "-1", "1.5", "0.1", "1e309", "NaN", "2026-12-01", "2026-02-30", "9999-99-99",
    "91130200MA00000000", "130273-GXQ", "130000", "TS-SE-01", "d-000000000000", "../../etc/passwd",
    "' OR 1=1 --", "\x00", "唐山", "A" * 300,
]  # fmt: skip
TEXT = st.one_of(
    st.sampled_from(INTERESTING), st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
)
SCALARS: dict[int, st.SearchStrategy[Any]] = {
    FieldDescriptor.TYPE_STRING: TEXT,
    FieldDescriptor.TYPE_BYTES: st.binary(max_size=64),
    FieldDescriptor.TYPE_BOOL: st.booleans(),
    FieldDescriptor.TYPE_INT32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: st.integers(0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: st.integers(0, 2**64 - 1),
    FieldDescriptor.TYPE_DOUBLE: st.floats(allow_nan=True),
    FieldDescriptor.TYPE_FLOAT: st.floats(width=32, allow_nan=True),
}


def _value(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return messages(field.message_type, depth + 1)
    if field.type == FieldDescriptor.TYPE_ENUM:
        return st.integers(-1, len(field.enum_type.values) + 1)
    return SCALARS.get(field.type, st.just(field.default_value))


def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Any]:
    """Random instances of ``descriptor``'s message (nesting stops at depth 3)."""
    cls = message_factory.GetMessageClass(descriptor)
    if depth > 3 or descriptor.full_name.startswith("google.protobuf."):
        return st.just(cls())
    fields = list(descriptor.fields)

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        message = cls()
        for field in fields:
            if not draw(st.booleans()):
                continue
            repeated = bool(field.is_repeated)
            entry = field.message_type if field.type == FieldDescriptor.TYPE_MESSAGE else None
            if repeated and entry is not None and entry.GetOptions().map_entry:
                key_field, value_field = entry.fields_by_name["key"], entry.fields_by_name["value"]
                target = getattr(message, field.name)
                for _ in range(draw(st.integers(0, 3))):
                    key = draw(_value(key_field, depth))
                    value = draw(_value(value_field, depth))
                    if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                        target[key].CopyFrom(value)
                    else:
                        target[key] = value
            elif repeated:
                for item in draw(st.lists(_value(field, depth), max_size=3)):
                    if field.type == FieldDescriptor.TYPE_MESSAGE:
                        getattr(message, field.name).add().CopyFrom(item)
                    else:
                        getattr(message, field.name).append(item)
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                getattr(message, field.name).CopyFrom(draw(_value(field, depth)))
            else:
                setattr(message, field.name, draw(_value(field, depth)))
        return message

    return build()


def _method(name: str) -> Any:
    service, method = name.lstrip("/").rsplit("/", 1)
    return descriptor_pool.Default().FindServiceByName(service).methods_by_name[method]


def _violations(error: grpc.RpcError) -> tuple[str, list[tuple[str, str]]]:
    """The ErrorInfo reason and the (field, reason) of every field violation of a failed call."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    reason, found = "", []
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found.extend((v.field, v.reason) for v in bad.field_violations)
    return reason, found


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_random_requests_never_crash_any_rpc(demo_served: Served, name: str) -> None:
    descriptor = _method(name)
    response = message_factory.GetMessageClass(descriptor.output_type)
    channel = grpc.insecure_channel(demo_served.target)
    kwargs: dict[str, Any] = {
        "request_serializer": lambda m: m.SerializeToString(),
        "response_deserializer": response.FromString,
    }

    @settings(
        max_examples=12, derandomize=True, deadline=None, database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )  # fmt: skip
    @given(request=messages(descriptor.input_type))
    def check(request: Any) -> None:
        try:
            if descriptor.client_streaming:
                channel.stream_unary(name, **kwargs)(iter([request, request]), timeout=60)
            elif descriptor.server_streaming:
                list(channel.unary_stream(name, **kwargs)(request, timeout=60))
            else:
                channel.unary_unary(name, **kwargs)(request, timeout=60)
        except grpc.RpcError as error:
            failed = error
        else:
            return
        code = failed.code()
        assert code not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL), (name, failed.details())
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            reason, violations = _violations(failed)
            assert violations, (name, request, failed.details())
            assert all(field for field, _ in violations), (name, request, failed.details())
            kinds = {kind for _, kind in violations}
            assert "" not in kinds, (name, violations)  # every violation says what kind of problem it is
            assert reason == (kinds.pop() if len(kinds) == 1 else "INVALID_ARGUMENT"), (
                name,
                reason,
                violations,
            )

    try:
        check()
    finally:
        channel.close()
