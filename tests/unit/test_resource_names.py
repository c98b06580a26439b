"""Resource names: each collection formats a key and parses it back; a name not in its pattern is
INVALID_ARGUMENT with RESOURCE_NAME_INVALID at the request field (empty: FIELD_REQUIRED)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dualdraw.domain.errors import InvalidArgument
from dualdraw.entrypoints.grpc import resource_names as names


def refusal(call: object) -> tuple[str, str]:
    with pytest.raises(InvalidArgument) as caught:
        call()  # type: ignore[operator]  # a zero-argument callable
    (violation,) = caught.value.violations
    return violation.field, violation.reason


@pytest.mark.parametrize(
    ("collection", "key"),
    [
        (names.DEPARTMENTS, "130203-GXQ"),
        (names.OBJECTS, "91130273MA0NEW123C"),
        (names.INSPECTORS, "HB-130203-001"),
        (names.ITEMS, "SE-001"),
        (names.RISK_ASSESSMENTS, "ra-1"),
        (names.STATUTORY_DESIGNATIONS, "sd-1"),
        (names.RULE_SETS, "ab" * 32),
    ],
)
def test_a_formatted_name_parses_back_to_its_key(collection: names.Collection, key: str) -> None:
    name = collection.format(key)
    assert name == f"{collection.collection_id}/{key}"
    assert collection.parse(name) == key


@pytest.mark.parametrize(
    "name", ["130203-GXQ", "departments/", "department/130203-GXQ", "departments/a/b", "departments/ x"]
)
def test_a_malformed_department_name_is_refused_at_its_field(name: str) -> None:
    assert refusal(lambda: names.DEPARTMENTS.parse(name, "department")) == (
        "department",
        "RESOURCE_NAME_INVALID",
    )


def test_checkpoints_are_named_by_tree_size_or_latest() -> None:
    assert names.checkpoint_size("checkpoints/latest") == 0
    assert names.checkpoint_size(names.CHECKPOINTS.format(42)) == 42
    for bad in ("checkpoints/0", "checkpoints/-1", "checkpoints/x", "checkpoints/４２", "checkpoint/1"):
        assert refusal(lambda bad=bad: names.checkpoint_size(bad)) == ("name", "RESOURCE_NAME_INVALID")


@pytest.mark.parametrize(
    ("name_of", "parse", "key"),
    [
        (names.task_name, names.parse_task, "t-3f2a9c1b7d4e"),
        (names.draw_name, names.parse_draw, "d-3f2a9c1b7d4e"),
        (names.plan_name, names.parse_plan, "p-3f2a9c1b7d4e"),
    ],
)
def test_a_name_parses_back_to_its_id(
    name_of: Callable[[str], str], parse: Callable[..., str], key: str
) -> None:
    assert parse(name_of(key)) == key


def test_a_result_name_parses_back_to_its_draw_and_position() -> None:
    name = names.result_name("d-1", 12)
    assert name == "draws/d-1/assignments/12/result"  # as follow-ups and objections name results
    assert names.parse_result(name) == ("d-1", 12)


def _refusal(parse: Callable[..., Any], name: str) -> tuple[str, str | None]:
    with pytest.raises(InvalidArgument) as caught:
        parse(name, "request.name")
    [violation] = caught.value.violations
    return violation.field, violation.reason


@pytest.mark.parametrize(
    ("parse", "name"),
    [
        (names.parse_draw, "d-1"),  # a bare id
        (names.parse_draw, "tasks/t-1"),  # another collection
        (names.parse_draw, "draws/"),  # an empty segment
        (names.parse_draw, "draws/d-1/x"),  # too many segments
        (names.parse_draw, "draws/ d-1"),  # spaces around the id
        (names.parse_task, "Tasks/t-1"),
        (names.parse_plan, "plans//p-1"),
        (names.parse_result, "draws/d-1/assignments/0/result"),  # positions start at 1
        (names.parse_result, "draws/d-1/assignments/x/result"),
        (names.parse_result, "draws/d-1/assignments/1"),
        (names.parse_result, "draws/d-1/results/1"),
    ],
)
def test_a_malformed_name_is_refused_at_its_field(parse: Callable[..., Any], name: str) -> None:
    assert _refusal(parse, name) == ("request.name", "RESOURCE_NAME_INVALID")


def test_an_empty_name_is_a_missing_field() -> None:
    assert _refusal(names.parse_task, "") == ("request.name", "FIELD_REQUIRED")
