"""An error naming hundreds of objects reaches the Python client with its real code and reason: the status
carries the first objects and their count, the server log the whole list under the call's request id."""

from __future__ import annotations

import datetime as dt
import json
import logging
from fractions import Fraction

import pytest

from dualdraw.domain.credit_code import check_character
from dualdraw.domain.model import (
    Department,
    DepartmentLevel,
    InspectionItem,
    InspectionObject,
    Inspector,
    ItemKind,
    ObjectStatus,
    RiskClass,
    Speciality,
)
from dualdraw.runtime.telemetry import JsonFormatter
from dualdraw.v1 import tasks_pb2
from dualdraw_client import DualdrawClient, FailedPreconditionError
from dualdraw_client.decimals import decimal_pb

from .conftest import Served

AS_OF = dt.date(2026, 6, 1)
OBJECTS = 230


def _code(n: int) -> str:
    first17 = f"91330100{n:09d}"
    return first17 + check_character(first17)


CODES = [_code(n) for n in range(1, OBJECTS + 1)]


def _load(served: Served) -> None:
    """One bureau, 230 objects, two food inspectors, one of whom declared a conflict with every object."""
    food = (Speciality("food", dt.date(2026, 12, 31)),)
    with served.running.services.unit_of_work() as uow:
        uow.directory.upsert_departments(
            [Department("c-hz", "Hangzhou bureau", None, DepartmentLevel.CITY, "330100")]
        )
        uow.directory.upsert_objects(
            [
                InspectionObject(
                    credit_code=code,
                    name=f"Shop {code}",
                    region_code="330100",
                    registering_department_id="c-hz",
                    industry="F52",
                    business_lines=("food",),
                    risk_class=RiskClass.A,
                    status=ObjectStatus.ACTIVE,
                    office="hz-east",
                )
                for code in CODES
            ]
        )
        uow.directory.upsert_inspectors(
            [
                Inspector("HZ-1", "Inspector HZ-1", "c-hz", "hz-east", food),
                Inspector("HZ-2", "Inspector HZ-2", "c-hz", "hz-east", food, True, frozenset(CODES)),
            ]
        )
        uow.items.add(
            InspectionItem(
                "ED-FOOD",
                "food item",
                "Food Safety Law",
                "food",
                "food",
                "food",
                ItemKind.KEY,
                Fraction(1, 10),
                "c-hz",
            )
        )
        uow.commit()


def test_a_failure_naming_every_object_reaches_the_client_bounded(
    served: Served, client: DualdrawClient
) -> None:
    _load(served)
    task = client.create_task(
        tasks_pb2.Task(
            item_code="ED-FOOD",
            department_id="c-hz",
            ratio=decimal_pb("1"),
            team_size=2,
            title="all conflicted",
        )
    )
    lines: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.setFormatter(JsonFormatter())  # the server's log format: it adds the call's request id
    handler.emit = lambda record: lines.append(handler.format(record))  # type: ignore[method-assign]  # collect
    errors_log = logging.getLogger("dualdraw.entrypoints.grpc.errors")
    errors_log.addHandler(handler)
    errors_log.setLevel(logging.INFO)
    try:
        with pytest.raises(FailedPreconditionError) as failed:
            client.draw(task.id, as_of=AS_OF)
    finally:
        errors_log.removeHandler(handler)
        errors_log.setLevel(logging.NOTSET)
    error = failed.value
    assert error.reason == "TOO_FEW_QUALIFIED_INSPECTORS"  # refused at commit: no object can be staffed
    assert f"for {OBJECTS} object(s)" in str(error)
    metadata = error.metadata
    assert metadata["objects_count"] == str(OBJECTS)
    shown = metadata["objects"].split(",")
    assert len(shown) == int(metadata["objects_shown"]) > 0
    assert metadata["details_truncated"] == "true"
    # The whole list: in the server's log line for this call's request id.
    logged = [json.loads(line) for line in lines if "TOO_FEW_QUALIFIED_INSPECTORS" in line]
    assert len(logged) == 1
    assert logged[0]["request_id"] == metadata["request_id"]
    everything = logged[0]["message"].split("; objects=")[1].split(";")[0].split(",")
    assert sorted(everything) == CODES
    assert everything[: len(shown)] == shown  # the first objects, by credit code
    assert client.get_task(task.id).draw_id == ""  # nothing was written
