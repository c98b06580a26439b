"""The garbage collector is off while any import runs and back on when the last one ends."""

from __future__ import annotations

import gc
import threading

import pytest

from dualdraw.runtime import collection_pause


def test_nested_and_concurrent_pauses_re_enable_the_collector_once_all_end() -> None:
    assert gc.isenabled()
    inside = threading.Event()
    release = threading.Event()

    def other_import() -> None:
        with collection_pause.paused():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other_import)
    thread.start()
    inside.wait(5)
    with collection_pause.paused():
        with collection_pause.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other import still runs
    release.set()
    thread.join(5)
    assert gc.isenabled()


def test_a_failing_block_re_enables_the_collector() -> None:
    with pytest.raises(RuntimeError), collection_pause.paused():
        raise RuntimeError("bad chunk")
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off() -> None:
    gc.disable()
    try:
        with collection_pause.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
