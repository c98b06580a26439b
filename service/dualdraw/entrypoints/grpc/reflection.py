"""Server reflection under both names clients ask for: ``grpc.reflection.v1`` (grpcurl, buf curl, Postman
try it first) and ``grpc.reflection.v1alpha`` (older tools).

grpcio-reflection ships only v1alpha. The v1 protocol is the same file under another package (same
messages, same field numbers), so v1 is served by the same servicer: its descriptors are built from the
v1alpha file with the package renamed and added to the default pool (so a client can ``describe`` it too),
and its one method decodes and encodes the v1alpha message classes, which read and write the same bytes.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.message_factory import GetMessageClass
from grpc_reflection.v1alpha import reflection, reflection_pb2

V1ALPHA_SERVICE_NAME = reflection.SERVICE_NAME  # "grpc.reflection.v1alpha.ServerReflection"
V1_PACKAGE = "grpc.reflection.v1"
V1_SERVICE_NAME = f"{V1_PACKAGE}.ServerReflection"
V1_METHOD = f"/{V1_SERVICE_NAME}/ServerReflectionInfo"
SERVICE_NAMES = (V1_SERVICE_NAME, V1ALPHA_SERVICE_NAME)


def _v1_file() -> descriptor_pb2.FileDescriptorProto:
    """The v1 reflection file: the v1alpha one with its package (and every type reference) renamed."""
    source = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(source)
    old, new = f".{source.package}.", f".{V1_PACKAGE}."
    source.name = "grpc/reflection/v1/reflection.proto"
    source.package = V1_PACKAGE
    source.ClearField("options")
    for message in source.message_type:
        for field in message.field:
            if field.type_name.startswith(old):
                field.type_name = new + field.type_name[len(old) :]
    for service in source.service:
        for method in service.method:
            method.input_type = new + method.input_type[len(old) :]
            method.output_type = new + method.output_type[len(old) :]
    return source


def v1_file_descriptor() -> Any:
    """The v1 file in the default descriptor pool (added on first use)."""
    pool = descriptor_pool.Default()
    try:
        return pool.FindFileByName("grpc/reflection/v1/reflection.proto")
    except KeyError:
        return pool.Add(_v1_file())


def v1_message_class(name: str) -> Any:
    """The generated class of a v1 reflection message, e.g. ``ServerReflectionRequest``."""
    return GetMessageClass(v1_file_descriptor().message_types_by_name[name])


def enable(service_names: list[str], server: grpc.Server) -> None:
    """Serves reflection for ``service_names`` (and both reflection services) under v1 and v1alpha."""
    v1_file_descriptor()
    servicer = reflection.ReflectionServicer([*service_names, *SERVICE_NAMES])
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                V1ALPHA_SERVICE_NAME,
                {"ServerReflectionInfo": _handler(servicer)},
            ),
            grpc.method_handlers_generic_handler(
                V1_SERVICE_NAME,
                {"ServerReflectionInfo": _handler(servicer)},
            ),
        )
    )


def _handler(servicer: reflection.ReflectionServicer) -> grpc.RpcMethodHandler[Any, Any]:
    return grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
