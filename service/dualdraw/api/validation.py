"""Checks every request's text before anything else reads it: no NUL or other control characters (PostgreSQL
cannot store NUL; neither belongs in any field of this API) and no string longer than ``MAX_STRING``.
Violations are ``INVALID_ARGUMENT`` with the field's path (``objects[3].name``). Field-specific checks
(credit codes, region codes, dates, ratios, enums) stay with the conversions in ``api.convert``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from dualdraw.api.wrapping import Behaviour, Shape, wrap_handler
from dualdraw.domain.errors import Violations

MAX_STRING = 100_000
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

    Runs over every record of a large import, so a field's path is only spelled out for a nested message
    or a violation.
    """
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                continue
            name = f"{path}.{field.name}" if path else field.name
            if field.is_repeated:
                for n, item in enumerate(value):
                    check_message(item, f"{name}[{n}]", v)
            else:
                check_message(value, name, v)
        elif field.type == FieldDescriptor.TYPE_STRING:
            for n, item in enumerate(value if field.is_repeated else (value,)):
                problem = _text_problem(item)
                if problem:
                    name = f"{path}.{field.name}" if path else field.name
                    v.add(f"{name}[{n}]" if field.is_repeated else name, problem)


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
        return wrap_handler(handler, _validating)


def _validating(behaviour: Behaviour, shape: Shape) -> Behaviour:
    if shape.startswith("stream_"):

        def streaming(requests: Iterator[Message], context: grpc.ServicerContext) -> Any:
            return behaviour((_checked(r) for r in requests), context)

        return streaming

    def unary(request: Message, context: grpc.ServicerContext) -> Any:
        return behaviour(_checked(request), context)

    return unary
