"""Operations: one structured log line per call (with its request id), Prometheus metrics, deadlines.

Metrics (served on ``DUALDRAW_METRICS_ADDRESS``, a separate HTTP port): ``dualdraw_rpc_seconds`` (latency
per method and code), ``dualdraw_rpc_errors_total`` (per method and code), ``dualdraw_draw_seconds`` (draw
latency), ``dualdraw_rule_evaluation_seconds`` (time in the rules engine), ``dualdraw_denials_total`` (every
refused call, by reason — ``unauthenticated``, ``role``, ``jurisdiction``, ``unfiltered`` — and whether it was
throttled). Every call, refused or not, is counted in ``dualdraw_rpc_seconds``.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from prometheus_client import Counter, Histogram, start_http_server

from dualdraw import deadlines
from dualdraw.api.wrapping import Behaviour, Shape, wrap_handler
from dualdraw.rules.engine import ExclusionEngine

log = logging.getLogger("dualdraw.access")
REQUEST_ID_METADATA_KEY = "x-request-id"
_REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("dualdraw_request_id", default="")

RPC_SECONDS = Histogram("dualdraw_rpc_seconds", "gRPC call latency", ["method", "code"])
RPC_ERRORS = Counter("dualdraw_rpc_errors_total", "gRPC calls that ended in an error", ["method", "code"])
DRAW_SECONDS = Histogram(
    "dualdraw_draw_seconds", "latency of Draw calls", buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
)
DENIALS = Counter(
    "dualdraw_denials_total",
    "calls refused by authentication or authorization (throttled ones too)",
    ["reason", "throttled"],
)
RULE_SECONDS = Histogram("dualdraw_rule_evaluation_seconds", "time of one rule evaluation (all shards)")
DRAW_METHOD = "/dualdraw.v1.DrawService/Draw"


def current_request_id() -> str:
    return _REQUEST_ID.get()


@contextlib.contextmanager
def request_id_bound(request_id: str) -> Iterator[None]:
    """Within the block, log lines carry ``request_id`` (the draw process: its parent's call)."""
    token = _REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        _REQUEST_ID.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the call's request id, the process when it is
    not the server's main one (``dualdraw-draw-process``), and any extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.processName and record.processName != "MainProcess":
            entry["process"] = record.processName
        request_id = current_request_id()
        if request_id:
            entry["request_id"] = request_id
        call = getattr(record, "call", None)
        if isinstance(call, dict):
            entry.update(call)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(fmt: str, level: int) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def start_metrics_server(address: str) -> Any:
    """Serves ``/metrics`` on ``host:port``; returns the HTTP server (``shutdown()`` stops it)."""
    host, _, port = address.rpartition(":")
    server, _thread = start_http_server(int(port), addr=host.strip("[]") or "127.0.0.1")
    return server


def time_rule_evaluation(engine: ExclusionEngine) -> ExclusionEngine:
    """Makes ``engine.evaluate`` report its duration to ``dualdraw_rule_evaluation_seconds``."""
    evaluate = engine.evaluate

    def timed(*args: Any, **kwargs: Any) -> Any:
        with RULE_SECONDS.time():
            return evaluate(*args, **kwargs)

    setattr(engine, "evaluate", timed)  # noqa: B010 -- instance attribute shadows the method on purpose
    return engine


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
                    with deadlines.started(context.time_remaining()):
                        yield from behaviour(request, context)
                    failed = False
                finally:
                    self._end(method, context, started, failed, token)

            return streaming

        def unary(request: Any, context: grpc.ServicerContext) -> Any:
            token, started = self._begin(context)
            failed = True
            try:
                with deadlines.started(context.time_remaining()):
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
        token = _REQUEST_ID.set(request_id)
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
        _REQUEST_ID.reset(token)
