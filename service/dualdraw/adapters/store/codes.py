"""The compact form of a draw's code lists (eligible credit codes, inspector pool): one zlib blob each.

A list is newline-joined UTF-8 and then compressed, so a million 18-character credit codes take one row of
a few megabytes instead of a million rows. Order is kept exactly; codes must be non-empty and contain no
newline (credit codes and badge numbers never do).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from itertools import islice

COMPRESSION_LEVEL = 1
"""zlib's fastest level: a 1M draw's entries (22 MB of text) compress in 0.14 s to 7.2 MB, where level 6
takes 0.62 s for 6.3 MB; decompression is as fast either way, and blobs of any level read back the same."""


PACK_PIECE = 65_536
"""Codes joined and compressed at a time by ``pack_codes``: the whole text of a list never exists at once
(a 1M draw's plan lines are ~90 MB of text)."""


def pack_codes(codes: Iterable[str]) -> bytes:
    """``codes`` as one compressed blob, compressed a piece at a time; raises ``ValueError`` for an empty code
    or one with a newline."""
    deflate = zlib.compressobj(COMPRESSION_LEVEL)
    blob: list[bytes] = []
    separator = ""
    it = iter(codes)
    while piece := list(islice(it, PACK_PIECE)):
        text = "\n".join(piece)
        if text.count("\n") != len(piece) - 1 or "" in piece:  # one pass in C; the loop says which
            for code in piece:
                if not code or "\n" in code:
                    message = f"cannot store code {code!r}: codes must be non-empty and contain no newline"
                    raise ValueError(message)
        blob.append(deflate.compress((separator + text).encode("utf-8")))
        separator = "\n"
    blob.append(deflate.flush())
    return b"".join(blob)


def pack_text(pieces: Iterable[bytes]) -> bytes:
    """Pieces of UTF-8 text (lines joined by line feeds, none after a piece's last) as one compressed blob,
    a line feed between pieces: what ``pack_codes`` makes of the same lines, for lines written in C
    (``entry_text``, ``plan_text``) that never exist as strings. The pieces must hold no empty line."""
    deflate = zlib.compressobj(COMPRESSION_LEVEL)
    blob: list[bytes] = []
    separator = b""
    for text in pieces:
        blob.append(deflate.compress(separator + text))
        separator = b"\n"
    blob.append(deflate.flush())
    return b"".join(blob)


def unpack_codes(blob: bytes) -> list[str]:
    """The list ``pack_codes`` was given, in the same order."""
    text = zlib.decompress(blob).decode("utf-8")
    return text.split("\n") if text else []


UNPACK_PIECE = 1 << 20
"""Compressed bytes inflated at a time by ``iter_codes`` (a 10M draw's entries are ~230 MB of text)."""


def iter_codes(blob: bytes) -> Iterator[str]:
    """The codes of ``blob`` one by one, in order, inflating it a piece at a time (never the whole text)."""
    inflate = zlib.decompressobj()
    rest, empty = b"", True
    for start in range(0, len(blob), UNPACK_PIECE):
        rest += inflate.decompress(blob[start : start + UNPACK_PIECE])
        empty = empty and not rest
        *lines, rest = rest.split(b"\n")
        for line in lines:
            yield line.decode("utf-8")
    rest += inflate.flush()
    if not (empty and not rest):
        for line in rest.split(b"\n"):
            yield line.decode("utf-8")
