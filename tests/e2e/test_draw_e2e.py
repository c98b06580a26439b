"""The service end to end: real server on port 0, real database (SQLite and PostgreSQL), the typed client."""

from __future__ import annotations

import json
from fractions import Fraction
from math import ceil
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

from dualdraw.domain.credit_code import check_character
from dualdraw.domain.draw.integrity import check_stored_draw
from dualdraw.domain.jurisdiction import DepartmentTree
from dualdraw.entrypoints.grpc.reflection import v1_message_class
from dualdraw.service_layer.demo_directory import DEMO_AS_OF, demo_directory
from dualdraw.service_layer.draw_integrity import stored_draw
from dualdraw.v1 import (
    directory_pb2,
    directory_pb2_grpc,
    draws_pb2,
    draws_pb2_grpc,
    tasks_pb2,
    tasks_pb2_grpc,
)
from dualdraw_client import (
    AlreadyExistsError,
    DualdrawClient,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
)
from dualdraw_client.decimals import decimal_pb

from .conftest import Served

ART16_CATEGORIES = {
    draws_pb2.EXCLUSION_CATEGORY_STATUTORY_METHOD,
    draws_pb2.EXCLUSION_CATEGORY_COMPLAINT_HANDLING,
    draws_pb2.EXCLUSION_CATEGORY_RISK_UNSUITABLE,
    draws_pb2.EXCLUSION_CATEGORY_HIGHER_LEVEL_CAMPAIGN,
}


def demo_task(client: DualdrawClient, **overrides: object) -> tasks_pb2.Task:
    suggested = demo_directory().suggested_task
    fields: dict[str, object] = {
        "item_code": suggested.item_code,
        "department_id": suggested.department_id,
        "ratio": decimal_pb(suggested.ratio),
        "team_size": suggested.team_size,
        "title": suggested.title,
    }
    fields.update(overrides)
    return client.create_task(tasks_pb2.Task(**fields))  # type: ignore[arg-type]  # proto kwargs


def _listed_services(channel: grpc.Channel, method: str, request: Any, response_type: Any) -> set[str]:
    """The service names a raw reflection client gets from ``method`` (one list_services request)."""
    info = channel.stream_stream(
        method,
        request_serializer=type(request).SerializeToString,
        response_deserializer=response_type.FromString,
    )
    return {s.name for r in info(iter([request]), timeout=10) for s in r.list_services_response.service}


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_health_reports_serving_and_reflection_lists_the_services(served: Served, version: str) -> None:
    with grpc.insecure_channel(served.target) as channel:
        status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
        assert status.status == health_pb2.HealthCheckResponse.SERVING
        if version == "v1":
            request = v1_message_class("ServerReflectionRequest")(list_services="")
            response_type = v1_message_class("ServerReflectionResponse")
        else:
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            response_type = reflection_pb2.ServerReflectionResponse
        method = f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo"
        names = _listed_services(channel, method, request, response_type)
        # the v1 file itself is described too (grpcurl describe asks for it)
        symbol = type(request)(file_containing_symbol=f"grpc.reflection.{version}.ServerReflection")
        info = channel.stream_stream(
            method,
            request_serializer=type(symbol).SerializeToString,
            response_deserializer=response_type.FromString,
        )
        described = next(iter(info(iter([symbol]), timeout=10)))
    assert described.WhichOneof("message_response") == "file_descriptor_response"
    assert {
        "dualdraw.v1.DirectoryService",
        "dualdraw.v1.InspectionItemService",
        "dualdraw.v1.TaskService",
        "dualdraw.v1.DrawService",
        "dualdraw.v1.AuditService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= names


def test_a_demo_draw_is_rule_checked_fair_and_recomputable(
    demo_served: Served, client: DualdrawClient
) -> None:
    task = demo_task(client)
    draw = client.draw(task.id, as_of=DEMO_AS_OF)

    assignments = list(client.iter_assignments(draw.id, page_size=7))
    exclusions = list(client.iter_exclusions(draw.id, page_size=5))
    excluded = {e.credit_code for e in exclusions}

    assert draw.in_scope_count == draw.eligible_count + draw.excluded_count
    assert draw.excluded_count == len(excluded) > 0
    strata = json.loads(json.loads(client.export_draw_bundle(draw.id))["draw"]["manifest_json"])["objects"][
        "strata"
    ]
    assert sum(s["count"] for s in strata.values()) == draw.eligible_count
    assert {s["ratio"] for s in strata.values()} == {"1/10"}  # no class ratios: the task's in every class
    per_stratum = sum(ceil(Fraction(task.ratio.value) * s["count"]) for s in strata.values())
    assert draw.selected_count == per_stratum == len(assignments)
    assert {e.category for e in exclusions} == ART16_CATEGORIES
    assert all(e.rule_id and e.reason and e.legal_basis for e in exclusions)

    inspectors = {i.badge_number: i for i in client.iter_inspectors(department_id=task.department_id)}
    for a in assignments:
        assert a.credit_code not in excluded
        badges = [m.badge_number for m in a.team]
        assert len(badges) == len(set(badges)) == task.team_size >= 2
        assert sum(m.leader for m in a.team) == 1
        assert a.team[0].leader
        for badge in badges:
            assert inspectors[badge].department_id == task.department_id
            assert a.credit_code not in inspectors[badge].conflicts
    loads = [
        sum(badge in {m.badge_number for m in a.team} for a in assignments)
        for badge in {m.badge_number for a in assignments for m in a.team}
    ]
    assert max(loads) - min(loads) <= 1 or len(assignments) * task.team_size < len(inspectors)

    with demo_served.running.services.unit_of_work() as uow:
        record = uow.draws.get_record(draw.id)
        difference = check_stored_draw(stored_draw(uow, draw.id))
    assert record is not None
    assert difference is None, difference
    assert [a.credit_code for a in sorted(record.assignments, key=lambda a: a.position)] == [
        a.credit_code for a in assignments
    ]

    actions = [e.action for e in client.iter_audit_events()]
    # The one-step draw is a commit (manifest logged first) followed by an execute.
    assert {"directory.import", "task.create", "draw.commit", "draw.execute"} <= set(actions)
    commit_event, execute_event = list(client.iter_audit_events(resource=f"draws/{draw.id}"))
    assert commit_event.actor == execute_event.actor == "e2e-tester"
    assert json.loads(commit_event.after_json)["manifest_hash"] == draw.manifest_hash
    assert json.loads(execute_event.after_json)["selected"] == [a.credit_code for a in assignments]
    assert client.get_task(task.id).draw_id == draw.id


def test_a_task_is_drawn_once_but_a_retried_request_gets_the_first_answer(
    demo_served: Served, client: DualdrawClient
) -> None:
    task = demo_task(client)
    first = client.draw(task.id, as_of=DEMO_AS_OF, request_id="req-1")
    again = client.draw(task.id, as_of=DEMO_AS_OF, request_id="req-1")
    assert again == first
    with pytest.raises(AlreadyExistsError) as raised:
        client.draw(task.id, as_of=DEMO_AS_OF, request_id="req-2")
    assert raised.value.reason == "DRAW_EXISTS"
    assert len(list(client.iter_draws(task_id=task.id))) == 1


def test_tasks_draws_and_results_are_read_by_resource_name(
    demo_served: Served, client: DualdrawClient
) -> None:
    task = demo_task(client)
    draw = client.draw(task.id, as_of=DEMO_AS_OF)
    assert (task.name, draw.name) == (f"tasks/{task.id}", f"draws/{draw.id}")
    with grpc.insecure_channel(demo_served.target) as channel:
        stub = draws_pb2_grpc.DrawServiceStub(channel)
        assert stub.GetDraw(draws_pb2.GetDrawRequest(name=draw.name), timeout=60) == draw
        assert tasks_pb2_grpc.TaskServiceStub(channel).GetTask(
            tasks_pb2.GetTaskRequest(name=task.name), timeout=60
        ) == client.get_task(task.id)
        for name, reason in ((draw.id, "RESOURCE_NAME_INVALID"), ("", "FIELD_REQUIRED")):
            with pytest.raises(grpc.RpcError) as malformed:
                stub.GetDraw(draws_pb2.GetDrawRequest(name=name), timeout=60)
            assert malformed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert reason in str(malformed.value.trailing_metadata())
        with pytest.raises(grpc.RpcError) as unknown:
            stub.GetDraw(draws_pb2.GetDrawRequest(name="draws/d-000000000000"), timeout=60)
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(InvalidArgumentError) as bad:
        client.get_draw("draws/" + draw.id)  # the client names the draw itself: an id with a slash is no id
    assert [(v.field, v.reason) for v in bad.value.field_violations] == [("name", "RESOURCE_NAME_INVALID")]


def test_infeasible_teams_fail_the_draw_and_write_nothing(
    demo_served: Served, client: DualdrawClient
) -> None:
    task = demo_task(client, team_size=20)
    before = len(list(client.iter_audit_events()))
    with pytest.raises(FailedPreconditionError) as raised:
        client.draw(task.id, as_of=DEMO_AS_OF)
    assert raised.value.reason == "TOO_FEW_QUALIFIED_INSPECTORS"  # refused at commit, before any entropy
    assert client.get_task(task.id).draw_id == ""
    assert list(client.iter_draws(task_id=task.id)) == []
    assert len(list(client.iter_audit_events())) == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ratio": decimal_pb("0")}, "task.ratio"),
        ({"ratio": decimal_pb("1.5")}, "task.ratio"),
        ({"team_size": 1}, "task.team_size"),
        ({"department_id": "999999-NONE"}, "task.department_id"),
        ({"item_code": "NO-SUCH-ITEM"}, "task.item_code"),
        ({"scope": tasks_pb2.TaskScope(region_code="130202")}, "task.scope.region_code"),
    ],
)
def test_bad_tasks_are_rejected_field_by_field_and_nothing_is_written(
    demo_served: Served, client: DualdrawClient, overrides: dict[str, object], field: str
) -> None:
    before = len(list(client.iter_tasks()))
    with pytest.raises(InvalidArgumentError) as raised:
        demo_task(client, **overrides)
    assert field in {v.field for v in raised.value.field_violations}
    assert len(list(client.iter_tasks())) == before


def test_a_wrong_check_character_rejects_the_whole_import(
    demo_served: Served, client: DualdrawClient
) -> None:
    good = demo_directory().objects[0]
    fresh = "91130203MA0NEW123" + check_character("91130203MA0NEW123")
    wrong = good.credit_code[:-1] + ("0" if good.credit_code[-1] != "0" else "1")
    objects = [
        directory_pb2.InspectionObject(
            credit_code=fresh,
            display_name="新企业",
            region_code=good.region_code,
            registering_department_id=good.registering_department_id,
            industry="C13",
            risk_class=directory_pb2.RISK_CLASS_A,
            status=directory_pb2.OBJECT_STATUS_ACTIVE,
        ),
        directory_pb2.InspectionObject(
            credit_code=wrong,
            display_name="错码企业",
            region_code=good.region_code,
            registering_department_id=good.registering_department_id,
            industry="C13",
            risk_class=directory_pb2.RISK_CLASS_A,
            status=directory_pb2.OBJECT_STATUS_ACTIVE,
        ),
    ]
    before = len(list(client.iter_objects()))
    with pytest.raises(InvalidArgumentError) as raised:
        client.import_directory([directory_pb2.ImportDirectoryRequest(objects=objects)])
    fields = {v.field for v in raised.value.field_violations}
    assert "objects[1].credit_code" in fields
    assert len(list(client.iter_objects())) == before
    with pytest.raises(NotFoundError):
        client.get_object(wrong)


def test_lists_page_through_everything_exactly_once(demo_served: Served, client: DualdrawClient) -> None:
    codes = [o.credit_code for o in client.iter_objects(page_size=37)]
    assert len(codes) == len(set(codes)) == len(demo_directory().objects)
    assert codes == sorted(codes)
    with pytest.raises(InvalidArgumentError):
        client.list_objects(page_token="not-a-token")


def test_a_department_filter_lists_its_subtree_page_by_page(
    demo_served: Served, client: DualdrawClient
) -> None:
    directory = demo_directory()
    tree = DepartmentTree(directory.departments)
    for department in directory.departments:
        below = tree.subtree_ids(department.id)
        expected = sorted(o.credit_code for o in directory.objects if o.registering_department_id in below)
        listed = [o.credit_code for o in client.iter_objects(department_id=department.id, page_size=7)]
        assert listed == expected
        assert [d.id for d in client.iter_departments(root_id=department.id, page_size=2)] == sorted(below)
        assert [
            i.badge_number for i in client.iter_inspectors(department_id=department.id, page_size=3)
        ] == sorted(i.badge_number for i in directory.inspectors if i.department_id in below)
    with pytest.raises(InvalidArgumentError) as raised:
        client.list_objects(department_id="no-such-department")
    assert raised.value.reason == "UNKNOWN_DEPARTMENT"
    assert [v.field for v in raised.value.field_violations] == ["department_id"]


def test_an_import_stream_without_its_final_chunk_writes_nothing(
    served: Served, client: DualdrawClient
) -> None:
    department = directory_pb2.Department(
        id="130000-SJ", display_name="河北省市场监督管理局", level=1, region_code="130000"
    )
    with grpc.insecure_channel(served.target) as channel:
        stub = directory_pb2_grpc.DirectoryServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.ImportDirectory(iter([directory_pb2.ImportDirectoryRequest(departments=[department])]))
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "last chunk" in (raised.value.details() or "")
    assert list(client.iter_departments()) == []
    client.import_directory([directory_pb2.ImportDirectoryRequest(departments=[department])])
    assert [d.id for d in client.iter_departments()] == ["130000-SJ"]
