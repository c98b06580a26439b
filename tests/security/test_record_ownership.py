"""No branch takes over another branch's records by writing to them; moves go through TransferRecord.

Over real gRPC with tokens on, on the demo (SQLite and PostgreSQL): the high-tech zone (GXQ), Lunan (LN)
and Lubei (LB) are sibling districts under the city, which covers all three.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import grpc
import pytest

from dualdraw.adapters.store import bulk
from dualdraw.domain import model
from dualdraw.domain.credit_code import make_credit_code
from dualdraw.domain.errors import FailedPrecondition
from dualdraw.entrypoints.grpc import directory_convert
from dualdraw.entrypoints.grpc.security.tokens import Role
from dualdraw.service_layer import directory
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import CITY, HIGH_TECH_ZONE, LUBEI, LUNAN, PROVINCE
from dualdraw.service_layer.ports import PageRequest
from dualdraw.v1 import directory_pb2
from dualdraw_client import DualdrawClient, chunk_records
from dualdraw_client.errors import DualdrawError
from tests.security.conftest import Secured

SETUP = Caller(actor="setup")


def _client(secured: Secured, department: str) -> DualdrawClient:
    return DualdrawClient(secured.target, token=secured.token(Role.DRAW_OPERATOR, department=department))


def _first_object(secured: Secured, department: str) -> model.InspectionObject:
    with secured.running.services.reader() as uow:
        return uow.directory.list_objects(PageRequest(size=1), [department]).items[0]


def _first_inspector(secured: Secured, department: str) -> model.Inspector:
    with secured.running.services.reader() as uow:
        return uow.directory.list_inspectors(PageRequest(size=1), [department]).items[0]


def _object(secured: Secured, code: str) -> model.InspectionObject | None:
    with secured.running.services.reader() as uow:
        return uow.directory.get_object(code)


def _inspector(secured: Secured, badge: str) -> model.Inspector | None:
    with secured.running.services.reader() as uow:
        return uow.directory.get_inspector(badge)


def _transfers(secured: Secured) -> list[model.AuditEvent]:
    with secured.running.services.reader() as uow:
        events = uow.audit.list(PageRequest(size=10_000)).items
    return [e for e in events if e.action == "directory.transfer"]


def _failure(call: Callable[[], object]) -> DualdrawError:
    with pytest.raises(DualdrawError) as caught:
        call()
    return caught.value


@pytest.fixture
def lubei_records(secured: Secured) -> tuple[model.InspectionObject, model.Inspector]:
    """A Lubei object of risk class B and a Lubei inspector with declared conflicts."""
    obj = dataclasses.replace(_first_object(secured, LUBEI), risk_class=model.RiskClass.B)
    other = _first_object(secured, LUNAN).credit_code
    inspector = dataclasses.replace(_first_inspector(secured, LUBEI), conflicts=frozenset({other}))
    batch = directory.DirectoryBatch(objects=[obj], inspectors=[inspector])
    directory.import_directory(secured.running.services.unit_of_work(), batch, SETUP)
    return obj, inspector


def test_a_branch_cannot_take_over_a_sibling_inspector_and_object_by_import(
    secured: Secured, lubei_records: tuple[model.InspectionObject, model.Inspector]
) -> None:
    obj, inspector = lubei_records
    taken_inspector = directory_convert.inspector_to_pb(dataclasses.replace(inspector, conflicts=frozenset()))
    taken_inspector.department_id = HIGH_TECH_ZONE
    gxq_object = directory_convert.object_to_pb(_first_object(secured, HIGH_TECH_ZONE))
    taken_object = directory_convert.object_to_pb(obj)
    taken_object.registering_department_id = HIGH_TECH_ZONE
    taken_object.risk_class = directory_pb2.RISK_CLASS_A
    taken_object.region_code = gxq_object.region_code  # a valid place in GXQ: only ownership can refuse it
    chunks = [  # the foreign records come in the second chunk, after records the caller owns
        directory_pb2.ImportDirectoryRequest(objects=[gxq_object]),
        directory_pb2.ImportDirectoryRequest(inspectors=[taken_inspector], objects=[taken_object]),
    ]
    denials = secured.denials()
    with _client(secured, HIGH_TECH_ZONE) as client:
        error = _failure(lambda: client.import_directory(chunks))
    assert error.code == grpc.StatusCode.PERMISSION_DENIED
    assert secured.denials() == denials + 1
    assert _inspector(secured, inspector.badge_number) == inspector  # department and conflicts kept
    assert _object(secured, obj.credit_code) == obj  # department and risk class B kept


def test_a_takeover_after_enough_objects_to_stream_them_is_refused_and_writes_nothing(
    secured: Secured, lubei_records: tuple[model.InspectionObject, model.Inspector]
) -> None:
    """The objects of a large import go to the database while the stream arrives; the ownership checks of
    each chunk (other connections) neither wait for that write nor let a later foreign record through."""
    obj, _ = lubei_records
    gxq = directory_convert.object_to_pb(_first_object(secured, HIGH_TECH_ZONE))
    own = []
    for n in range(bulk.BULK_CHECK_THRESHOLD + 1_000):
        record = directory_pb2.InspectionObject()
        record.CopyFrom(gxq)
        record.credit_code = make_credit_code("9", "1", gxq.region_code, f"MD{n:06d}")
        own.append(record)
    taken = directory_convert.object_to_pb(obj)
    taken.registering_department_id = HIGH_TECH_ZONE
    taken.region_code = gxq.region_code
    with _client(secured, HIGH_TECH_ZONE) as client:
        error = _failure(lambda: client.import_directory(chunk_records([*own, taken], max_records=1_000)))
        assert error.code == grpc.StatusCode.PERMISSION_DENIED
        assert _object(secured, obj.credit_code) == obj
        assert _object(secured, own[0].credit_code) is None
        client.import_directory(chunk_records(own, max_records=1_000))  # its own records alone: imported
    assert _object(secured, own[-1].credit_code) is not None


def test_an_import_never_moves_a_record(secured: Secured) -> None:
    obj = _first_object(secured, LUNAN)
    inspector = _first_inspector(secured, LUNAN)
    with secured.running.services.reader() as uow:
        lunan = uow.directory.get_department(LUNAN)
    assert lunan is not None
    moved_object = directory_convert.object_to_pb(obj)
    moved_object.registering_department_id = CITY  # the city's territory holds the object: a valid place
    moved_inspector = directory_convert.inspector_to_pb(inspector)
    moved_inspector.department_id = CITY
    second_city = model.Department(
        "130200-X2", "second city office", PROVINCE, model.DepartmentLevel.CITY, "130200"
    )
    directory.import_directory(
        secured.running.services.unit_of_work(), directory.DirectoryBatch(departments=[second_city]), SETUP
    )
    moved_department = directory_convert.department_to_pb(lunan)
    moved_department.parent_id = second_city.id
    chunk = directory_pb2.ImportDirectoryRequest(
        objects=[moved_object], inspectors=[moved_inspector], departments=[moved_department]
    )
    with _client(secured, CITY) as client:  # the city covers both sides, and still may not move by import
        error = _failure(lambda: client.import_directory([chunk]))
    assert error.code == grpc.StatusCode.FAILED_PRECONDITION
    assert error.reason == "DEPARTMENT_CHANGE_NEEDS_TRANSFER"
    assert {v.field for v in error.field_violations} >= {
        "objects[0].registering_department_id",
        "inspectors[0].department_id",
        "departments[0].parent_id",
    }
    assert _object(secured, obj.credit_code) == obj
    assert _inspector(secured, inspector.badge_number) == inspector
    with secured.running.services.reader() as uow:
        assert uow.directory.get_department(LUNAN) == lunan
    # without authentication (an unrestricted caller) too
    batch = directory.DirectoryBatch(objects=[dataclasses.replace(obj, registering_department_id=CITY)])
    with pytest.raises(FailedPrecondition) as caught:
        directory.import_directory(secured.running.services.unit_of_work(), batch, SETUP)
    assert caught.value.reason == "DEPARTMENT_CHANGE_NEEDS_TRANSFER"
    assert _object(secured, obj.credit_code) == obj


def test_a_caller_covering_both_departments_transfers_a_record_once(secured: Secured) -> None:
    obj = _first_object(secured, LUNAN)
    inspector = _first_inspector(secured, LUBEI)
    before = len(_transfers(secured))
    with _client(secured, CITY) as client:
        moved = client.transfer_record("object", obj.credit_code, CITY, "登记机关变更", request_id="move-1")
        again = client.transfer_record("object", obj.credit_code, CITY, "登记机关变更", request_id="move-1")
        moved_inspector = client.transfer_record("inspector", inspector.badge_number, LUNAN, "调动")
    assert (moved.from_department_id, moved.to_department_id, moved.moved) == (LUNAN, CITY, True)
    assert again == moved  # the same request id: the stored answer, nothing written twice
    assert moved_inspector.moved
    assert moved_inspector.from_department_id == LUBEI
    stored = _object(secured, obj.credit_code)
    assert stored == dataclasses.replace(obj, registering_department_id=CITY)
    stored_inspector = _inspector(secured, inspector.badge_number)
    assert stored_inspector == dataclasses.replace(inspector, department_id=LUNAN)
    events = _transfers(secured)[before:]
    assert [e.resource for e in events] == [
        f"object:{obj.credit_code}",
        f"inspector:{inspector.badge_number}",
    ]
    assert json.loads(events[0].before_json) == {"department_id": LUNAN}
    assert json.loads(events[0].after_json) == {"department_id": CITY, "reason": "登记机关变更"}


def test_a_transfer_needs_a_caller_covering_both_sides_and_a_reason(secured: Secured) -> None:
    obj = _first_object(secured, LUNAN)
    inspector = _first_inspector(secured, LUBEI)
    before = len(_transfers(secured))
    with _client(secured, LUNAN) as lunan:
        to_the_city = _failure(lambda: lunan.transfer_record("object", obj.credit_code, CITY, "上收"))
        from_lubei = _failure(
            lambda: lunan.transfer_record("inspector", inspector.badge_number, LUNAN, "借调")
        )
    assert to_the_city.code == from_lubei.code == grpc.StatusCode.PERMISSION_DENIED
    with _client(secured, CITY) as city:
        no_reason = _failure(lambda: city.transfer_record("object", obj.credit_code, LUBEI, "  "))
    assert no_reason.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in no_reason.field_violations] == ["reason"]
    assert _object(secured, obj.credit_code) == obj
    assert _inspector(secured, inspector.badge_number) == inspector
    assert len(_transfers(secured)) == before


def test_a_department_moves_under_another_parent_only_by_transfer(secured: Secured) -> None:
    with secured.running.services.reader() as uow:
        lubei = uow.directory.get_department(LUBEI)
    assert lubei is not None
    with _client(secured, CITY) as city:
        same = city.transfer_record("department", LUBEI, CITY, "原隶属关系不变")
        wrong_level = _failure(lambda: city.transfer_record("department", LUBEI, LUNAN, "并入路南"))
    assert (same.moved, same.from_department_id) == (False, CITY)
    assert wrong_level.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in wrong_level.field_violations} == {"to_department_id"}
    with secured.running.services.reader() as uow:
        assert uow.directory.get_department(LUBEI) == lubei
