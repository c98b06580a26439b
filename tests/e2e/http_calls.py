"""Plain HTTP callers of the HTTP/JSON gateway for the tests: the standard library's ``urllib`` and the
``curl`` command, nothing of dualdraw's client. A Connect stream frame is read and written here by hand."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any  # the JSON document, or the raw bytes of a stream

    def reason(self) -> str:
        """The ErrorInfo reason among the error's details."""
        return str(self.detail("google.rpc.ErrorInfo")["reason"])

    def detail(self, kind: str) -> dict[str, Any]:
        found = [d["debug"] for d in self.body.get("details", []) if d["type"] == kind]
        assert found, self.body
        return dict(found[0])


def post(
    base: str, method: str, body: object, headers: dict[str, str] | None = None, *, raw: bytes | None = None
) -> Reply:
    """POSTs a JSON request (or ``raw`` bytes) to ``/<method>`` with urllib."""
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{base}/{method}",
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, reply_headers, payload = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, reply_headers, payload = error.code, dict(error.headers), error.read()
    content_type = reply_headers.get("Content-Type", "")
    return Reply(
        status, reply_headers, json.loads(payload) if content_type == "application/json" else payload
    )


def frame(message: object, flags: int = 0) -> bytes:
    payload = json.dumps(message).encode()
    return struct.pack(">BI", flags, len(payload)) + payload


def frames(data: bytes) -> list[tuple[int, dict[str, Any]]]:
    """The (flags, JSON message) frames of a Connect stream body."""
    out = []
    while data:
        flags, size = struct.unpack(">BI", data[:5])
        out.append((flags, json.loads(data[5 : 5 + size])))
        data = data[5 + size :]
    return out


def post_stream(base: str, method: str, messages: Iterable[object]) -> Reply:
    """A Connect streaming call: the messages as ``application/connect+json`` frames."""
    body = b"".join(frame(m) for m in messages)
    return post(base, method, None, {"Content-Type": "application/connect+json"}, raw=body)


def curl(base: str, method: str, body: object, *headers: str) -> tuple[int, Any]:
    """POSTs with the ``curl`` command: (HTTP status, JSON body)."""
    executable = shutil.which("curl")
    assert executable, "curl is needed (apt-get install curl)"
    command = [executable, "-sS", "-X", "POST", f"{base}/{method}", "-H", "Content-Type: application/json"]
    for header in headers:
        command += ["-H", header]
    command += ["--data-binary", json.dumps(body, ensure_ascii=False), "-w", "\n%{http_code}"]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    text, _, status = done.stdout.rpartition("\n")
    return int(status), json.loads(text)
