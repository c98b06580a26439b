"""Every RPC × every role × inside/outside the caller's jurisdiction, over real gRPC with tokens on.

The caller's department is the Lunan branch; "inside" requests name Lunan's task, draw, object, ...;
"outside" ones name Lubei's. A call is expected to be denied (PERMISSION_DENIED, and one audited
``access.denied`` event) exactly when the policy table says so; an admitted call may still fail for other
reasons (a bare request is often INVALID_ARGUMENT), but never with PERMISSION_DENIED or UNAUTHENTICATED.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory

from dualdraw.security.policy import POLICIES, MethodPolicy
from dualdraw.security.tokens import Role
from dualdraw.v1 import directory_pb2
from tests.security.conftest import Secured, Side, bearer

SIDE_FIELD = {
    "department": "department_id",
    "task": "task_id",
    "draw": "draw_id",
    "object": "credit_code",
    "inspector": "badge_number",
    "complaint": "complaint_id",
    "risk_assessment": "risk_assessment_id",
    "designation": "designation_id",
    "substitution": "substitution_id",
}


def _method(name: str) -> Any:
    service, method = name.lstrip("/").rsplit("/", 1)
    return descriptor_pool.Default().FindServiceByName(service).methods_by_name[method]


def _set(message: Any, path: str, value: object) -> None:
    *parents, last = path.split(".")
    for part in parents:
        message = getattr(message, part)
    setattr(message, last, value)


def _request(name: str, policy: MethodPolicy, side: Side) -> Any:
    descriptor = _method(name)
    request = message_factory.GetMessageClass(descriptor.input_type)()
    target = policy.on
    if target is not None and target.kind == "import":
        request.objects.add(
            credit_code=side.credit_code, name="x", registering_department_id=side.department_id
        )
    elif target is not None and target.field:
        _set(request, target.field, getattr(side, SIDE_FIELD[target.kind]))
        if name.endswith(("RecordResult", "CorrectResult")):
            request.result.position = 1
    return request


def call(secured: Secured, name: str, request: Any, token: str | None) -> grpc.StatusCode:
    """Calls ``name`` with ``request`` and returns the status code (streams are drained)."""
    descriptor = _method(name)
    response = message_factory.GetMessageClass(descriptor.output_type)
    metadata = bearer(token) if token else ()
    with secured.channel() as channel:
        kwargs = {
            "request_serializer": lambda m: m.SerializeToString(),
            "response_deserializer": response.FromString,
        }
        try:
            if descriptor.client_streaming:
                channel.stream_unary(name, **kwargs)(iter([request]), metadata=metadata, timeout=60)
            elif descriptor.server_streaming:
                list(channel.unary_stream(name, **kwargs)(request, metadata=metadata, timeout=60))
            else:
                channel.unary_unary(name, **kwargs)(request, metadata=metadata, timeout=60)
        except grpc.RpcError as error:
            return error.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def expected_denied(policy: MethodPolicy, role: Role, inside: bool) -> bool:
    if role not in policy.roles:
        return True
    target = policy.on
    if target is None:
        return False
    if not target.field and target.kind != "import":
        return True  # root-only: the caller is a branch
    return not inside


def test_every_rpc_for_every_role_inside_and_outside(secured: Secured) -> None:
    failures: list[str] = []
    denials = secured.denials()
    for name, policy in sorted(POLICIES.items()):
        for role in Role:
            for inside in (True, False):
                side = secured.inside if inside else secured.outside
                subject = secured.inside.badge_number if role is Role.INSPECTOR else "tester"
                token = secured.token(role, subject=subject, department=secured.inside.department_id)
                code = call(secured, name, _request(name, policy, side), token)
                unknown = (
                    inside
                    and policy.on is not None
                    and getattr(side, SIDE_FIELD.get(policy.on.kind, ""), "") == "none"
                )
                denied = expected_denied(policy, role, inside and not unknown)
                where = f"{name} as {role.value} {'inside' if inside else 'outside'}: {code.name}"
                if code == grpc.StatusCode.UNAUTHENTICATED:
                    failures.append(where)
                elif denied != (code == grpc.StatusCode.PERMISSION_DENIED):
                    failures.append(where + (" (expected a denial)" if denied else " (unexpected denial)"))
                if denied:
                    now = secured.denials()
                    if now != denials + 1:
                        failures.append(where + f" was audited {now - denials} times")
                    denials = now
    assert failures == []


def test_a_root_auditor_reads_the_whole_log(secured: Secured) -> None:
    from dualdraw.demo import PROVINCE

    token = secured.token(Role.AUDITOR, department=PROVINCE)
    for name in (
        "/dualdraw.v1.AuditService/ListAuditEvents",
        "/dualdraw.v1.PublicationService/ListPendingPublications",
    ):
        code = call(secured, name, _request(name, POLICIES[name], secured.inside), token)
        assert code == grpc.StatusCode.OK, name


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("/dualdraw.v1.DrawService/GetDraw", "id"),
        ("/dualdraw.v1.TaskService/GetTask", "id"),
        ("/dualdraw.v1.DirectoryService/GetObject", "credit_code"),
    ],
)
def test_an_unknown_id_and_a_foreign_id_are_denied_alike(secured: Secured, name: str, field: str) -> None:
    descriptor = _method(name)
    request_class = message_factory.GetMessageClass(descriptor.input_type)
    response = message_factory.GetMessageClass(descriptor.output_type)
    token = secured.token(Role.AUDITOR, department=secured.inside.department_id)
    foreign = {
        "id": secured.outside.draw_id if "Draw" in name else secured.outside.task_id,
        "credit_code": secured.outside.credit_code,
    }[field]
    answers = []
    with secured.channel() as channel:
        stub = channel.unary_unary(
            name,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response.FromString,
        )
        for value in (foreign, "does-not-exist-0001"):
            with pytest.raises(grpc.RpcError) as caught:
                stub(request_class(**{field: value}), metadata=bearer(token), timeout=30)
            error = caught.value
            answers.append(
                (
                    error.code(),
                    error.details(),
                    dict(error.trailing_metadata() or ()).get("grpc-status-details-bin"),
                )
            )
    assert answers[0][0] == grpc.StatusCode.PERMISSION_DENIED
    assert answers[0] == answers[1]


def test_an_import_outside_the_subtree_is_denied_and_writes_nothing(secured: Secured) -> None:
    token = secured.token(Role.DRAW_OPERATOR, department=secured.inside.department_id)
    name = "/dualdraw.v1.DirectoryService/ImportDirectory"
    request = directory_pb2.ImportDirectoryRequest()
    request.departments.add(
        id="999999-X", name="rogue", parent_id=secured.outside.department_id, level=3, region_code="130203"
    )
    assert call(secured, name, request, token) == grpc.StatusCode.PERMISSION_DENIED
    with secured.running.services.reader() as uow:
        assert uow.directory.get_department("999999-X") is None
