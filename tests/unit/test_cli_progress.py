"""Progress on a terminal: bars and the draw spinner write to a TTY stderr, and nothing when it is not one."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from dualdraw_client.progress import Bar, enabled, spinner

ROOT = Path(__file__).resolve().parents[2]


def _openpty() -> tuple[int, int]:
    """A pseudo-terminal 100 columns wide (a fresh one has no size)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    return master, slave


def _terminal() -> tuple[int, io.TextIOWrapper]:
    master, slave = _openpty()
    return master, io.TextIOWrapper(os.fdopen(slave, "wb", buffering=0), encoding="utf-8")


def _drain(master: int) -> str:
    chunks = []
    os.set_blocking(master, False)
    while True:
        try:
            chunk = os.read(master, 65536)
        except (BlockingIOError, OSError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture(autouse=True)
def _no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUALDRAW_PROGRESS", raising=False)


def test_a_bar_on_a_terminal_shows_its_description_and_count() -> None:
    master, stream = _terminal()
    with Bar("exporting", 10, stream=stream) as bar:
        assert bar.active
        bar.advance(4)
        bar.to(10)
    stream.flush()
    shown = _drain(master)
    assert "exporting" in shown
    assert "/10" in shown


def test_a_bar_off_a_terminal_writes_nothing() -> None:
    stream = io.StringIO()
    assert not enabled(stream)
    with Bar("exporting", 10, stream=stream) as bar:
        assert not bar.active
        bar.advance(10)
    assert stream.getvalue() == ""


def test_the_setting_forces_progress_off_and_on(monkeypatch: pytest.MonkeyPatch) -> None:
    master, stream = _terminal()
    monkeypatch.setenv("DUALDRAW_PROGRESS", "0")
    assert not enabled(stream)
    monkeypatch.setenv("DUALDRAW_PROGRESS", "1")
    assert enabled(io.StringIO())
    os.close(master)


def test_the_spinner_shows_elapsed_time_on_a_terminal_and_nothing_elsewhere() -> None:
    master, stream = _terminal()
    with spinner("drawing", stream=stream):
        time.sleep(0.35)
    stream.flush()
    shown = _drain(master)
    assert "drawing" in shown
    assert "00:00" in shown  # the elapsed time
    quiet = io.StringIO()
    with spinner("drawing", stream=quiet):
        time.sleep(0.15)
    assert quiet.getvalue() == ""


def test_verify_under_a_terminal_puts_progress_on_stderr_and_the_verdict_alone_on_stdout(
    tmp_path: Path,
) -> None:
    """`dualdraw verify` with stderr on a pseudo-terminal and stdout a pipe: the bar goes to the terminal,
    stdout carries only the verdict; with neither a terminal, stderr stays empty."""
    bundle = tmp_path / "draw.json"
    bundle.write_bytes(b"{}" * 300_000)
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'service'}:{ROOT / 'clients' / 'python'}", "LANG": "C.UTF-8"}
    env.pop("DUALDRAW_PROGRESS", None)
    command = [sys.executable, "-m", "dualdraw.entrypoints.cli.main", "verify", str(bundle)]
    master, slave = _openpty()
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=slave, env=env, check=False, timeout=60)
    os.close(slave)
    shown = _drain(master)
    assert done.returncode == 1
    assert done.stdout.decode().startswith("MISMATCH: bundle:")
    assert "586k" in shown  # one bar over the file's bytes (600,000 B)
    assert "verifying" in shown
    piped = subprocess.run(command, capture_output=True, env=env, check=False, timeout=60)
    assert piped.returncode == 1
    assert piped.stderr == b""
    assert piped.stdout == done.stdout
