"""The shapes docs/API.md promises, checked on the descriptors: in the files already converted no day
travels as a string (it is a ``google.type.Date``), and every message declared a resource carries its
resource name in ``name`` (docs/API.md "Dates", "Resource names")."""

from __future__ import annotations

import re
from collections.abc import Callable

from google.api import field_behavior_pb2, resource_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor, FileDescriptor

from dualdraw.v1 import draws_pb2, plans_pb2, public_pb2, publication_pb2, results_pb2, tasks_pb2

CONVERTED = [draws_pb2, tasks_pb2, plans_pb2, publication_pb2, public_pb2, results_pb2]
DAY_NAME = re.compile(r"(_on|_date|^as_of|^deadline|^effective_from|^window_(start|end))$")


def _messages(file: FileDescriptor) -> list[Descriptor]:
    found: list[Descriptor] = []
    todo = list(file.message_types_by_name.values())
    while todo:
        message = todo.pop()
        found.append(message)
        todo.extend(message.nested_types)
    return found


def _fields(predicate: Callable[[FieldDescriptor], bool]) -> list[FieldDescriptor]:
    return [
        field
        for module in CONVERTED
        for message in _messages(module.DESCRIPTOR)
        for field in message.fields
        if predicate(field)
    ]


def test_no_day_travels_as_a_string() -> None:
    days = _fields(lambda f: DAY_NAME.search(f.name) is not None)
    assert len(days) > 20  # the pattern does find the day fields
    not_dates = [
        f.full_name for f in days if f.message_type is None or f.message_type.full_name != "google.type.Date"
    ]
    assert not_dates == []


def test_every_resource_carries_its_name() -> None:
    resources = [
        message
        for module in CONVERTED
        for message in _messages(module.DESCRIPTOR)
        if message.GetOptions().Extensions[resource_pb2.resource].type
    ]
    assert {m.name for m in resources} >= {"Task", "Draw", "Plan", "InspectionResult"}
    for message in resources:
        assert message.GetOptions().Extensions[resource_pb2.resource].pattern, message.full_name
        name = message.fields_by_name.get("name")
        assert name is not None, message.full_name
        assert name.type == FieldDescriptor.TYPE_STRING, message.full_name
        behaviour = name.GetOptions().Extensions[field_behavior_pb2.field_behavior]
        assert field_behavior_pb2.IDENTIFIER in behaviour, message.full_name
