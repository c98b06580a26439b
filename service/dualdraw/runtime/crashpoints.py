"""Test-only crash points: ``crash_point("draw.before_commit")`` kills this process with SIGKILL when the
environment variable ``DUALDRAW_TEST_CRASH_AT`` names that point, and does nothing otherwise.

The kill -9 tests (``tests/e2e/test_crash_e2e.py``) start ``dualdraw serve`` with the variable set to show
that a draw, an import or a publication interrupted there leaves no partial state. Never set it in
production: the points are inert without it (one dictionary lookup).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

ENV = "DUALDRAW_TEST_CRASH_AT"
_before_crash: Callable[[str], None] | None = None


def crash_point(name: str) -> None:
    """Dies at once, like ``kill -9`` from outside, when ``DUALDRAW_TEST_CRASH_AT`` is ``name``."""
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
