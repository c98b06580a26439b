"""The scale bench's streaming parts: the directory made one entry at a time (equal to the whole one, in
memory that does not grow with its size), the imports it is cut into, and the process tree's CPU count."""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Iterator

import bench.scale
import pytest
from bench.cpu import tree_cpu_s
from bench.generate import directory, directory_entries
from bench.scale import _parts


def test_the_streamed_directory_equals_the_whole_one_in_order() -> None:
    d = directory(3_000, 20)
    whole = [
        *d.departments,
        *d.objects,
        *d.inspectors,
        *d.complaints,
        *d.campaigns,
        *d.risk_assessments,
        *d.statutory_designations,
    ]
    assert list(directory_entries(3_000, 20)) == whole


def _peak_bytes_consuming(entries: Iterator[object]) -> int:
    tracemalloc.start()
    try:
        for _ in entries:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_streamed_directory_holds_no_more_at_ten_times_the_size() -> None:
    small = _peak_bytes_consuming(directory_entries(2_000, 100))
    large = _peak_bytes_consuming(directory_entries(20_000, 100))
    assert large < small + 256 * 1024  # a list of 18,000 more objects alone would be megabytes


@pytest.mark.parametrize(("total", "per_import"), [(7, 3), (6, 3), (1, 5), (0, 2)])
def test_imports_are_consecutive_parts_of_at_most_the_limit(
    monkeypatch: pytest.MonkeyPatch, total: int, per_import: int
) -> None:
    monkeypatch.setattr(bench.scale, "IMPORT_RECORDS", per_import)
    consumed = [list(part) for part in _parts(iter(range(total)))]  # each read before the next is made
    assert [x for part in consumed for x in part] == list(range(total))
    assert all(0 < len(part) <= per_import for part in consumed)


def test_the_process_tree_cpu_count_grows_with_work() -> None:
    before = tree_cpu_s(os.getpid())
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    assert tree_cpu_s(os.getpid()) - before >= 0.1


def test_the_largest_process_of_a_stage_is_kept_after_it_exited() -> None:
    """A child that held ~200 MB and exited before sampling stopped is still the stage's largest process
    (as a draw process retired after a large draw is), and counts in the tree's peak."""
    import subprocess
    import sys

    from bench.run import ProcessTreeMemory

    holder = "import time; held = bytearray(200 * 2**20); time.sleep(0.5)"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys, time; subprocess.run([sys.executable, '-c', {holder!r}]); "
            "print('done', flush=True); time.sleep(0.5)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    memory = ProcessTreeMemory(parent.pid, every_s=0.02)
    memory.phase = "draw"
    memory.start()
    assert parent.stdout is not None
    assert parent.stdout.readline().strip() == "done"
    memory.phase = "after"
    time.sleep(0.2)
    tree = memory.stop()
    largest = memory.largest()
    parent.wait(10)
    assert largest["draw"] >= 190
    assert tree["draw"] >= largest["draw"]
    assert largest["after"] < 100  # the child is gone: the small parent alone
