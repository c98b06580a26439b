"""Test-only crash points: ``crash_point("draw.before_commit")`` kills this process with SIGKILL when the
environment variable ``DUALDRAW_TEST_CRASH_AT`` names that point, and does nothing otherwise.

The kill -9 tests (``tests/e2e/test_crash_e2e.py``) start ``dualdraw serve`` with the variable set to show
that a draw, an import or a publication interrupted there leaves no partial state. Never set it in
production: the points are inert without it (one dictionary lookup).
"""

from __future__ import annotations

import os
import signal

ENV = "DUALDRAW_TEST_CRASH_AT"


def crash_point(name: str) -> None:
    """Dies at once, like ``kill -9`` from outside, when ``DUALDRAW_TEST_CRASH_AT`` is ``name``."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
