"""Telemetry every process shares: the call's request id in log lines, the log format, Prometheus metrics.

Metrics (served on ``DUALDRAW_METRICS_ADDRESS``, a separate HTTP port): ``dualdraw_rpc_seconds`` (latency
per method and code), ``dualdraw_rpc_errors_total`` (per method and code), ``dualdraw_draw_seconds`` (draw
latency), ``dualdraw_rule_evaluation_seconds`` (time in the rules engine), ``dualdraw_denials_total`` (every
refused call, by reason — ``unauthenticated``, ``role``, ``jurisdiction``, ``unfiltered`` — and whether it was
throttled). Every call, refused or not, is counted in ``dualdraw_rpc_seconds``.
Nothing here knows gRPC: the server's interceptors and the draw process both use it.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from prometheus_client import Counter, Histogram, start_http_server

REQUEST_ID_METADATA_KEY = "x-request-id"
CALL_REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("dualdraw_request_id", default="")
"""The request id of the call this thread serves (set by the server's interceptor, or by the draw process)."""

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
    return CALL_REQUEST_ID.get()


@contextlib.contextmanager
def request_id_bound(request_id: str) -> Iterator[None]:
    """Within the block, log lines carry ``request_id`` (the draw process: its parent's call)."""
    token = CALL_REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        CALL_REQUEST_ID.reset(token)


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


E = TypeVar("E")


def time_rule_evaluation(engine: E) -> E:
    """Makes ``engine.evaluate`` report its duration to ``dualdraw_rule_evaluation_seconds``."""
    evaluate: Callable[..., Any] = getattr(engine, "evaluate")  # noqa: B009 -- any matcher with evaluate()

    def timed(*args: Any, **kwargs: Any) -> Any:
        with RULE_SECONDS.time():
            return evaluate(*args, **kwargs)

    setattr(engine, "evaluate", timed)  # noqa: B010 -- instance attribute shadows the method on purpose
    return engine
