"""The OpenAPI document of the HTTP/JSON API: a valid OpenAPI 3.1 document, one operation per method of every
registered service and nothing else, schemas in protobuf's JSON mapping, and ``dualdraw openapi`` writes
what ``/openapi.json`` serves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pool
from openapi_spec_validator import validate

from dualdraw.entrypoints.cli import main as dualdraw_cli
from dualdraw.entrypoints.grpc.security.policy import policy_for
from dualdraw.entrypoints.grpc.security.tokens import Role
from dualdraw.entrypoints.grpc.server import SERVICE_NAMES
from dualdraw.entrypoints.http.connect import CODES
from dualdraw.entrypoints.http.openapi import document, document_json


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return document(SERVICE_NAMES)


def test_the_document_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_every_method_is_one_operation_and_nothing_else_is(spec: dict[str, Any]) -> None:
    pool = descriptor_pool.Default()
    methods = {
        f"/{name}/{method.name}": method
        for name in SERVICE_NAMES
        for method in pool.FindServiceByName(name).methods
    }
    assert set(spec["paths"]) == set(methods)
    operation_ids = [item["post"]["operationId"] for item in spec["paths"].values()]
    assert len(set(operation_ids)) == len(operation_ids)
    for path, method in methods.items():
        operation = spec["paths"][path]["post"]
        streams = method.client_streaming or method.server_streaming
        request_type = "application/connect+json" if streams else "application/json"
        assert list(operation["requestBody"]["content"]) == [request_type]
        schema = operation["requestBody"]["content"][request_type]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{method.input_type.full_name}"}
        response = operation["responses"]["200"]["content"][request_type]["schema"]
        assert response == {"$ref": f"#/components/schemas/{method.output_type.full_name}"}
        error = operation["responses"]["default"]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/connect.Error"}


def test_public_methods_need_no_token_and_the_rest_a_bearer_token(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        policy = policy_for(path)
        assert policy is not None, path
        anonymous = {} in item["post"]["security"]
        assert anonymous == (Role.PUBLIC in policy.roles), path
        assert {"bearer": []} in item["post"]["security"]


def test_schemas_follow_the_protobuf_json_mapping(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    draw = schemas["dualdraw.v1.Draw"]["properties"]
    assert draw["inScopeCount"]["type"] == "string"  # int64 travels as a string
    assert draw["inScopeCount"]["format"] == "int64"
    assert "in_scope_count" not in draw  # lowerCamelCase names
    assignment = schemas["dualdraw.v1.Assignment"]["properties"]
    assert assignment["position"] == {"type": "integer", "format": "int32"}
    assert assignment["team"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/dualdraw.v1.TeamMember"},
    }
    risk = schemas["dualdraw.v1.InspectionObject"]["properties"]["riskClass"]
    assert risk["type"] == "string"
    assert "RISK_CLASS_UNSPECIFIED" in risk["enum"]
    for name, schema in schemas.items():  # every reference resolves
        for ref in _refs(schema):
            assert ref.removeprefix("#/components/schemas/") in schemas, (name, ref)


def test_field_behaviour_shows_as_required_read_only_and_write_only(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    task = schemas["dualdraw.v1.Task"]
    assert task["required"] == ["departmentId"]  # REQUIRED
    assert task["properties"]["id"]["readOnly"] is True  # OUTPUT_ONLY
    assert "readOnly" not in task["properties"]["ratio"]
    assert schemas["dualdraw.v1.CreateTaskRequest"]["required"] == ["task"]
    assert "required" not in schemas["dualdraw.v1.ListTasksRequest"]
    follow_up = schemas["dualdraw.v1.FollowUp"]["properties"]
    assert follow_up["dueInWorkingDays"]["writeOnly"] is True  # INPUT_ONLY


def test_the_error_schema_names_every_connect_code_and_the_rpc_details(spec: dict[str, Any]) -> None:
    error = spec["components"]["schemas"]["connect.Error"]
    assert set(error["properties"]["code"]["enum"]) == {code for code, _ in CODES.values()}
    debug = error["properties"]["details"]["items"]["properties"]["debug"]["oneOf"]
    assert {"$ref": "#/components/schemas/google.rpc.ErrorInfo"} in debug
    assert {"$ref": "#/components/schemas/google.rpc.BadRequest"} in debug
    violation = spec["components"]["schemas"]["google.rpc.BadRequest.FieldViolation"]["properties"]
    assert {"field", "description", "reason"} <= set(violation)


def test_the_command_writes_the_served_document(tmp_path: Path) -> None:
    out = tmp_path / "openapi.json"
    assert dualdraw_cli.main(["openapi", "-o", str(out)]) == 0
    assert out.read_bytes() == document_json(SERVICE_NAMES)
    assert json.loads(out.read_bytes())["info"]["title"] == "dualdraw HTTP/JSON API"


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []
