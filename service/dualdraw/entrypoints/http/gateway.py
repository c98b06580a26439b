"""The HTTP/JSON gateway: every ``dualdraw.v1`` method as a Connect-protocol endpoint on a second port.

``POST /dualdraw.v1.DrawService/GetDraw`` with a JSON body (protobuf's JSON mapping: lowerCamelCase names,
int64 as strings) is forwarded, as it is, to the process's own gRPC server over a private Unix socket,
with the caller's ``Authorization``, ``x-dualdraw-actor`` and ``x-request-id`` headers as metadata and its
``Connect-Timeout-Ms`` as the deadline. So authentication, authorization, validation, idempotency
(``request_id``), deadlines and error details are the gRPC server's own, through the same interceptors: the
gateway only translates. Streaming methods use Connect's enveloped streams (``application/connect+json``).
``GET /openapi.json`` serves the OpenAPI document (``openapi.py``).
"""

from __future__ import annotations

import json
import logging
import select
import socket
import ssl
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, cast

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import DecodeError, Message

from dualdraw.entrypoints.grpc.security.denials import HTTP_PEER_METADATA_KEY
from dualdraw.entrypoints.http import connect
from dualdraw.entrypoints.http.connect import ProtocolError
from dualdraw.entrypoints.http.request_bodies import ChunkedBody, LengthBody

log = logging.getLogger(__name__)
FORWARDED_HEADERS = ("authorization", "x-dualdraw-actor", "x-request-id")
ALLOWED_REQUEST_HEADERS = (
    "content-type, authorization, connect-protocol-version, connect-timeout-ms, x-dualdraw-actor,"
    " x-request-id, x-user-agent"
)
EXPOSED_HEADERS = "x-request-id, trailer-x-request-id"


@dataclass(frozen=True)
class Route:
    """One gRPC method reachable over HTTP at ``path`` (``/package.Service/Method``)."""

    path: str
    method: MethodDescriptor
    request: type[Message]
    response: type[Message]

    @property
    def streaming(self) -> bool:
        return self.method.client_streaming or self.method.server_streaming


def routes(service_names: Iterable[str]) -> dict[str, Route]:
    """The route of every method of the named services, from the descriptors the server registered."""
    pool = descriptor_pool.Default()
    found: dict[str, Route] = {}
    for name in service_names:
        for method in pool.FindServiceByName(name).methods:
            path = f"/{name}/{method.name}"
            found[path] = Route(
                path,
                method,
                message_factory.GetMessageClass(method.input_type),
                message_factory.GetMessageClass(method.output_type),
            )
    return found


def tls_context(cert: Path, key: Path, client_ca: Path | None) -> ssl.SSLContext:
    """The HTTP port's TLS: the gRPC server's certificate and key; with a client CA, clients must show a
    certificate signed by it (mTLS), exactly as on the gRPC port."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    if client_ca is not None:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


class Gateway:
    """Forwards HTTP calls to the gRPC server at ``target``; owns its channel and its HTTP server."""

    def __init__(
        self,
        target: str,
        service_names: Iterable[str],
        *,
        openapi: bytes,
        cors_origins: frozenset[str] = frozenset(),
        max_message_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.routes = routes(service_names)
        self.openapi = openapi
        self.cors_origins = cors_origins
        self.max_message_bytes = max_message_bytes
        self.channel = grpc.insecure_channel(
            target,
            options=[
                ("grpc.max_receive_message_length", max_message_bytes),
                ("grpc.max_send_message_length", max_message_bytes),
            ],
        )
        self._http: ThreadingHTTPServer | None = None
        self.stopping = False
        self._forwarding = 0  # calls between their start on the channel and their answer's last byte
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None

    def origin_allowed(self, origin: str) -> bool:
        return origin in self.cors_origins or "*" in self.cors_origins

    def serve(self, address: str, tls: ssl.SSLContext | None = None) -> int:
        """Starts serving HTTP on ``host:port`` (port 0 picks one) in a thread; returns the port."""
        host, _, port = address.rpartition(":")
        host = host.strip("[]")
        server_class = _IPv6Server if ":" in host else _Server
        try:
            http = server_class((host, int(port)), _Handler)
        except OSError as exc:
            raise OSError(f"cannot serve HTTP on {address}: {exc.strerror or exc}") from exc
        if tls is not None:  # the handshake happens in the handler's thread, not in the accepting one
            http.socket = tls.wrap_socket(http.socket, server_side=True, do_handshake_on_connect=False)
        http.gateway = self
        self._http = http
        self._thread = threading.Thread(target=http.serve_forever, name="http-gateway", daemon=True)
        self._thread.start()
        return int(http.server_address[1])

    def stop_accepting(self) -> None:
        """No new connections, and kept-alive ones close after their current call; calls in flight go on
        (the gRPC server's grace bounds them)."""
        self.stopping = True
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    @contextmanager
    def forwarding(self) -> Iterator[None]:
        """Marks one call as in flight until its answer is written to the caller."""
        with self._idle:
            self._forwarding += 1
        try:
            yield
        finally:
            with self._idle:
                self._forwarding -= 1
                self._idle.notify_all()

    def close(self, wait_s: float = 5.0) -> None:
        """Stops accepting, waits up to ``wait_s`` for forwarded calls to be answered, then closes the
        channel: calls still in flight are cancelled. Call it after the gRPC server has stopped, so the
        wait covers only answers on their way back (the server's last answer would otherwise be cut off
        by the channel closing under it and reach the caller as CANCELLED)."""
        self.stop_accepting()
        with self._idle:
            self._idle.wait_for(lambda: self._forwarding == 0, timeout=wait_s)
        self.channel.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    gateway: Gateway

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that fails (a TLS handshake without a client certificate, a caller gone) is the
        caller's problem: logged at debug level, not printed."""
        log.debug("HTTP connection from %s failed", client_address, exc_info=True)


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    """One HTTP connection; ``self.server.gateway`` does the forwarding."""

    protocol_version = "HTTP/1.1"
    server_version = "dualdraw"
    timeout = 120  # seconds a connection may sit idle in a read or a write
    disable_nagle_algorithm = True  # headers and body leave in separate writes: no 40 ms delayed-ACK stall
    server: _Server
    _request_body: LengthBody | ChunkedBody

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def parse_request(self) -> bool:
        """Also opens the request's body, once, for whichever method reads it."""
        if not super().parse_request():
            return False
        if self.server.gateway.stopping:
            self.close_connection = True
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._request_body = ChunkedBody(cast(IO[bytes], self.rfile))
            return True
        length = self.headers.get("Content-Length") or "0"
        if not length.isdigit():
            self.send_error(HTTPStatus.BAD_REQUEST, "bad Content-Length")
            return False
        self._request_body = LengthBody(cast(IO[bytes], self.rfile), int(length))
        return True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http %s " + format, self.client_address[0], *args)

    # -- entry points --------------------------------------------------------------------------------

    def do_OPTIONS(self) -> None:
        origin = self.headers.get("Origin", "")
        if not origin or not self.server.gateway.origin_allowed(origin):
            self._refuse(_origin_refused(origin))
            return
        self.send_response(HTTPStatus.NO_CONTENT)
        self._cors_headers(origin)
        self.send_header("Access-Control-Allow-Methods", "POST, GET")
        self.send_header("Access-Control-Allow-Headers", ALLOWED_REQUEST_HEADERS)
        self.send_header("Access-Control-Max-Age", "7200")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        if not self._origin_ok():
            return
        if self.path.split("?", 1)[0] != "/openapi.json":
            self._refuse(_not_found(self.path))
            return
        self._send_body(200, "application/json", self.server.gateway.openapi)

    def do_POST(self) -> None:
        if not self._origin_ok():
            return
        route = self.server.gateway.routes.get(self.path)
        if route is None:
            self._drain()
            self._refuse(_not_found(self.path))
            return
        content_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        try:
            encoding = self.headers.get("Connect-Content-Encoding") or self.headers.get("Content-Encoding")
            if encoding not in (None, "", "identity"):
                raise ProtocolError(
                    grpc.StatusCode.UNIMPLEMENTED,
                    f"unsupported encoding {encoding}",
                    reason="ENCODING_NOT_SUPPORTED",
                )
            timeout = connect.timeout_s(self.headers.get(connect.TIMEOUT_HEADER))
        except ProtocolError as error:
            self._drain()
            self._refuse(error)
            return
        if route.streaming:
            if content_type not in (connect.STREAM_JSON, connect.STREAM_PROTO):
                self._drain()
                self._unsupported_media(f"{route.path} streams: send {connect.STREAM_JSON}")
                return
            with self.server.gateway.forwarding():
                self._stream(route, content_type == connect.STREAM_JSON, timeout)
            return
        if content_type not in (*connect.JSON_TYPES, *connect.PROTO_TYPES):
            self._drain()
            self._unsupported_media("send application/json (or application/proto)")
            return
        with self.server.gateway.forwarding():
            self._unary(route, content_type in connect.JSON_TYPES, timeout)

    # -- forwarding ----------------------------------------------------------------------------------

    def _metadata(self) -> tuple[tuple[str, str | bytes], ...]:
        metadata: list[tuple[str, str | bytes]] = [
            (k, v) for k in FORWARDED_HEADERS if (v := self.headers.get(k)) is not None
        ]
        metadata.append((HTTP_PEER_METADATA_KEY, str(self.client_address[0])))
        return tuple(metadata)

    def _unary(self, route: Route, as_json: bool, timeout: float | None) -> None:
        try:
            request = _decode(route.request, self._body(), as_json)
        except ProtocolError as error:
            self._refuse(error)
            return
        rpc: grpc.UnaryUnaryMultiCallable[bytes, bytes] = self.server.gateway.channel.unary_unary(route.path)
        call = rpc.future(request, timeout=timeout, metadata=self._metadata())
        finished = threading.Event()
        call.add_done_callback(lambda _: finished.set())
        while not finished.wait(0.1):
            if self._caller_gone():  # cancels the call: the server checks that before it commits
                call.cancel()
                self.close_connection = True
                return
        try:
            payload = call.result()
        except grpc.RpcError as failure:
            code, message, trailers = connect.error_metadata(failure)
            self._send_error(code, message, trailers)
            return
        headers = connect.public_metadata(call.initial_metadata() or ())
        headers += [(f"trailer-{k}", v) for k, v in connect.public_metadata(call.trailing_metadata() or ())]
        body = _encode(route.response, payload, as_json)
        self._send_body(200, "application/json" if as_json else "application/proto", body, headers)

    def _stream(self, route: Route, as_json: bool, timeout: float | None) -> None:
        gateway = self.server.gateway
        frames = connect.read_envelopes(self._request_body, gateway.max_message_bytes)
        failure: list[ProtocolError] = []

        def requests() -> Iterator[bytes]:
            try:
                for frame in frames:
                    yield _decode(route.request, frame, as_json)
            except ProtocolError as error:  # reported instead of the CANCELLED the channel would show
                failure.append(error)
                raise

        metadata = self._metadata()
        try:
            if route.method.client_streaming:
                stream: grpc.StreamUnaryMultiCallable[bytes, bytes] = gateway.channel.stream_unary(route.path)
                payload, call = stream.with_call(requests(), timeout=timeout, metadata=metadata)
                responses: Iterator[bytes] = iter([payload])
            else:
                first = next(requests(), None)
                if failure:
                    raise failure[0]
                if first is None or next(frames, None) is not None:
                    raise ProtocolError(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        f"{route.path} takes exactly one request frame",
                        reason=connect.FRAME_INVALID,
                    )
                server_stream: grpc.UnaryStreamMultiCallable[bytes, bytes] = gateway.channel.unary_stream(
                    route.path
                )
                call = server_stream(first, timeout=timeout, metadata=metadata)
                responses = call
        except ProtocolError as error:
            self._drain()
            self._start_stream(as_json, [])
            self._end_stream(error.body(), [])
            return
        except grpc.RpcError as error:
            self._drain()
            code, message, trailers = connect.error_metadata(error)
            self._start_stream(as_json, [])
            body = failure[0].body() if failure else connect.error_json(code, message, trailers)
            self._end_stream(body, connect.public_metadata(trailers))
            return
        self._relay(route, call, responses, as_json)

    def _relay(self, route: Route, call: Any, responses: Iterator[bytes], as_json: bool) -> None:
        """Writes each response as a frame, then the end-of-stream frame with the outcome and trailers."""
        error: dict[str, Any] | None = None
        started = False
        try:
            for payload in responses:
                if not started:
                    self._start_stream(as_json, connect.public_metadata(call.initial_metadata() or ()))
                    started = True
                self._chunk(connect.envelope(0, _encode(route.response, payload, as_json)))
        except grpc.RpcError as failure:
            code, message, _ = connect.error_metadata(failure)
            error = connect.error_json(code, message, call.trailing_metadata() or ())
        except OSError:  # the caller went away: stop the call
            call.cancel()
            return
        if not started:
            self._start_stream(as_json, [])
        try:
            self._end_stream(error, connect.public_metadata(call.trailing_metadata() or ()))
        except OSError:
            return

    # -- HTTP plumbing -------------------------------------------------------------------------------

    def _caller_gone(self) -> bool:
        """Whether the caller closed its connection while its call runs (it has sent all of its request,
        so a readable socket with nothing to read means it hung up). Not seen under TLS: there the call
        runs to its end, bounded by its deadline."""
        connection = self.connection
        if isinstance(connection, ssl.SSLSocket):
            return False
        try:
            readable, _, _ = select.select([connection], [], [], 0)
            return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _origin_ok(self) -> bool:
        """A browser call from an origin not allowed is refused before anything runs (no CORS headers)."""
        origin = self.headers.get("Origin")
        if origin is None or self.server.gateway.origin_allowed(origin):
            return True
        self._drain()
        self._refuse(_origin_refused(origin))
        return False

    def _cors_headers(self, origin: str | None = None) -> None:
        origin = origin if origin is not None else self.headers.get("Origin")
        if origin and self.server.gateway.origin_allowed(origin):
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Expose-Headers", EXPOSED_HEADERS)
            self.send_header("Vary", "Origin")

    def _body(self) -> bytes:
        limit = self.server.gateway.max_message_bytes
        reader = self._request_body
        body = reader.read(limit + 1)
        if isinstance(reader, LengthBody) and reader.cut_off:  # never forward a part of a request
            self.close_connection = True
            raise ProtocolError(
                grpc.StatusCode.INVALID_ARGUMENT,
                "the body ended before its Content-Length",
                reason="MALFORMED_REQUEST",
            )
        if len(body) > limit:
            self.close_connection = True
            raise ProtocolError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"the body is over the limit of {limit} bytes",
                reason="REQUEST_TOO_LARGE",
                http_status=413,
            )
        return body

    def _drain(self) -> None:
        """Reads what is left of the request body so the connection can serve the next request."""
        try:
            reader = self._request_body
            while reader.read(65536):
                pass
        except (OSError, ValueError):
            self.close_connection = True

    def _send_body(
        self, status: int, content_type: str, body: bytes, headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers:
            self.send_header(key, value)
        self._cors_headers()
        self.end_headers()
        self.wfile.write(body)

    def _send_error(self, code: grpc.StatusCode, message: str, trailers: Sequence[tuple[str, Any]]) -> None:
        """A gRPC failure as a unary Connect error: its code's HTTP status, the details as JSON."""
        body = json.dumps(connect.error_json(code, message, trailers), ensure_ascii=False).encode()
        headers = [(f"trailer-{k}", v) for k, v in connect.public_metadata(trailers)]
        self._send_body(connect.http_status(code), "application/json", body, headers)

    def _unsupported_media(self, message: str) -> None:
        self._refuse(
            ProtocolError(
                grpc.StatusCode.UNIMPLEMENTED, message, reason="CONTENT_TYPE_NOT_SUPPORTED", http_status=415
            )
        )

    def _refuse(self, error: ProtocolError) -> None:
        body = json.dumps(error.body(), ensure_ascii=False).encode()
        self._send_body(error.http_status or connect.http_status(error.code), "application/json", body)

    def _start_stream(self, as_json: bool, headers: Sequence[tuple[str, str]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", connect.STREAM_JSON if as_json else connect.STREAM_PROTO)
        self.send_header("Transfer-Encoding", "chunked")
        for key, value in headers:
            self.send_header(key, value)
        self._cors_headers()
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _end_stream(self, error: dict[str, Any] | None, trailers: Sequence[tuple[str, str]]) -> None:
        self._chunk(connect.end_stream(error, trailers))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _decode(message_class: type[Message], body: bytes, as_json: bool) -> bytes:
    """The request's wire bytes: JSON parsed with protobuf's JSON mapping (unknown fields refused), or
    binary protobuf checked to parse."""
    try:
        if as_json:
            message = json_format.Parse(body.decode("utf-8") or "{}", message_class())
        else:
            message = message_class.FromString(body)
    except (json_format.ParseError, UnicodeDecodeError, DecodeError) as exc:
        raise ProtocolError(
            grpc.StatusCode.INVALID_ARGUMENT, f"the request does not parse: {exc}", reason="MALFORMED_REQUEST"
        ) from exc
    return message.SerializeToString()


def _origin_refused(origin: str | None) -> ProtocolError:
    return ProtocolError(
        grpc.StatusCode.PERMISSION_DENIED,
        f"origin {origin or '(none)'} may not call this API (DUALDRAW_HTTP_CORS_ORIGINS)",
        reason="ORIGIN_NOT_ALLOWED",
    )


def _not_found(path: str) -> ProtocolError:
    return ProtocolError(
        grpc.StatusCode.UNIMPLEMENTED, f"no such method: {path}", reason="METHOD_NOT_FOUND", http_status=404
    )


def _encode(message_class: type[Message], payload: bytes, as_json: bool) -> bytes:
    if not as_json:
        return payload
    text = json_format.MessageToJson(message_class.FromString(payload), indent=None, ensure_ascii=False)
    return text.encode("utf-8")
