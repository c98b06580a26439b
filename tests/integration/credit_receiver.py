"""A local credit-system endpoint for tests: a threading HTTP server that acknowledges with a receipt (the
same receipt again for a repeated ``Idempotency-Key``), fails with 500, refuses with 422 or never answers,
as the test plans it, and keeps every request it was sent."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    """What the local credit system answers, in order (then ``ack``), and what it was sent."""

    plan: list[str] = field(default_factory=list)  # "ack", "fail" (500), "refuse" (422), "hang"
    refuse_if: Callable[[dict[str, Any]], bool] | None = None  # documents refused whatever the plan says
    hang_s: float = 3.0
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    receipts: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> receipt (duplicates dropped)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def credit_receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.requests.append((dict(self.headers.items()), body))
                answer = state.plan.pop(0) if state.plan else "ack"
                if state.refuse_if is not None and state.refuse_if(body):
                    answer = "refuse"
            if answer == "hang":
                time.sleep(state.hang_s)
                return
            if answer in ("fail", "refuse"):
                self._answer(500 if answer == "fail" else 422, {"error": f"{answer} on purpose"})
                return
            key = self.headers["Idempotency-Key"]
            with state.lock:
                receipt = state.receipts.setdefault(key, f"R-{len(state.receipts) + 1}")
            self._answer(201, {"receipt": receipt})

        def _answer(self, status: int, document: dict[str, str]) -> None:
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/credit-records"
    thread = threading.Thread(target=server.serve_forever, name="credit-receiver", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
