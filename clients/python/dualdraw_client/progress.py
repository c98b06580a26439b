"""Progress on a terminal for long commands: bars (import, impact, export, verify) and a spinner with the
elapsed time (a draw, which the server reports only when it ends).

Progress goes to stderr and only when stderr is a terminal: piped or redirected, a command prints its
results and nothing else. ``DUALDRAW_PROGRESS=0`` turns it off, ``=1`` forces it on (e.g. under ``script``).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final, TextIO

from tqdm import tqdm

_SPIN_INTERVAL_S: Final = 0.1


def enabled(stream: TextIO | None = None) -> bool:
    """Whether progress is shown on ``stream`` (default stderr): a terminal, unless ``DUALDRAW_PROGRESS``
    says otherwise."""
    setting = os.environ.get("DUALDRAW_PROGRESS", "").strip().lower()
    if setting in ("0", "off", "no", "false"):
        return False
    if setting in ("1", "on", "yes", "true"):
        return True
    stream = stream if stream is not None else sys.stderr
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or file-less stream (e.g. a test harness)
        return False


class Bar:
    """A progress bar, or nothing when progress is off. ``total`` ``None``: a count with a rate."""

    def __init__(
        self,
        description: str,
        total: float | None = None,
        *,
        unit: str = "it",
        unit_scale: bool = False,
        stream: TextIO | None = None,
    ) -> None:
        stream = stream if stream is not None else sys.stderr
        self._bar: tqdm[Any] | None = (
            tqdm(
                desc=description,
                total=total,
                unit=unit,
                unit_scale=unit_scale,
                unit_divisor=1024 if unit == "B" else 1000,
                file=stream,
                leave=False,
                dynamic_ncols=True,
                mininterval=0.2,
            )
            if enabled(stream)
            else None
        )

    @property
    def active(self) -> bool:
        return self._bar is not None

    def advance(self, amount: float = 1) -> None:
        if self._bar is not None:
            self._bar.update(amount)

    def to(self, done: float, total: float | None = None) -> None:
        """Moves the bar to ``done`` (of ``total``, when it changes)."""
        if self._bar is None:
            return
        if total is not None and total != self._bar.total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def describe(self, description: str) -> None:
        if self._bar is not None:
            self._bar.set_description_str(description)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stage_reporter(bar: Bar) -> Callable[[str, int, int], None]:
    """A ``progress(stage, done, total)`` callback that shows the stage name and its count."""

    def report(stage: str, done: int, total: int) -> None:
        bar.describe(stage)
        bar.to(done, total)

    return report


@contextmanager
def spinner(description: str, stream: TextIO | None = None) -> Iterator[None]:
    """Shows ``description`` with a spinner and the elapsed time while the block runs (nothing when
    progress is off); the line is cleared at the end."""
    stream = stream if stream is not None else sys.stderr
    if not enabled(stream):
        yield
        return
    frames = "|/-\\"
    bar: tqdm[Any] = tqdm(
        total=None,
        desc=description,
        file=stream,
        leave=False,
        bar_format="{desc} {postfix} {elapsed}",
        mininterval=0,
    )
    stop = threading.Event()

    def spin() -> None:
        turn = 0
        while not stop.wait(_SPIN_INTERVAL_S):
            turn += 1
            bar.set_postfix_str(frames[turn % len(frames)], refresh=True)

    thread = threading.Thread(target=spin, name="dualdraw-spinner", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        bar.close()
