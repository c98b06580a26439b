"""Sorting more byte strings than should be held at once: sorted runs spilled to temporary files, merged.

The bundle writer sorts a draw's eligible rows (by code, or by commitment) and the verifier sorts the leaf
hashes of a bundle's sets before their Merkle roots; at 10M objects either is gigabytes of Python objects in
one list. Here at most ``run_items`` items are held (plus one buffered record per run while merging).
"""

from __future__ import annotations

import heapq
import struct
import tempfile
from collections.abc import Iterable, Iterator
from typing import BinaryIO, Final

RUN_ITEMS: Final = 500_000
"""Items sorted in memory at a time: ~50 MB of 40-byte strings."""

_LENGTH = struct.Struct(">I")


def sorted_bytes(items: Iterable[bytes], *, run_items: int = RUN_ITEMS) -> Iterator[bytes]:
    """``items`` in ascending byte order (duplicates kept), holding at most ``run_items`` of them at once.

    Fewer items than one run are sorted in memory and never touch the disk; the temporary files are
    removed when the iterator is exhausted or closed."""
    if run_items < 1:
        raise ValueError("run_items must be positive")
    runs: list[BinaryIO] = []
    try:
        run: list[bytes] = []
        for item in items:
            run.append(item)
            if len(run) >= run_items:
                runs.append(_spill(run))
                run = []
        if not runs:
            run.sort()
            yield from run
            return
        if run:
            runs.append(_spill(run))
        del run
        yield from heapq.merge(*(_read(f) for f in runs))
    finally:
        for f in runs:
            f.close()


def _spill(run: list[bytes]) -> BinaryIO:
    run.sort()
    f = tempfile.TemporaryFile(prefix="dualdraw-sort-")  # noqa: SIM115 -- closed by sorted_bytes
    pack = _LENGTH.pack
    f.write(b"".join(pack(len(item)) + item for item in run))
    f.seek(0)
    return f


def _read(f: BinaryIO) -> Iterator[bytes]:
    read, unpack, size = f.read, _LENGTH.unpack, _LENGTH.size
    while header := read(size):
        (length,) = unpack(header)
        yield read(length)
