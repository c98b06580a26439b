"""Test-only crash points: ``crash_point("draw.before_commit")`` kills this process with SIGKILL when the
environment variable ``DUALDRAW_TEST_CRASH_AT`` names that point, and does nothing otherwise.

The kill -9 tests (``tests/e2e/test_crash_e2e.py``) start ``dualdraw serve`` with the variable set to show
that a draw, an import or a publication interrupted there leaves no partial state. Never set it in
production: the points are inert without it (one dictionary lookup).

The same points can hold a process instead: with ``DUALDRAW_TEST_PAUSE_AT=NAME=PATH`` the process reaching
``NAME`` creates ``PATH.reached`` and waits until ``PATH`` exists (at most ``PAUSE_LIMIT_S``), so that a test
can act (cancel the call, let its deadline pass) while a write stands just before or after its commit.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

ENV = "DUALDRAW_TEST_CRASH_AT"
PAUSE_ENV = "DUALDRAW_TEST_PAUSE_AT"
PAUSE_LIMIT_S = 60.0
_before_crash: Callable[[str], None] | None = None


def crash_point(name: str) -> None:
    """Dies at once, like ``kill -9`` from outside, when ``DUALDRAW_TEST_CRASH_AT`` is ``name``; waits when
    ``DUALDRAW_TEST_PAUSE_AT`` names it (see the module docstring)."""
    pause = os.environ.get(PAUSE_ENV, "")
    if pause.partition("=")[0] == name:
        _pause(Path(pause.partition("=")[2]))
    if os.environ.get(ENV) == name:
        if _before_crash is not None:
            _before_crash(name)
        os.kill(os.getpid(), signal.SIGKILL)


def tell_before_crashing(notify: Callable[[str], None] | None) -> None:
    """``notify(name)`` runs just before this process kills itself at a crash point.

    The draw process (``dualdraw.adapters.draw_process``) tells its parent, which then dies the same way, so a
    crash point inside a draw still kills the server as the kill -9 tests expect.
    """
    global _before_crash  # one process-wide hook, set once by the draw process
    _before_crash = notify


def _pause(release: Path) -> None:
    """Says it got here (``release`` + ``.reached``), then waits for ``release`` to exist."""
    release.with_name(release.name + ".reached").touch()
    give_up = time.monotonic() + PAUSE_LIMIT_S
    while not release.exists() and time.monotonic() < give_up:
        time.sleep(0.02)
