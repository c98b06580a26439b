"""Resource names: each collection formats a key and parses it back; all else is RESOURCE_NAME_MALFORMED."""

from __future__ import annotations

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
    "name", ["", "130203-GXQ", "departments/", "department/130203-GXQ", "departments/a/b", "departments/ x"]
)
def test_a_malformed_name_is_refused_at_its_field(name: str) -> None:
    assert refusal(lambda: names.DEPARTMENTS.parse(name, "department")) == (
        "department",
        "RESOURCE_NAME_MALFORMED",
    )


def test_checkpoints_are_named_by_tree_size_or_latest() -> None:
    assert names.checkpoint_size("checkpoints/latest") == 0
    assert names.checkpoint_size(names.CHECKPOINTS.format(42)) == 42
    for bad in ("checkpoints/0", "checkpoints/-1", "checkpoints/x", "checkpoints/４２", "checkpoint/1"):
        assert refusal(lambda bad=bad: names.checkpoint_size(bad)) == ("name", "RESOURCE_NAME_MALFORMED")
