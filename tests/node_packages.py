"""The Node.js packages of clients/node (the Node client's gRPC libraries, the pinned buf), installed once
per test session with ``npm ci`` from the committed lockfile; npm's cache lives in the repository's
git-ignored ``.cache/npm``.

Without ``node`` and ``npm`` (or when the install fails) the tests that need them are skipped locally;
``DUALDRAW_REQUIRE_NODE=1`` (set by .ci/run) turns that into a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NODE_CLIENT = ROOT / "clients" / "node"
NPM_CACHE = ROOT / ".cache" / "npm"


def _node_required() -> bool:
    return os.environ.get("DUALDRAW_REQUIRE_NODE", "") not in ("", "0", "false")


def _unavailable(problem: str) -> None:
    if _node_required():
        pytest.fail(f"Node.js is required (DUALDRAW_REQUIRE_NODE=1): {problem}")
    pytest.skip(problem)


_installed: list[Path] = []  # the fixture is imported by several modules: install once all the same


@pytest.fixture(scope="session")
def node_packages() -> Path:
    """clients/node with its ``node_modules`` freshly installed by ``npm ci``; returns the folder."""
    if _installed:
        return _installed[0]
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        _unavailable(f"{' and '.join(missing)} not on the PATH (Debian: apt-get install nodejs npm)")
    done = subprocess.run(
        ["npm", "ci", "--cache", str(NPM_CACHE), "--prefer-offline", "--no-audit", "--no-fund"],
        cwd=NODE_CLIENT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        _unavailable(f"npm ci failed in {NODE_CLIENT}: {done.stderr.strip()[-2000:]}")
    _installed.append(NODE_CLIENT)
    return NODE_CLIENT
