"""The OpenAPI 3.1 document of the HTTP/JSON API, generated from the protobuf descriptors the server serves.

One ``POST /package.Service/Method`` operation per gRPC method (the Connect protocol), its request and
response bodies as JSON Schemas of protobuf's JSON mapping (lowerCamelCase names, 64-bit integers as
strings, enums by name), the roles that may call it (``security/policy.py``), and the Connect error body
whose ``details`` carry ``google.rpc`` messages (ErrorInfo, BadRequest...) as ``debug`` JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from google.api import field_behavior_pb2
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.rpc import error_details_pb2  # type: ignore[import-untyped]  # googleapis-common-protos: no py.typed

from dualdraw.entrypoints.grpc.security.policy import policy_for
from dualdraw.entrypoints.grpc.security.tokens import Role
from dualdraw.entrypoints.http.connect import CODES, STREAM_JSON

_INT64 = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
}
_INT32 = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_SFIXED32,
}
# Well-known types have a JSON form of their own (protobuf's JSON mapping).
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$"},
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.Any": {"type": "object", "properties": {"@type": {"type": "string"}}},
    "google.protobuf.StringValue": {"type": ["string", "null"]},
    "google.protobuf.BytesValue": {"type": ["string", "null"], "contentEncoding": "base64"},
    "google.protobuf.BoolValue": {"type": ["boolean", "null"]},
    "google.protobuf.DoubleValue": {"type": ["number", "null"]},
    "google.protobuf.FloatValue": {"type": ["number", "null"]},
    "google.protobuf.Int32Value": {"type": ["integer", "null"]},
    "google.protobuf.UInt32Value": {"type": ["integer", "null"]},
    "google.protobuf.Int64Value": {"type": ["string", "null"]},
    "google.protobuf.UInt64Value": {"type": ["string", "null"]},
}
_REQUIRED = field_behavior_pb2.REQUIRED
_OUTPUT_ONLY = field_behavior_pb2.OUTPUT_ONLY
_INPUT_ONLY = field_behavior_pb2.INPUT_ONLY


def _behaviours(field: FieldDescriptor) -> list[int]:
    """The field's ``google.api.field_behavior`` annotations (AIP-203)."""
    return list(field.GetOptions().Extensions[field_behavior_pb2.field_behavior])


ERROR_DETAILS = ("ErrorInfo", "BadRequest", "RetryInfo", "PreconditionFailure", "ResourceInfo")


class _Schemas:
    """Collects a JSON Schema per message reachable from the methods, under its full protobuf name."""

    def __init__(self) -> None:
        self.found: dict[str, dict[str, Any]] = {}

    def ref(self, message: Descriptor) -> dict[str, Any]:
        if message.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[message.full_name])
        if message.full_name not in self.found:
            self.found[message.full_name] = {}  # placeholder first: messages may refer to themselves
            self.found[message.full_name] = self._message(message)
        return {"$ref": f"#/components/schemas/{message.full_name}"}

    def _message(self, message: Descriptor) -> dict[str, Any]:
        properties = {field.json_name: self._annotated(field) for field in message.fields}
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        required = [f.json_name for f in message.fields if _REQUIRED in _behaviours(f)]
        if required:
            schema["required"] = required
        oneofs = [o for o in message.oneofs if not (len(o.fields) == 1 and o.name.startswith("_"))]
        if oneofs:
            schema["description"] = "; ".join(
                f"at most one of {', '.join(f.json_name for f in o.fields)}" for o in oneofs
            )
        return schema

    def _annotated(self, field: FieldDescriptor) -> dict[str, Any]:
        """The field's schema, ``readOnly`` when OUTPUT_ONLY and ``writeOnly`` when INPUT_ONLY (AIP-203)."""
        schema = self._field(field)
        behaviours = _behaviours(field)
        if _OUTPUT_ONLY in behaviours:
            schema["readOnly"] = True
        if _INPUT_ONLY in behaviours:
            schema["writeOnly"] = True
        return schema

    def _field(self, field: FieldDescriptor) -> dict[str, Any]:
        message = field.message_type
        if message is not None and message.GetOptions().map_entry:
            return {"type": "object", "additionalProperties": self._single(message.fields_by_name["value"])}
        if field.is_repeated:
            return {"type": "array", "items": self._single(field)}
        return self._single(field)

    def _single(self, field: FieldDescriptor) -> dict[str, Any]:
        kind = field.type
        if field.message_type is not None:
            return self.ref(field.message_type)
        if field.enum_type is not None:
            return {"type": "string", "enum": [v.name for v in field.enum_type.values]}
        if kind in _INT64:
            return {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"}
        if kind in _INT32:
            return {"type": "integer", "format": "int32"}
        if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            return {"type": "number"}
        if kind == FieldDescriptor.TYPE_BOOL:
            return {"type": "boolean"}
        if kind == FieldDescriptor.TYPE_BYTES:
            return {"type": "string", "contentEncoding": "base64"}
        return {"type": "string"}


def _error_schema(schemas: _Schemas) -> dict[str, Any]:
    details = [schemas.ref(error_details_pb2.DESCRIPTOR.message_types_by_name[n]) for n in ERROR_DETAILS]
    return {
        "type": "object",
        "description": "A Connect error. `details` are google.rpc.Status details: `type` names the message,"
        " `value` holds its bytes (base64) and `debug` the same message as JSON (ErrorInfo `reason` and"
        " `metadata`, BadRequest `fieldViolations`...); docs/ERRORS.md lists every reason.",
        "required": ["code"],
        "properties": {
            "code": {"type": "string", "enum": sorted({code for code, _ in CODES.values()})},
            "message": {"type": "string"},
            "details": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type", "value"],
                    "properties": {
                        "type": {"type": "string", "examples": ["google.rpc.ErrorInfo"]},
                        "value": {"type": "string", "contentEncoding": "base64"},
                        "debug": {"oneOf": details},
                    },
                },
            },
        },
    }


def _roles(method: str) -> list[str]:
    policy = policy_for(method)
    return sorted(role.value for role in policy.roles) if policy is not None else []


def _operation(service: str, method: MethodDescriptor, schemas: _Schemas) -> dict[str, Any]:
    path = f"/{service}/{method.name}"
    roles = _roles(path)
    request, response = schemas.ref(method.input_type), schemas.ref(method.output_type)
    streaming = method.client_streaming or method.server_streaming
    frame = (
        "Connect streaming: each message is a frame (1 flags byte, 4-byte big-endian length, the JSON"
        " message); the last frame (flags 0x02) holds `{error?, metadata?}`, the error as"
        " #/components/schemas/connect.Error."
    )
    request_type = STREAM_JSON if streaming else "application/json"
    operation: dict[str, Any] = {
        "operationId": f"{service.rsplit('.', 1)[-1]}_{method.name}",
        "tags": [service.rsplit(".", 1)[-1]],
        "description": f"gRPC `{path}`. Roles: {', '.join(roles) or 'none'}."
        + (f" {frame}" if streaming else ""),
        "parameters": [
            {
                "name": "Connect-Timeout-Ms",
                "in": "header",
                "required": False,
                "description": "the call's deadline in milliseconds (the gRPC deadline)",
                "schema": {"type": "string", "pattern": "^[0-9]{1,10}$"},
            },
            {
                "name": "x-request-id",
                "in": "header",
                "required": False,
                "description": "the id logged with the call (echoed as trailer-x-request-id)",
                "schema": {"type": "string", "maxLength": 64},
            },
        ],
        "requestBody": {"required": True, "content": {request_type: {"schema": request}}},
        "responses": {
            "200": {
                "description": "the response" + (" stream" if method.server_streaming else ""),
                "content": {request_type if streaming else "application/json": {"schema": response}},
            },
            "default": {
                "description": "an error: the gRPC status as a Connect code (HTTP status per the Connect"
                " protocol; a stream always answers 200 and ends with the error)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/connect.Error"}}},
            },
        },
    }
    operation["security"] = [{"bearer": []}] + ([{}] if Role.PUBLIC.value in roles else [])
    return operation


def document(service_names: Iterable[str], version: str = "v1") -> dict[str, Any]:
    """The OpenAPI 3.1 document of every method of the named services."""
    pool = descriptor_pool.Default()
    schemas = _Schemas()
    paths: dict[str, Any] = {}
    tags = []
    for name in service_names:
        service = pool.FindServiceByName(name)
        tags.append({"name": service.name, "description": f"gRPC service `{name}`"})
        for method in service.methods:
            paths[f"/{name}/{method.name}"] = {"post": _operation(name, method, schemas)}
    error = _error_schema(schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "dualdraw HTTP/JSON API",
            "version": version,
            "description": "Every gRPC method of dualdraw.v1 over HTTP with the Connect protocol: POST a"
            " JSON request (protobuf's JSON mapping) to /<service>/<method>. The same authentication,"
            " authorization, validation, idempotency (request_id) and errors as gRPC apply.",
        },
        "servers": [{"url": "/"}],
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": {"connect.Error": error, **dict(sorted(schemas.found.items()))},
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "a token from `dualdraw token mint` (with DUALDRAW_AUTH=off: none; the"
                    " x-dualdraw-actor header names the caller)",
                }
            },
        },
    }


def document_json(service_names: Iterable[str]) -> bytes:
    """The document as UTF-8 JSON, stable between runs (for ``dualdraw openapi`` and ``/openapi.json``)."""
    return json.dumps(document(service_names), ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
