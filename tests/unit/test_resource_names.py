"""Resource names of tasks, draws, plans and results: each format and parse pair round-trips, and a name that
does not fit its pattern is INVALID_ARGUMENT with RESOURCE_NAME_MALFORMED at the request field (empty:
FIELD_REQUIRED)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dualdraw.domain.errors import InvalidArgument
from dualdraw.entrypoints.grpc import resource_names as rn


@pytest.mark.parametrize(
    ("name_of", "parse", "key"),
    [
        (rn.task_name, rn.parse_task, "t-3f2a9c1b7d4e"),
        (rn.draw_name, rn.parse_draw, "d-3f2a9c1b7d4e"),
        (rn.plan_name, rn.parse_plan, "p-3f2a9c1b7d4e"),
    ],
)
def test_a_name_parses_back_to_its_id(
    name_of: Callable[[str], str], parse: Callable[..., str], key: str
) -> None:
    assert parse(name_of(key)) == key


def test_a_result_name_parses_back_to_its_draw_and_position() -> None:
    name = rn.result_name("d-1", 12)
    assert name == "draws/d-1/assignments/12/result"  # as follow-ups and objections name results
    assert rn.parse_result(name) == ("d-1", 12)


def _refusal(parse: Callable[..., Any], name: str) -> tuple[str, str | None]:
    with pytest.raises(InvalidArgument) as caught:
        parse(name, "request.name")
    [violation] = caught.value.violations
    return violation.field, violation.reason


@pytest.mark.parametrize(
    ("parse", "name"),
    [
        (rn.parse_draw, "d-1"),  # a bare id
        (rn.parse_draw, "tasks/t-1"),  # another collection
        (rn.parse_draw, "draws/"),  # an empty segment
        (rn.parse_draw, "draws/d-1/x"),  # too many segments
        (rn.parse_draw, "draws/ d-1"),  # spaces around the id
        (rn.parse_task, "Tasks/t-1"),
        (rn.parse_plan, "plans//p-1"),
        (rn.parse_result, "draws/d-1/assignments/0/result"),  # positions start at 1
        (rn.parse_result, "draws/d-1/assignments/x/result"),
        (rn.parse_result, "draws/d-1/assignments/1"),
        (rn.parse_result, "draws/d-1/results/1"),
    ],
)
def test_a_malformed_name_is_refused_at_its_field(parse: Callable[..., Any], name: str) -> None:
    assert _refusal(parse, name) == ("request.name", "RESOURCE_NAME_MALFORMED")


def test_an_empty_name_is_a_missing_field() -> None:
    assert _refusal(rn.parse_task, "") == ("request.name", "FIELD_REQUIRED")
