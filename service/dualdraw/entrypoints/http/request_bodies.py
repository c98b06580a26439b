"""Request bodies as HTTP/1.1 sends them: a ``Content-Length`` or chunked transfer coding (``http.server``
decodes neither), read lazily so a streaming import never sits in memory whole."""

from __future__ import annotations

from typing import IO


class LengthBody:
    """The request body when it has a ``Content-Length``: reads stop at its end."""

    def __init__(self, raw: IO[bytes], length: int) -> None:
        self._raw = raw
        self.left = length
        self.cut_off = False  # the caller stopped sending before the end

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        data = self._raw.read(size) if size > 0 else b""
        self.left -= len(data)
        if len(data) < size:  # a buffered read comes back short only at the end of the stream
            self.cut_off, self.left = True, 0
        return data


class ChunkedBody:
    """The request body in HTTP/1.1 chunked transfer coding (what streaming clients send)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._left = 0
        self._done = False

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while not self._done and (size < 0 or len(out) < size):
            if self._left == 0:
                line = self._raw.readline(1024).split(b";", 1)[0].strip()
                self._left = int(line or b"0", 16)
                if self._left == 0:
                    while self._raw.readline(1024).strip():  # trailers, then the blank line
                        pass
                    self._done = True
                    break
            want = self._left if size < 0 else min(self._left, size - len(out))
            data = self._raw.read(want)
            if not data:
                raise ValueError("the chunked body ends early")
            out += data
            self._left -= len(data)
            if self._left == 0:
                self._raw.readline(8)  # the CRLF after a chunk
        return bytes(out)
