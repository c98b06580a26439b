"""A browser calls the HTTP/JSON API with ``fetch`` from a page of another origin (headless Chromium, Debian's
package): the demo draw path and a validation error from an allowed origin, and nothing from an origin the
server does not allow (CORS).

Needs /usr/bin/chromium and /usr/bin/chromedriver, like the site test: skipped without them locally, a failure
with ``DUALDRAW_REQUIRE_BROWSER=1`` (set by .ci/run).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dualdraw.entrypoints.grpc.server import create_server
from dualdraw.service_layer.demo_directory import HIGH_TECH_ZONE
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.settings import Settings
from tests.e2e.conftest import RULES

from .test_site_browser import browser  # noqa: F401 - the Chromium fixture

PAGE = b"<!doctype html><html><head><meta charset='utf-8'><title>bureau system</title></head></html>"

# Runs in the page: the demo draw path over fetch, then a refused request; hands back what it read.
DRAW_PATH = """
const [api, task, done] = arguments;
const call = async (method, body) => {
  const response = await fetch(`${api}/dualdraw.v1.${method}`, {
    method: "POST",
    headers: {"Content-Type": "application/json", "x-dualdraw-actor": "browser-user"},
    body: JSON.stringify(body),
  });
  return {status: response.status, body: await response.json(),
          requestId: response.headers.get("trailer-x-request-id")};
};
(async () => {
  const created = await call("TaskService/CreateTask", {task});
  const asOf = {year: 2026, month: 12, day: 1};
  const draw = await call("DrawService/Draw", {taskId: created.body.id, asOf});
  const got = await call("DrawService/GetDraw", {name: draw.body.draw.name});
  const page = await call("DrawService/ListDraws", {pageSize: 1});
  const refused = await call("TaskService/CreateTask", {task: {...task, ratio: {value: "7"}}});
  done({created, draw, got, page, refused});
})().catch((error) => done({error: String(error)}));
"""
BLOCKED = """
const [api, done] = arguments;
fetch(`${api}/dualdraw.v1.DrawService/ListDraws`, {
  method: "POST", headers: {"Content-Type": "application/json"}, body: "{}",
}).then((r) => done({status: r.status}), (error) => done({error: String(error)}));
"""


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def page_origins() -> Iterator[tuple[str, str]]:
    """Two origins serving a blank page: the first is allowed to call the API, the second is not."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Page) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        allowed, other = (f"http://127.0.0.1:{s.server_address[1]}" for s in servers)
        yield allowed, other
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_a_page_of_an_allowed_origin_draws_with_fetch(
    browser: Any,  # noqa: F811 - the imported fixture
    page_origins: tuple[str, str],
    database_url: str,
) -> None:
    allowed, other = page_origins
    settings = Settings(
        database_url=database_url,
        rules_path=RULES,
        address="127.0.0.1:0",
        auth="off",
        allow_local_entropy=True,
        draw_process="off",
        http_address="127.0.0.1:0",
        http_cors_origins=allowed,
    )
    running = create_server(settings)
    try:
        load_demo(running.services.unit_of_work)
        assert running.http is not None
        api = f"http://127.0.0.1:{running.http.port}"
        task = {
            "itemCode": "TS-SE-01",
            "departmentId": HIGH_TECH_ZONE,
            "ratio": {"value": "0.1"},
            "teamSize": 2,
        }
        browser.set_script_timeout(60)
        browser.get(allowed)
        seen = browser.execute_async_script(DRAW_PATH, api, task)
        assert "error" not in seen, seen
        assert seen["created"]["status"] == 200
        assert seen["draw"]["status"] == 200
        assert seen["draw"]["body"]["draw"]["taskId"] == seen["created"]["body"]["id"]
        assert int(seen["draw"]["body"]["draw"]["selectedCount"]) > 0
        assert seen["got"]["body"]["id"] == seen["draw"]["body"]["draw"]["id"]
        assert len(seen["page"]["body"]["draws"]) == 1
        assert seen["draw"]["requestId"]  # an exposed header the page may read
        refused = seen["refused"]
        assert refused["status"] == 400
        assert refused["body"]["code"] == "invalid_argument"
        [bad_request] = [
            d["debug"] for d in refused["body"]["details"] if d["type"] == "google.rpc.BadRequest"
        ]
        assert [v["field"] for v in bad_request["fieldViolations"]] == ["task.ratio"]

        browser.get(other)
        blocked = browser.execute_async_script(BLOCKED, api)
        assert "Failed to fetch" in blocked.get("error", ""), blocked
    finally:
        running.stop(grace=1)
