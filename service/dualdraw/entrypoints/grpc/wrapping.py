"""Wrapping the behaviour of a gRPC method handler, whatever its streaming shape (for interceptors)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import grpc

Shape = Literal["unary_unary", "unary_stream", "stream_unary", "stream_stream"]
Behaviour = Callable[[Any, grpc.ServicerContext], Any]
Wrapper = Callable[[Behaviour, Shape], Behaviour]


def wrap_handler(handler: Any, wrapper: Wrapper) -> grpc.RpcMethodHandler[Any, Any]:
    """``handler`` with its behaviour replaced by ``wrapper(behaviour, shape)``.

    At run time a handler is grpc's ``_RpcMethodHandler`` named tuple, hence ``_replace``.
    """
    for shape in ("unary_unary", "unary_stream", "stream_unary", "stream_stream"):
        behaviour = getattr(handler, shape)
        if behaviour is not None:
            wrapped: grpc.RpcMethodHandler[Any, Any] = handler._replace(**{shape: wrapper(behaviour, shape)})
            return wrapped
    return handler  # type: ignore[no-any-return]  # a handler without behaviour: nothing to wrap
