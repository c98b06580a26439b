"""Every field of every request and resource message of dualdraw.v1 carries a ``google.api.field_behavior``
annotation (AIP-203), so none is forgotten when a field is added. Response messages (``…Response``) are
exempt: their fields are all output (docs/API.md "Field behaviour")."""

import importlib
import pkgutil

from google.api import field_behavior_pb2
from google.protobuf.descriptor import Descriptor

import dualdraw.v1

NOT_YET_ANNOTATED = frozenset(
    f"dualdraw/v1/{name}.proto"
    for name in (
        "deliveries",
        "directory",
        "draws",
        "evidence",
        "experts",
        "filings",
        "follow_ups",
        "plans",
        "public",
        "publication",
        "rules",
        "verification",
    )
)
"""Proto files (``dualdraw/v1/<name>.proto``) whose fields are still to be annotated."""


def _messages(descriptor: Descriptor) -> list[Descriptor]:
    nested = [m for n in descriptor.nested_types if not n.GetOptions().map_entry for m in _messages(n)]
    return [descriptor, *nested]


def _all_messages() -> list[Descriptor]:
    found: list[Descriptor] = []
    for module_info in pkgutil.iter_modules(dualdraw.v1.__path__):
        if not module_info.name.endswith("_pb2") or module_info.name.endswith("_grpc"):
            continue
        module = importlib.import_module(f"dualdraw.v1.{module_info.name}")
        for message in module.DESCRIPTOR.message_types_by_name.values():
            found.extend(_messages(message))
    return found


def test_every_request_and_resource_field_has_a_field_behaviour() -> None:
    messages = _all_messages()
    assert len(messages) > 100
    missing = [
        f"{message.full_name}.{field.name}"
        for message in messages
        if not message.name.endswith("Response") and message.file.name not in NOT_YET_ANNOTATED
        for field in message.fields
        if not field.GetOptions().Extensions[field_behavior_pb2.field_behavior]
    ]
    assert missing == [], f"fields without (google.api.field_behavior): {missing}"
