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


class SpillingSort:
    """Byte strings added one at a time, read back ascending (duplicates kept) by ``sorted()``, holding at
    most ``run_items`` of them: each full run is sorted and spilled to a temporary file, and the runs are
    merged. Fewer items than one run never touch the disk. ``close()`` removes the files (``sorted()``
    does once exhausted)."""

    def __init__(self, run_items: int | None = None) -> None:
        run_items = RUN_ITEMS if run_items is None else run_items
        if run_items < 1:
            raise ValueError("run_items must be positive")
        self._run_items = run_items
        self._run: list[bytes] = []
        self._runs: list[BinaryIO] = []

    def add(self, item: bytes) -> None:
        self._run.append(item)
        if len(self._run) >= self._run_items:
            self._runs.append(_spill(self._run))
            self._run = []

    def sorted(self) -> Iterator[bytes]:
        try:
            run, self._run = self._run, []
            if not self._runs:
                run.sort()
                yield from run
                return
            if run:
                self._runs.append(_spill(run))
            del run
            yield from heapq.merge(*(_read(f) for f in self._runs))
        finally:
            self.close()

    def close(self) -> None:
        for f in self._runs:
            f.close()
        self._runs = []


def sorted_bytes(items: Iterable[bytes], *, run_items: int | None = None) -> Iterator[bytes]:
    """``items`` in ascending byte order (duplicates kept), holding at most ``run_items`` of them at once
    (``SpillingSort``)."""
    spilling = SpillingSort(run_items)
    try:
        for item in items:
            spilling.add(item)
    except BaseException:
        spilling.close()
        raise
    return spilling.sorted()


WRITE_ITEMS: Final = 4096
"""Items framed and written at a time when a run is spilled (joining a whole run would double it)."""


def _spill(run: list[bytes]) -> BinaryIO:
    run.sort()
    f = tempfile.TemporaryFile(prefix="dualdraw-sort-")  # noqa: SIM115 -- closed by SpillingSort
    pack = _LENGTH.pack
    for start in range(0, len(run), WRITE_ITEMS):
        f.write(b"".join([pack(len(item)) + item for item in run[start : start + WRITE_ITEMS]]))
    run.clear()
    f.seek(0)
    return f


def _read(f: BinaryIO) -> Iterator[bytes]:
    read, unpack, size = f.read, _LENGTH.unpack, _LENGTH.size
    while header := read(size):
        (length,) = unpack(header)
        yield read(length)
