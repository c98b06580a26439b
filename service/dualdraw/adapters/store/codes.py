"""The packed form of a draw's code lists (eligible credit codes, inspector pool, entries, plan rows): one
compressed blob each.

A list is newline-joined UTF-8 and then compressed with Zstandard at level 1, so a million 18-character
credit codes take one row of a few megabytes instead of a million rows. Order is kept exactly; codes must be
non-empty and contain no newline (credit codes and badge numbers never do).

Blobs written before Zstandard are zlib streams; they read back the same (each format is told by its first
bytes: a Zstandard frame starts with its magic number, a zlib stream never does).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Protocol

import zstandard

from dualdraw.domain import framed_text

COMPRESSION_LEVEL = 1
"""Zstandard's fast level 1: a 1M draw's plan rows (51 MB of text) pack in 0.10 s to 13.3 MB, where zlib's
fastest level took 0.38 s for 14.8 MB; its entries, plan and code lists together took some 0.9 s of CPU
with zlib while the draw hashed its commitments on the same two cores."""

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

PACK_PIECE = 65_536
"""Codes joined and compressed at a time by ``pack_codes``: the whole text of a list never exists at once
(a 1M draw's plan lines are ~90 MB of text)."""


def _compressor() -> zstandard.ZstdCompressionObj:
    # zstandard releases the GIL while it compresses: the draw packs in threads beside its other work
    return zstandard.ZstdCompressor(level=COMPRESSION_LEVEL).compressobj()


def pack_codes(codes: Iterable[str]) -> bytes:
    """``codes`` as one compressed blob, compressed a piece at a time; raises ``ValueError`` for an empty code
    or one with a newline. A list of non-empty plain ASCII codes (a draw's eligible set) is written in C with
    the GIL released (``framed_text``): the draw packs it in a thread beside its main one."""
    if isinstance(codes, list) and all(codes) and framed_text.plain(codes):
        return pack_text(
            framed_text.framed_lines(b"", piece, bytes(len(piece)), (b"",))
            for piece in (codes[start : start + PACK_PIECE] for start in range(0, len(codes), PACK_PIECE))
        )
    pack = _compressor()
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
        blob.append(pack.compress((separator + text).encode("utf-8")))
        separator = "\n"
    blob.append(pack.flush())
    return b"".join(blob)


def pack_text(pieces: Iterable[bytes]) -> bytes:
    """Pieces of UTF-8 text (lines joined by line feeds, none after a piece's last) as one compressed blob,
    a line feed between pieces: what ``pack_codes`` makes of the same lines, for lines written in C
    (``entry_text``, ``plan_text``) that never exist as strings. The pieces must hold no empty line."""
    pack = _compressor()
    blob: list[bytes] = []
    separator = b""
    for text in pieces:
        blob.append(pack.compress(separator + text))
        separator = b"\n"
    blob.append(pack.flush())
    return b"".join(blob)


class _Unpacker(Protocol):
    @property
    def eof(self) -> bool: ...

    def decompress(self, data: bytes, /) -> bytes: ...

    def flush(self) -> bytes: ...


def _unpacker(blob: bytes) -> _Unpacker:
    """A streaming decompressor for ``blob``'s format (the frame has no content size for a one-shot call)."""
    if blob.startswith(_ZSTD_MAGIC):
        return zstandard.ZstdDecompressor().decompressobj()
    return zlib.decompressobj()  # written before Zstandard


def _ended(unpacker: _Unpacker) -> bytes:
    """What ``unpacker`` still holds; raises ``ValueError`` when its stream was cut short."""
    rest = unpacker.flush()
    if not unpacker.eof:
        raise ValueError("the packed list is cut short: its compressed stream does not end")
    return rest


def unpack_text(blob: bytes) -> bytes:
    """The text ``blob`` packs (UTF-8, lines joined by line feeds); ``ValueError`` for a blob cut short."""
    unpacker = _unpacker(blob)
    return unpacker.decompress(blob) + _ended(unpacker)


def unpack_codes(blob: bytes) -> list[str]:
    """The list ``pack_codes`` was given, in the same order; ``ValueError`` for a blob cut short."""
    text = unpack_text(blob).decode("utf-8")
    return text.split("\n") if text else []


UNPACK_PIECE = 1 << 20
"""Compressed bytes inflated at a time by ``iter_codes`` (a 10M draw's entries are ~230 MB of text)."""


def iter_codes(blob: bytes) -> Iterator[str]:
    """The codes of ``blob`` one by one, in order, inflating it a piece at a time (never the whole text);
    ``ValueError`` after the last whole line of a blob cut short."""
    unpacker = _unpacker(blob)
    rest, empty = b"", True
    for start in range(0, len(blob), UNPACK_PIECE):
        rest += unpacker.decompress(blob[start : start + UNPACK_PIECE])
        empty = empty and not rest
        *lines, rest = rest.split(b"\n")
        for line in lines:
            yield line.decode("utf-8")
    rest += _ended(unpacker)
    if not (empty and not rest):
        for line in rest.split(b"\n"):
            yield line.decode("utf-8")
