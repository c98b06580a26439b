"""Checks every request's text before anything else reads it: no NUL or other control characters (PostgreSQL
cannot store NUL; neither belongs in any field of this API) and no string longer than ``MAX_STRING``.
Violations are ``INVALID_ARGUMENT`` with the field's path (``objects[3].name``). Field-specific checks
(credit codes, region codes, dates, ratios, enums) stay with the conversions in ``api.convert``."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
from typing import Any, cast

import grpc
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from dualdraw.domain.errors import Violations
from dualdraw.entrypoints.grpc.object_fields import ObjectFields, object_fields, parse_chunk
from dualdraw.entrypoints.grpc.wrapping import Behaviour, Shape, wrap_handler
from dualdraw.v1 import directory_pb2

MAX_STRING = 100_000
IMPORT_DIRECTORY = "/dualdraw.v1.DirectoryService/ImportDirectory"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters other than tab, line feed and carriage return."""


def _text_problem(value: str) -> str | None:
    if len(value) > MAX_STRING:
        return f"is longer than {MAX_STRING} characters"
    if _CONTROL.search(value):
        return "contains control characters"
    return None


def check_message(message: Message, path: str, v: Violations) -> None:
    """Adds a violation for every bad string in ``message`` (recursively), named by its path.

    Runs over every record of a large import: first one field at a time across all records (``_all_clean``,
    a few C-level passes); only a message with a bad string is walked record by record to name the paths.
    """
    descriptor = cast(Descriptor, message.DESCRIPTOR)  # typed as the union of the pure and upb classes
    if not _all_clean([message], descriptor):
        _name_problems(message, path, v)


def _all_clean(messages: Sequence[Message], descriptor: Descriptor) -> bool:
    """True when no string in ``messages`` (all of type ``descriptor``, nested messages included) is too long
    or holds a control character. All strings of the messages are checked together: their longest length,
    and one search of their concatenation (joining cannot create or hide a control character). Each field
    is read in one C-level pass over the messages (``_Fields``)."""
    fields = _fields_of(descriptor)
    texts: list[str] = []
    if fields.strings is not None:
        if fields.several_strings:
            texts.extend(chain.from_iterable(map(fields.strings, messages)))
        else:
            texts.extend(map(fields.strings, messages))
    for read in fields.repeated_strings:
        texts.extend(chain.from_iterable(map(read, messages)))
    if not _texts_clean(texts):
        return False
    for name, nested_type, repeated in fields.messages:
        if repeated and len(messages) == 1 and nested_type.full_name == _OBJECT:
            # an import chunk's objects: read once, for this check and the conversion (``object_fields``)
            if not _objects_clean(object_fields(getattr(messages[0], name))):
                return False
            continue
        if repeated:
            nested = list(chain.from_iterable(map(attrgetter(name), messages)))
        else:
            nested = [getattr(m, name) for m in messages if m.HasField(name)]
        if nested and not _all_clean(nested, nested_type):
            return False
    return True


_OBJECT = directory_pb2.InspectionObject.DESCRIPTOR.full_name
"""Objects hold no nested message: ``ObjectFields.texts`` is every string of one."""


def _objects_clean(fields: ObjectFields) -> bool:
    """``_texts_clean`` of every string of an import chunk's objects, known already when they were read
    from the wire (``parse_chunk``)."""
    if fields.longest is None or fields.control_characters is None:
        return _texts_clean(list(fields.texts()))
    return fields.longest <= MAX_STRING and not fields.control_characters


def _texts_clean(texts: Sequence[str]) -> bool:
    return not texts or (max(map(len, texts)) <= MAX_STRING and not _has_control_character("".join(texts)))


def _has_control_character(text: str) -> bool:
    """``_CONTROL.search(text)``, first tried as ``str.isprintable`` (three times faster): true of a text with
    no control character, tab or line break, nor any other non-printing character (a Chinese name's
    ideographic space, say), which the search then settles."""
    return not text.isprintable() and _CONTROL.search(text) is not None


@dataclass(frozen=True)
class _Fields:
    """How ``_all_clean`` reads the fields of one message type."""

    strings: Callable[[Message], Any] | None
    """All singular string fields at once (a tuple when ``several_strings``, else the one string)."""
    several_strings: bool
    repeated_strings: list[Callable[[Message], Any]]
    messages: list[tuple[str, Descriptor, bool]]
    """Nested message fields (map entries excluded): name, type, whether repeated."""


@functools.cache
def _fields_of(descriptor: Descriptor) -> _Fields:
    singular = [
        f.name for f in descriptor.fields if f.type == FieldDescriptor.TYPE_STRING and not f.is_repeated
    ]
    return _Fields(
        strings=attrgetter(*singular) if singular else None,
        several_strings=len(singular) > 1,
        repeated_strings=[
            attrgetter(f.name)
            for f in descriptor.fields
            if f.type == FieldDescriptor.TYPE_STRING and f.is_repeated
        ],
        messages=[
            (f.name, f.message_type, f.is_repeated)
            for f in descriptor.fields
            if f.type == FieldDescriptor.TYPE_MESSAGE
            and f.message_type is not None
            and not f.message_type.GetOptions().map_entry
        ],
    )


def _name_problems(message: Message, path: str, v: Violations) -> None:
    """``check_message`` one record at a time, adding each violation with its field's path."""
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                continue
            name = f"{path}.{field.name}" if path else field.name
            if field.is_repeated:
                for n, item in enumerate(value):
                    _name_problems(item, f"{name}[{n}]", v)
            else:
                _name_problems(value, name, v)
        elif field.type == FieldDescriptor.TYPE_STRING:
            for n, item in enumerate(value if field.is_repeated else (value,)):
                problem = _text_problem(item)
                if problem:
                    name = f"{path}.{field.name}" if path else field.name
                    reason = "VALUE_TOO_LONG" if len(item) > MAX_STRING else "CONTROL_CHARACTERS"
                    v.add(f"{name}[{n}]" if field.is_repeated else name, problem, reason=reason)


def _checked(request: Message) -> Message:
    v = Violations()
    check_message(request, "", v)
    v.raise_if_any()
    return request


class RequestValidationInterceptor(grpc.ServerInterceptor):
    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith("/grpc."):
            return handler
        validating = wrap_handler(handler, _validating)
        if handler_call_details.method != IMPORT_DIRECTORY:
            return validating
        # the chunks' objects are read (and their text checked) from the bytes as they are parsed
        reading: grpc.RpcMethodHandler[Any, Any] = validating._replace(  # type: ignore[attr-defined]  # a named tuple at run time
            request_deserializer=parse_chunk
        )
        return reading


def _validating(behaviour: Behaviour, shape: Shape) -> Behaviour:
    if shape.startswith("stream_"):

        def streaming(requests: Iterator[Message], context: grpc.ServicerContext) -> Any:
            return behaviour((_checked(r) for r in requests), context)

        return streaming

    def unary(request: Message, context: grpc.ServicerContext) -> Any:
        return behaviour(_checked(request), context)

    return unary
