"""Every field of every message a client sends and of every resource of dualdraw.v1 carries a
``google.api.field_behavior`` annotation (AIP-203), so none is forgotten when a field is added. Messages that
only travel from server to client (``…Response`` wrappers, stream chunks, the parts of a resource a client
never sends) are exempt: all their fields are output (docs/API.md "Field behaviour")."""

import importlib
import pkgutil
from collections.abc import Callable
from typing import cast

import pytest
from google.api import field_behavior_pb2, resource_pb2
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

import dualdraw.v1
from dualdraw.domain.errors import InvalidArgument
from dualdraw.entrypoints.grpc.results_servicer import ResultServicer
from dualdraw.entrypoints.grpc.servicers import Services
from dualdraw.entrypoints.grpc.verification_servicers import VerifiableDrawServicer
from dualdraw.v1 import results_pb2, verification_pb2


def _reachable(roots: list[Descriptor]) -> dict[str, Descriptor]:
    """``roots`` and every message their fields hold, transitively (map entries stand for their value)."""
    seen: dict[str, Descriptor] = {}
    todo = list(roots)
    while todo:
        message = todo.pop()
        if message.full_name in seen or not message.full_name.startswith("dualdraw.v1."):
            continue
        if not message.GetOptions().map_entry:
            seen[message.full_name] = message
        todo.extend(f.message_type for f in message.fields if f.message_type is not None)
    return seen


def annotated_messages() -> dict[str, Descriptor]:
    """The messages a client sends (reachable from a request) and the resources (what a method returns
    itself, neither a ``…Response`` nor a stream)."""
    requests: list[Descriptor] = []
    resources: dict[str, Descriptor] = {}
    for module_info in pkgutil.iter_modules(dualdraw.v1.__path__):
        if not module_info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(f"dualdraw.v1.{module_info.name}")
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                requests.append(method.input_type)
                output = method.output_type
                if not method.server_streaming and not output.name.endswith("Response"):
                    resources[output.full_name] = output
    return {**_reachable(requests), **resources}


def test_every_request_and_resource_field_has_a_field_behaviour() -> None:
    messages = annotated_messages()
    assert len(messages) > 100
    missing = [
        f"{message.full_name}.{field.name}"
        for message in messages.values()
        for field in message.fields
        if not field.GetOptions().Extensions[field_behavior_pb2.field_behavior]
    ]
    assert missing == [], f"fields without (google.api.field_behavior): {missing}"


@pytest.mark.parametrize(
    ("servicer", "method", "request_message", "field"),
    [
        (ResultServicer, "ListResultVersions", results_pb2.ListResultVersionsRequest(page_size=1), "name"),
        (VerifiableDrawServicer, "ListSubstitutions", verification_pb2.ListSubstitutionsRequest(), "draw_id"),
    ],
)
def test_a_list_of_one_draws_children_refuses_an_empty_parent(
    servicer: Callable[[Services], object], method: str, request_message: Message, field: str
) -> None:
    """The parent (a result's name, a draw id) is REQUIRED there: refused before anything is read, not
    answered with an empty page."""
    with pytest.raises(InvalidArgument) as refused:
        getattr(servicer(cast(Services, None)), method)(request_message, None)
    assert [(v.field, v.reason) for v in refused.value.violations] == [(field, "FIELD_REQUIRED")]


RESHAPED = ("audit", "directory", "items", "rules", "verification")
"""The older files already reshaped (docs/API.md "Dates", "Decimals", "Resource names")."""
DAY_NAMES = (
    "_on",
    "_date",
    "as_of",
    "valid_from",
    "valid_to",
    "valid_until",
    "effective_from",
    "effective_to",
)


def _messages_of(files: tuple[str, ...]) -> list[Descriptor]:
    found: list[Descriptor] = []
    todo = [
        m
        for name in files
        for m in importlib.import_module(f"dualdraw.v1.{name}_pb2").DESCRIPTOR.message_types_by_name.values()
    ]
    while todo:
        message = todo.pop()
        found.append(message)
        todo.extend(message.nested_types)
    return found


def test_no_day_travels_as_a_string_in_the_reshaped_files() -> None:
    strings = [
        f"{m.full_name}.{f.name}"
        for m in _messages_of(RESHAPED)
        for f in m.fields
        if f.type == f.TYPE_STRING and f.name.endswith(DAY_NAMES)
    ]
    assert strings == []


def test_every_resource_of_the_reshaped_files_has_an_identifier_name_and_its_get_takes_it() -> None:
    resources = [m for m in _messages_of(RESHAPED) if m.GetOptions().HasExtension(resource_pb2.resource)]
    assert len(resources) >= 12
    for message in resources:
        name = message.fields_by_name.get("name")
        assert name is not None, message.full_name
        behaviour = name.GetOptions().Extensions[field_behavior_pb2.field_behavior]
        assert list(behaviour) == [field_behavior_pb2.IDENTIFIER], message.full_name
    by_type = {m.full_name for m in resources}
    for name in RESHAPED:
        for service in importlib.import_module(
            f"dualdraw.v1.{name}_pb2"
        ).DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                if method.name.startswith("Get") and method.output_type.full_name in by_type:
                    assert [f.name for f in method.input_type.fields] == ["name"], method.full_name
