"""The observability interceptor: one structured log line per call (with its request id), the call's
metrics (``dualdraw.runtime.telemetry`` defines them), its deadline and whether its caller is still there
(``dualdraw.runtime.deadlines``, checked before every commit)."""

from __future__ import annotations

import contextvars
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from dualdraw.entrypoints.grpc.wrapping import Behaviour, Shape, wrap_handler
from dualdraw.runtime import deadlines
from dualdraw.runtime.telemetry import (
    CALL_REQUEST_ID,
    DRAW_METHOD,
    DRAW_SECONDS,
    REQUEST_ID_METADATA_KEY,
    RPC_ERRORS,
    RPC_SECONDS,
)

log = logging.getLogger("dualdraw.access")


def _code_of(context: grpc.ServicerContext, failed: bool) -> str:
    code = context.code() if hasattr(context, "code") else None
    if code is None:
        return "UNKNOWN" if failed else "OK"
    return str(code.name)


class ObservabilityInterceptor(grpc.ServerInterceptor):
    """Outermost interceptor: request id, deadline check, access log line and metrics for every call."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith("/grpc."):
            return handler
        return wrap_handler(handler, lambda behaviour, shape: self._observed(behaviour, shape, method))

    def _observed(self, behaviour: Behaviour, shape: Shape, method: str) -> Behaviour:
        if shape.endswith("_stream"):

            def streaming(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                token, started = self._begin(context)
                failed = True
                try:
                    with deadlines.started(context.time_remaining()), deadlines.watched(context.is_active):
                        yield from behaviour(request, context)
                    failed = False
                finally:
                    self._end(method, context, started, failed, token)

            return streaming

        def unary(request: Any, context: grpc.ServicerContext) -> Any:
            token, started = self._begin(context)
            failed = True
            try:
                with deadlines.started(context.time_remaining()), deadlines.watched(context.is_active):
                    response = behaviour(request, context)
                failed = False
                return response
            finally:
                self._end(method, context, started, failed, token)

        return unary

    @staticmethod
    def _begin(context: grpc.ServicerContext) -> tuple[contextvars.Token[str], float]:
        metadata = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        request_id = metadata.get(REQUEST_ID_METADATA_KEY, "")[:64] or uuid.uuid4().hex
        token = CALL_REQUEST_ID.set(request_id)
        context.set_trailing_metadata(((REQUEST_ID_METADATA_KEY, request_id),))
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "the deadline expired before the call started")
        return token, time.perf_counter()

    @staticmethod
    def _end(
        method: str,
        context: grpc.ServicerContext,
        started: float,
        failed: bool,
        token: contextvars.Token[str],
    ) -> None:
        elapsed = time.perf_counter() - started
        code = _code_of(context, failed)
        RPC_SECONDS.labels(method, code).observe(elapsed)
        if code != "OK":
            RPC_ERRORS.labels(method, code).inc()
        if method == DRAW_METHOD and code == "OK":
            DRAW_SECONDS.observe(elapsed)
        log.info(
            "%s %s %.1f ms",
            method,
            code,
            elapsed * 1000,
            extra={"call": {"method": method, "code": code, "ms": round(elapsed * 1000, 1)}},
        )
        CALL_REQUEST_ID.reset(token)
