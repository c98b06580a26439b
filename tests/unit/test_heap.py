"""Giving the C heap's free pages back after a bulk request (``runtime.heap``)."""

from __future__ import annotations

import ctypes.util
import platform

import pytest

from dualdraw.runtime import heap


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's"
)
def test_glibc_gives_free_pages_back() -> None:
    big = [bytes(1000) for _ in range(100_000)]  # ~100 MB through malloc, then freed
    del big
    assert heap.give_back_free_memory() is True


def test_without_glibc_nothing_is_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    heap._malloc_trim.cache_clear()
    try:
        assert heap.give_back_free_memory() is False
    finally:
        heap._malloc_trim.cache_clear()
